"""Backup and restore of every table and rule body, as one deterministic tar.gz archive.

The archive holds stored items exactly as stored (integration configs stay encrypted, the
vault holds ciphertext only) and rule bodies as raw bytes. The master key is NOT included:
keep `keys/master.key` (or the KMS key) safe separately, as you would a Vault unseal key.
Restore checks the whole archive before it touches the store.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from mantissa_log.errors import ValidationFailed
from mantissa_log.rulestore.base import RuleStore, check_key
from mantissa_log.state.backend import Item, StateBackend, TableSpec
from mantissa_log.state.codec import decode, encode
from mantissa_log.state.tables import ALL_TABLES

FORMAT = "mantissa-log-backup"
VERSION = 1


@dataclass
class BackupSummary:
    tables: dict[str, int]
    rule_bodies: int


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
    with path.open("wb") as out, gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    path.chmod(0o600)
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
    """Replace every table and rule body with the archive's content."""
    items, bodies = _read_archive(path, tables)
    backend.drop_all(tables)
    for spec in tables:
        backend.batch_put(spec, items[spec.name])
    for key in list(rules.keys()):
        rules.delete(key)
    for key, body in bodies.items():
        rules.put(key, body)
    return BackupSummary(tables={k: len(v) for k, v in items.items()}, rule_bodies=len(bodies))
