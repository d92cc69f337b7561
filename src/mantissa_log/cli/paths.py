"""Files named on the command line: rule files and event files, in a stable order."""

from __future__ import annotations

from pathlib import Path

from mantissa_log.errors import ValidationFailed

RULE_SUFFIXES = (".yml", ".yaml")


def rule_files(paths: list[Path], option: str = "paths") -> list[Path]:
    """Files as given, directories searched recursively for *.yml / *.yaml, in a stable order, each once."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise ValidationFailed(f"no such file or directory: {path}", field=option)
    # A file named twice (a folder and a file in it) would otherwise collide with itself on id and title.
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def event_files(paths: list[Path], option: str = "paths") -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise ValidationFailed(f"no such file or directory: {path}", field=option)
    return files
