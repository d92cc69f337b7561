"""Audit checkpoints kept on the server's disk, where a database writer cannot rewrite them.

Two small files under `<home>/audit/` (directory 0700, files 0600, written to a temporary file,
fsynced, renamed, and the directory fsynced):

- `head.json`: the newest record this host appended (seq, hash) and the audit key's fingerprint,
  rewritten after every append. Deleting the newest records from the database, or replacing the
  key, no longer verifies.
- `verified.json`: where the last successful verification ended (seq, hash): the next one starts
  there instead of at the first record.

Several processes on one host (serve and workers) share the files: writes hold an exclusive
`flock` and never move a checkpoint backwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    key: str = ""  # fingerprint of the audit key the record was made with


class AuditCheckpoints:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._head_seq = 0  # what this process last wrote: skips rereading the file for older records

    def head(self) -> Checkpoint | None:
        return self._read("head.json")

    def verified(self) -> Checkpoint | None:
        return self._read("verified.json")

    def advance_head(self, checkpoint: Checkpoint) -> None:
        with self._lock:
            if checkpoint.seq <= self._head_seq:
                return
            self._advance("head.json", checkpoint)
            self._head_seq = checkpoint.seq

    def advance_verified(self, checkpoint: Checkpoint) -> None:
        with self._lock:
            self._advance("verified.json", checkpoint)

    def reset_verified(self) -> None:
        """Forget the verified position (after a restore the chain is re-verified in full once)."""
        with self._lock, self._exclusive(), contextlib.suppress(FileNotFoundError):
            (self.directory / "verified.json").unlink()

    # -- files -----------------------------------------------------------------------------------
    def _read(self, name: str) -> Checkpoint | None:
        try:
            data: Any = json.loads((self.directory / name).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return Checkpoint(-1, "", "")  # unreadable: verification reports it
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int) or not isinstance(data.get("hash"), str):
            return Checkpoint(-1, "", "")
        return Checkpoint(data["seq"], data["hash"], str(data.get("key", "")))

    def _advance(self, name: str, checkpoint: Checkpoint) -> None:
        with self._exclusive():
            current = self._read(name)
            if current is not None and current.seq >= checkpoint.seq:
                return
            self._write(name, {"seq": checkpoint.seq, "hash": checkpoint.hash, "key": checkpoint.key})

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        self._ensure_directory()
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _ensure_directory(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)

    def _write(self, name: str, data: dict[str, Any]) -> None:
        target = self.directory / name
        temporary = self.directory / f".{name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o600)
                out.write(json.dumps(data, sort_keys=True).encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
