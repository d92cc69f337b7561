"""The master key file: every local key, and which one encrypts new data.

Format: `{"active": "k-<12 hex>", "keys": {"k-<12 hex>": "<base64 of 32 bytes>"}}`. Old keys stay
until `retire` so data written under them can still be read while it is re-encrypted.

The file is created 0600 whatever the umask, and a file that group or others can read is refused:
a leaked master key opens every secret, so a loose mode is treated as an error, not a warning.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mantissa_log.errors import SecretStoreError

KEY_BYTES = 32  # AES-256
KEY_ID_RE = re.compile(r"^k-[0-9a-f]{12}$")
_POSIX = os.name == "posix"


def new_key_id() -> str:
    return "k-" + secrets.token_hex(6)


class Keyring:
    """The master key file at `path`; created with one fresh key on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Cached content, keyed by the file's identity so a rotation by another process is seen.
        self._stamp: tuple[int, int, int] | None = None
        self._active = ""
        self._keys: dict[str, bytes] = {}

    # -- reading -------------------------------------------------------------------------
    def active_id(self) -> str:
        self._load()
        return self._active

    def key(self, key_id: str) -> bytes:
        self._load()
        try:
            return self._keys[key_id]
        except KeyError:
            raise SecretStoreError(f"key {key_id} not in keyring {self.path}") from None

    def key_ids(self) -> list[str]:
        """Every key id in the file, the active one included."""
        self._load()
        return sorted(self._keys)

    # -- rotation ------------------------------------------------------------------------
    def add_key(self) -> str:
        """A new random key that becomes the active one; old keys stay readable."""
        with self._locked():
            self._load(force=True)
            key_id = new_key_id()
            keys = dict(self._keys)
            keys[key_id] = secrets.token_bytes(KEY_BYTES)
            self._write(key_id, keys)
        return key_id

    def retire(self, key_id: str) -> None:
        """Remove a key that nothing should use any more (after re-encryption)."""
        with self._locked():
            self._load(force=True)
            if key_id == self._active:
                raise SecretStoreError(f"key {key_id} is the active key of {self.path}; add a new key first")
            if key_id not in self._keys:
                raise SecretStoreError(f"key {key_id} not in keyring {self.path}")
            keys = {kid: key for kid, key in self._keys.items() if kid != key_id}
            self._write(self._active, keys)

    # -- file handling -------------------------------------------------------------------
    def _load(self, force: bool = False) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._create()
            st = os.stat(self.path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if not force and stamp == self._stamp:
            return
        if _POSIX and st.st_mode & 0o077:
            raise SecretStoreError(
                f"master key file {self.path} is accessible by group or others "
                f"(mode {st.st_mode & 0o777:o}); run: chmod 600 {self.path}"
            )
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise SecretStoreError(f"cannot read master key file {self.path}: {exc.strerror}") from None
        self._active, self._keys = _parse(raw, self.path)
        self._stamp = stamp

    def _create(self) -> None:
        """Write a fresh keyring; if another process wins the race, its file is kept."""
        parent = self.path.parent
        if not parent.is_dir():
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if _POSIX:
                os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask
        key_id = new_key_id()
        tmp = self._write_temp(key_id, {key_id: secrets.token_bytes(KEY_BYTES)})
        try:
            # link() never replaces an existing file, so two first starts cannot both win
            # (a replaced key would make everything the loser already encrypted unreadable).
            os.link(tmp, self.path)
        except FileExistsError:
            pass
        except OSError:
            # Filesystems without hard links: exclusive create is still race-free.
            self._create_exclusive(tmp)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(self.path.parent)

    def _create_exclusive(self, tmp: Path) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as out:
            _fchmod_600(out.fileno())
            out.write(tmp.read_bytes())
            out.flush()
            os.fsync(out.fileno())

    def _write(self, active: str, keys: dict[str, bytes]) -> None:
        """Atomic rewrite: a reader sees the old file or the new one, never half of one."""
        tmp = self._write_temp(active, keys)
        try:
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(self.path.parent)
        self._stamp = None
        self._load()

    def _write_temp(self, active: str, keys: dict[str, bytes]) -> Path:
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                _fchmod_600(out.fileno())  # the umask may have removed bits; never added any
                out.write(keyring_document(active, keys))
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write of the file across processes (rotation from the CLI)."""
        self._load()  # creates the file (and its directory) when missing
        if not _POSIX:
            yield
            return
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def keyring_document(active: str, keys: dict[str, bytes]) -> bytes:
    """The keyring's stored form (a file here, a secret's value for a shared keyring)."""
    doc = {"active": active, "keys": {kid: base64.b64encode(key).decode() for kid, key in keys.items()}}
    return json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"


def fresh_keyring_document() -> bytes:
    key_id = new_key_id()
    return keyring_document(key_id, {key_id: secrets.token_bytes(KEY_BYTES)})


def parse_keyring(raw: bytes, path: Path) -> tuple[str, dict[str, bytes]]:
    return _parse(raw, path)


def _parse(raw: bytes, path: Path) -> tuple[str, dict[str, bytes]]:
    """Validate the document; messages name the problem, never key material."""

    def bad(why: str) -> SecretStoreError:
        return SecretStoreError(f"master key file {path} is malformed: {why}")

    try:
        doc: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad("not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), dict):
        raise bad('expected {"active": ..., "keys": {...}}')
    active = doc.get("active")
    keys: dict[str, bytes] = {}
    for key_id, encoded in doc["keys"].items():
        if not KEY_ID_RE.match(key_id):
            raise bad(f"key id {key_id!r} is not like k-<12 hex>")
        try:
            key = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise bad(f"key {key_id} is not base64 of {KEY_BYTES} bytes")
        keys[key_id] = key
    if not isinstance(active, str) or active not in keys:
        raise bad("the active key id is missing from keys")
    return active, keys


def _fchmod_600(fd: int) -> None:
    if _POSIX:
        os.fchmod(fd, 0o600)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; best effort where directories cannot be opened."""
    if not _POSIX:
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
