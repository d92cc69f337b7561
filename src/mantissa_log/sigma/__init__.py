"""Sigma rules as SQL over the lake's `raw`/`event` columns (DuckDB and Athena); see compiler.py."""

from mantissa_log.sigma.compiler import (
    CompiledRule,
    Correlation,
    RuleCompileError,
    compile_sigma,
    compile_sigma_rule,
)

__all__ = ["CompiledRule", "Correlation", "RuleCompileError", "compile_sigma", "compile_sigma_rule"]
