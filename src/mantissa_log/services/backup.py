"""Backup and restore of the installation's data, as one deterministic tar.gz archive.

The archive holds stored items exactly as stored (integration configs stay encrypted, the
vault holds ciphertext only) and rule bodies as raw bytes. The master key is NOT included:
keep `keys/master.key` (or the KMS key) safe separately, as you would a Vault unseal key.
Restore checks the whole archive before it touches the store.

Credentials and the audit trail are not rolled back by a restore:

- API tokens are not in the archive, and the installation's current tokens stay: a token revoked
  after the backup stays revoked, one issued since stays valid.
- Users: the installation's current users stay as they are (an admin demoted since the backup
  stays demoted); users only the archive knows are added, without tokens.
- The audit log is archived (for the record) but never replaced: the current chain continues and
  the restore is appended to it, so nothing recorded after the backup is lost.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from mantissa_log.errors import Conflict, ValidationFailed
from mantissa_log.rulestore.base import RuleStore, check_key
from mantissa_log.state.backend import Item, StateBackend, TableSpec
from mantissa_log.state.codec import decode, encode
from mantissa_log.state.conditions import NotExists
from mantissa_log.state.tables import ALL_TABLES, API_TOKENS, AUDIT_LOG, USERS

FORMAT = "mantissa-log-backup"
VERSION = 1
# Never written to an archive: credentials.
NOT_BACKED_UP = frozenset({API_TOKENS.name})
# Archived, but never replaced by a restore (see the module docstring).
KEPT_ON_RESTORE = frozenset({API_TOKENS.name, AUDIT_LOG.name, USERS.name})


@dataclass
class BackupSummary:
    tables: dict[str, int]
    rule_bodies: int
    users_added: list[str] = field(default_factory=list)  # restore: users only the archive knew
    archived_audit_head: int = 0  # restore: the newest audit seq in the archive


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # deterministic archives: same content, same bytes
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def backup(
    backend: StateBackend, rules: RuleStore, path: Path, tables: tuple[TableSpec, ...] = ALL_TABLES
) -> BackupSummary:
    summary = BackupSummary(tables={}, rule_bodies=0)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for spec in tables:
            if spec.name in NOT_BACKED_UP:
                continue
            lines = [encode(item) for item in backend.scan(spec)]
            lines.sort()
            summary.tables[spec.name] = len(lines)
            _add(tar, f"tables/{spec.name}.jsonl", "".join(line + "\n" for line in lines).encode())
        keys = sorted(rules.keys())
        for key in keys:
            _add(tar, f"rules/{key}", rules.get(key))
        summary.rule_bodies = len(keys)
        manifest = {"format": FORMAT, "version": VERSION, "tables": summary.tables, "rule_bodies": len(keys)}
        _add(tar, "manifest.json", json.dumps(manifest, sort_keys=True).encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 (never readable by others, not even for a moment), truncated if it existed.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as out, gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return summary


def _read_archive(path: Path, tables: tuple[TableSpec, ...]) -> tuple[dict[str, list[Item]], dict[str, bytes]]:
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}

            def read(name: str) -> bytes:
                handle = tar.extractfile(members[name])
                assert handle is not None
                return handle.read()

            if "manifest.json" not in members:
                raise ValidationFailed("not a Mantissa Log backup (no manifest.json)", field="file")
            manifest = json.loads(read("manifest.json"))
            if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
                raise ValidationFailed("unsupported backup format or version", field="file")
            items: dict[str, list[Item]] = {}
            for spec in tables:
                name = f"tables/{spec.name}.jsonl"
                lines = read(name).decode().splitlines() if name in members else []
                items[spec.name] = [decode(line) for line in lines if line]
                if len(items[spec.name]) != manifest["tables"].get(spec.name, 0):
                    raise ValidationFailed(f"table {spec.name}: item count does not match the manifest", field="file")
            bodies = {
                check_key(name.removeprefix("rules/")): read(name) for name in members if name.startswith("rules/")
            }
            if len(bodies) != manifest.get("rule_bodies"):
                raise ValidationFailed("rule body count does not match the manifest", field="file")
            return items, bodies
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError, KeyError, ValueError) as exc:
        raise ValidationFailed(f"unreadable backup: {type(exc).__name__}", field="file") from None


def restore(
    backend: StateBackend, rules: RuleStore, path: Path, tables: tuple[TableSpec, ...] = ALL_TABLES
) -> BackupSummary:
    """Replace the data tables and rule bodies with the archive's; users merged, tokens and audit kept."""
    items, bodies = _read_archive(path, tables)
    replaced = tuple(spec for spec in tables if spec.name not in KEPT_ON_RESTORE)
    backend.drop_all(replaced)
    for spec in replaced:
        backend.batch_put(spec, items[spec.name])
    added = _merge_users(backend, items.get(USERS.name, []))
    for key in list(rules.keys()):
        rules.delete(key)
    for key, body in bodies.items():
        rules.put(key, body)
    archived = [int(i["seq"]) for i in items.get(AUDIT_LOG.name, []) if i.get("chain") == "main"]
    return BackupSummary(
        tables={spec.name: len(items[spec.name]) for spec in replaced},
        rule_bodies=len(bodies),
        users_added=added,
        archived_audit_head=max(archived, default=0),
    )


def _merge_users(backend: StateBackend, archived: list[Item]) -> list[str]:
    """Add the archive's users the installation does not have; never change an existing one."""
    added: list[str] = []
    for item in archived:
        try:
            backend.put(USERS, item, condition=NotExists(USERS.hash_key))
        except Conflict:
            continue
        added.append(str(item[USERS.hash_key]))
    return sorted(added)
