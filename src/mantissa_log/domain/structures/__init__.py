"""Explicit DuckDB structures of the sources added after the first five (see `domain.log_sources`).

One module per provider. Every scalar leaf is VARCHAR, objects whose keys vary (or whose type
differs between producers) are JSON, and lists of objects the rules read into are `[{...}]`.
Keys are spelled exactly as the producer spells them: `json_transform` matches keys case-sensitively.
"""
