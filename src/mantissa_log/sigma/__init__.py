"""Sigma rules as SQL over the lake's `raw`/`event` columns (DuckDB and Athena); see compiler.py.

Names are resolved lazily: importing the compiled-rule types never imports pySigma.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CompiledRule", "Correlation", "RuleCompileError", "compile_sigma", "compile_sigma_rule"]


def __getattr__(name: str) -> Any:
    if name in ("CompiledRule", "Correlation", "RuleCompileError"):
        from mantissa_log.sigma import compiled

        return getattr(compiled, name)
    if name in ("compile_sigma", "compile_sigma_rule"):
        from mantissa_log.sigma import compiler

        return getattr(compiler, name)
    raise AttributeError(name)
