"""Response models of the HTTP API: what `/openapi.json` documents and clients (the web UI) rely on.

Services return domain models and plain results; these modules decide what of them is public.
"""
