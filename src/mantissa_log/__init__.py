"""Mantissa Log: a self-hostable SIEM core."""

__version__ = "0.1.0"
