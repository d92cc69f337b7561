"""A small ATT&CK STIX bundle, written by the tests (the real one is MITRE's enterprise-attack.json)."""

from __future__ import annotations

import json
from pathlib import Path

# The enterprise tactics by short name, and a few techniques (those of the starter rules and more).
TACTICS = {
    "TA0001": "initial-access",
    "TA0002": "execution",
    "TA0003": "persistence",
    "TA0004": "privilege-escalation",
    "TA0005": "defense-evasion",
    "TA0006": "credential-access",
    "TA0007": "discovery",
    "TA0008": "lateral-movement",
    "TA0009": "collection",
    "TA0010": "exfiltration",
    "TA0011": "command-and-control",
    "TA0040": "impact",
}
TECHNIQUES = (
    *("T1078.004", "T1090.003", "T1098", "T1098.001", "T1098.003", "T1110.001", "T1190", "T1195.002"),
    *("T1213.003", "T1485", "T1486", "T1530", "T1537", "T1552", "T1555.006", "T1556", "T1556.006"),
    *("T1562", "T1562.001", "T1562.007", "T1562.008", "T1567.001", "T1580"),
)


def _ref(external_id: str) -> list[dict[str, str]]:
    return [{"source_name": "mitre-attack", "external_id": external_id}]


def write_attack_stix(path: Path) -> Path:
    objects: list[dict[str, object]] = [{"type": "x-mitre-collection", "x_mitre_version": "test"}]
    objects += [
        {"type": "x-mitre-tactic", "x_mitre_shortname": name, "external_references": _ref(tid)}
        for tid, name in TACTICS.items()
    ]
    objects += [
        {"type": "attack-pattern", "name": f"technique {tid}", "external_references": _ref(tid)} for tid in TECHNIQUES
    ]
    # Withdrawn techniques are not valid tags (pySigma skips them), like in MITRE's own file.
    objects.append({"type": "attack-pattern", "name": "old", "revoked": True, "external_references": _ref("T1108")})
    path.write_text(json.dumps({"type": "bundle", "objects": objects}))
    return path
