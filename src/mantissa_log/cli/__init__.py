"""Command-line edge: `mantissa-log` (Typer)."""
