"""Typed models of the seed's items and the values they are made of (pure, no I/O)."""
