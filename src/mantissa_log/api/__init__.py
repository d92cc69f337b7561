"""HTTP edge: FastAPI app factory, auth, error mapping, audit middleware, routes."""
