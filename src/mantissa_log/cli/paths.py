"""Files named on the command line: rule files and event files, in a stable order."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from mantissa_log.errors import ValidationFailed

RULE_SUFFIXES = (".yml", ".yaml")


def rule_files(paths: list[Path], option: str = "paths") -> list[Path]:
    """Files as given, directories searched recursively for *.yml / *.yaml, in a stable order, each once."""
    found: list[tuple[Path, Path]] = []  # (path as shown, its resolved path)
    for path in paths:
        if path.is_dir():
            found.extend(sorted(_walk(path, lambda name: name.endswith(RULE_SUFFIXES)), key=_order))
        elif path.is_file():
            found.append((path, path.resolve()))
        else:
            raise ValidationFailed(f"no such file or directory: {path}", field=option)
    # A file named twice (a folder and a file in it) would otherwise collide with itself on id and title.
    unique: dict[Path, Path] = {}
    for path, resolved in found:
        unique.setdefault(resolved, path)
    return list(unique.values())


def event_files(paths: list[Path], option: str = "paths") -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(shown for shown, _ in sorted(_walk(path, lambda name: not name.startswith(".")), key=_order))
        elif path.is_file():
            files.append(path)
        else:
            raise ValidationFailed(f"no such file or directory: {path}", field=option)
    return files


def _order(found: tuple[Path, Path]) -> tuple[str, ...]:
    """A found file's place: its path's parts, the order of POSIX paths themselves. Sorting the
    (path, resolved) pairs compared Path objects instead: ~3 ms of a 351-file hunt."""
    return found[0].parts


def _walk(root: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[Path, Path]]:
    """(path, resolved path) of every file under `root` whose name is `wanted`, not following
    symbolic links to directories (as `Path.rglob`). One `scandir` per directory and a resolved path
    per directory, not per file: over the corpus's 266 rules, rglob + is_file + resolve took 25 ms
    of a hunt's ~0.45 s, this 4 ms."""
    folders = [(root, root.resolve())]
    while folders:
        folder, resolved_folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((folder / entry.name, resolved_folder / entry.name))
                elif wanted(entry.name) and entry.is_file():
                    path = folder / entry.name
                    yield path, (path.resolve() if entry.is_symlink() else resolved_folder / entry.name)
