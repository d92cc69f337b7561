"""A cache of compiled rules, keyed by the rule's text and the compiler's own version.

Compiling a Sigma rule with pySigma costs tens of milliseconds (and importing pySigma most of a
second); a hunt over hundreds of rules pays that on every run without a cache. Entries are JSON
files under the cache folder (in the data home; safe to delete at any time), one per
(text, forced source, compiler version); a refused rule is cached with its error too. The compiler
version is a digest of the compiler's own source files and the pySigma version, so any change to
how SQL is produced starts a fresh cache. Writes go through a temporary file and a rename.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from mantissa_log.errors import ValidationFailed
from mantissa_log.sigma.compiled import CompiledRule, RuleCompileError, from_data, to_data

try:
    # CPython's own BLAKE2, as `hashlib.blake2b` is; importing `hashlib` loads OpenSSL first (4-5 ms, a
    # few per cent of a small hunt, which needs no other digest).
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

_PACKAGE = Path(__file__).resolve().parent.parent
# What the SQL of a rule depends on: the compiler, its backends and mappings, the sources' shapes.
_INPUTS = ("sigma", "domain/log_sources.py", "domain/structures")


@cache
def compiler_version() -> str:
    digest = blake2b(digest_size=32)
    for name in _INPUTS:
        root = _PACKAGE / name
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            if path.name == "cache.py":
                continue
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update(_pysigma_version().encode())
    return digest.hexdigest()[:16]


def _pysigma_version() -> str:
    """pySigma's version, from the name of its dist-info folder beside the package: importing
    importlib.metadata (which loads the email package) costs 35 ms, a tenth of a hunt's start."""
    spec = importlib.util.find_spec("sigma")  # a namespace package: no origin, only its folders
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    folders = [found for place in places for found in Path(place).parent.glob("pysigma-*.dist-info")]
    if len(folders) == 1:
        return folders[0].name.removeprefix("pysigma-").removesuffix(".dist-info")
    from importlib import metadata  # not one clear folder (an unusual install): ask the slow way

    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version("pysigma")
    return ""


class CompiledRuleCache:
    def __init__(self, folder: Path | None) -> None:
        # Entries are named with plain strings: a hunt looks up hundreds, and pathlib's joins cost more
        # than the lookups' own file reads.
        self.folder = None if folder is None else os.fspath(folder)

    def _entry(self, data: bytes, source: str | None) -> str | None:
        if self.folder is None:
            return None
        digest = blake2b(f"{compiler_version()}\0{source or ''}\0".encode(), digest_size=32)
        digest.update(data)
        key = digest.hexdigest()
        return os.path.join(self.folder, key[:2], f"{key}.json")

    def compile(self, text: str, source: str | None = None) -> list[CompiledRule]:
        """`compile_sigma(text, source=source)`, from the cache when it was compiled before."""
        return self._compiled(self._entry(text.encode(), source), lambda: text, source)

    def compile_file(self, path: Path, source: str | None = None) -> list[CompiledRule]:
        """`compile` of a rule file's UTF-8 text (YAML reads Windows newlines as newlines). The entry is
        keyed by the file's bytes, so a hit never decodes the text (UnicodeDecodeError when it must and
        cannot)."""
        data = path.read_bytes()
        return self._compiled(self._entry(data, source), lambda: data.decode("utf-8"), source)

    def _compiled(self, entry: str | None, text: Callable[[], str], source: str | None) -> list[CompiledRule]:
        if entry is not None:
            stored = _read(entry)
            if stored is not None:
                if "error" in stored:
                    error = stored["error"]
                    raise RuleCompileError(error["message"], field=error.get("field"), line=error.get("line"))
                return [from_data(item) for item in stored["rules"]]
        from mantissa_log.sigma.compiler import compile_sigma  # pySigma: only when it must compile

        return self._store(entry, lambda: compile_sigma(text(), source=source))

    @staticmethod
    def _store(entry: str | None, compile_now: Callable[[], list[CompiledRule]]) -> list[CompiledRule]:
        try:
            rules = compile_now()
        except ValidationFailed as exc:
            _write(entry, {"error": {"message": exc.message, "field": exc.field, "line": exc.line}})
            raise
        _write(entry, {"rules": [to_data(rule) for rule in rules]})
        return rules


def _read(entry: str) -> dict[str, Any] | None:
    try:
        with open(entry, "rb") as stored:
            value = json.loads(stored.read())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write(entry: str | None, value: dict[str, Any]) -> None:
    if entry is None:
        return
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        folder, name = os.path.split(entry)
        os.makedirs(folder, exist_ok=True)
        temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        with open(temporary, "w", encoding="utf-8") as pending:
            pending.write(json.dumps(value, separators=(",", ":")))
        os.replace(temporary, entry)
