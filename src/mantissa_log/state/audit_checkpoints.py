"""Audit checkpoints kept on the server's disk, where a database writer cannot rewrite them.

Two small files under `<home>/audit/` (directory 0700, files 0600):

- `head.json`: the newest record this host appended (seq, hash) and the audit key's fingerprint,
  rewritten in place after every append (see `advance_head` for why in place and unsynced).
  Deleting the newest records from the database, or replacing the key, no longer verifies.
- `verified.json`: where the last successful verification ended (seq, hash): the next one starts
  there instead of at the first record. Written to a temporary file, fsynced, renamed, and the
  directory fsynced.

Several processes on one host (serve and workers) share the files: the verified checkpoint is
written under an exclusive `flock` and never moves backwards; the head is written by whichever
process appended last (see `advance_head`).
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

HEAD_BYTES = 256
READ_ATTEMPTS = 3


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    key: str = ""  # fingerprint of the audit key the record was made with


class AuditCheckpoints:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._head_seq = 0  # what this process last wrote: an older record never rewinds the head
        self._head_fd: int | None = None

    def head(self) -> Checkpoint | None:
        return self._read("head.json")

    def verified(self) -> Checkpoint | None:
        return self._read("verified.json")

    def advance_head(self, checkpoint: Checkpoint) -> None:
        with self._lock:
            if checkpoint.seq <= self._head_seq:
                return
            # One fixed-size write in place, neither locked nor fsynced per record (a rename and an
            # fsync cost 2-10 ms a request). The state store commits without fsync per write either
            # (SQLite WAL, NORMAL); after a power loss, or when two processes race, the head may lag
            # by the last records. It never names a record the database does not hold, so it never
            # raises a false alarm. Readers retry a torn read.
            data = json.dumps({"seq": checkpoint.seq, "hash": checkpoint.hash, "key": checkpoint.key}, sort_keys=True)
            os.pwrite(self._head_file(), data.encode().ljust(HEAD_BYTES - 1) + b"\n", 0)
            self._head_seq = checkpoint.seq

    def _head_file(self) -> int:
        if self._head_fd is None:
            self._ensure_directory()
            fd = os.open(self.directory / "head.json", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            os.fchmod(fd, 0o600)
            self._head_fd = fd
        return self._head_fd

    def close(self) -> None:
        with self._lock:
            if self._head_fd is not None:
                os.close(self._head_fd)
                self._head_fd = None

    def advance_verified(self, checkpoint: Checkpoint) -> None:
        with self._lock:
            self._advance("verified.json", checkpoint)

    def reset_verified(self) -> None:
        """Forget the verified position (after a restore the chain is re-verified in full once)."""
        with self._lock, self._exclusive(), contextlib.suppress(FileNotFoundError):
            (self.directory / "verified.json").unlink()

    # -- files -----------------------------------------------------------------------------------
    def _read(self, name: str) -> Checkpoint | None:
        data: Any = None
        for _ in range(READ_ATTEMPTS):  # a read racing an in-place write may see half of it
            try:
                data = json.loads((self.directory / name).read_text())
                break
            except FileNotFoundError:
                return None
            except (OSError, ValueError):
                data = None
        if data is None:
            return Checkpoint(-1, "", "")  # unreadable: verification reports it
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int) or not isinstance(data.get("hash"), str):
            return Checkpoint(-1, "", "")
        return Checkpoint(data["seq"], data["hash"], str(data.get("key", "")))

    def _advance(self, name: str, checkpoint: Checkpoint, *, durable: bool = True) -> None:
        with self._exclusive():
            current = self._read(name)
            if current is not None and current.seq >= checkpoint.seq:
                return
            data = {"seq": checkpoint.seq, "hash": checkpoint.hash, "key": checkpoint.key}
            self._write(name, data, durable=durable)

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

    def _write(self, name: str, data: dict[str, Any], *, durable: bool) -> None:
        target = self.directory / name
        temporary = self.directory / f".{name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o600)
                out.write(json.dumps(data, sort_keys=True).encode())
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        if not durable:
            return
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
