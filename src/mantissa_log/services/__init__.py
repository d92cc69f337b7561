"""Use cases and transaction boundaries: the only layer the edges (API, CLI) call."""
