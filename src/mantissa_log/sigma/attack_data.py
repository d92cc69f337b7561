"""The MITRE ATT&CK lists pySigma checks `attack.*` tags against.

pySigma 2 ships no ATT&CK data: on first use it downloads MITRE's enterprise-attack.json (STIX)
and caches the parsed lists on disk. An installation without internet access names a local copy
(MANTISSA_ATTACK_DATA); the cache goes under Mantissa's home rather than the user's ~/.cache.
When the data cannot be loaded the tag check is skipped and the caller says so: never a silent pass.
"""

from __future__ import annotations

from pathlib import Path

from sigma.data import mitre_attack

# pySigma keeps its source and cache in module globals; set them once per process and value,
# because `set_url` also empties the cache (a later call would parse the file again).
_configured: tuple[str | None, Path | None] | None = None


def load_attack_data(source: str | None = None, cache_dir: Path | None = None) -> str | None:
    """Make the ATT&CK lists ready (from `source`, a file or URL, when given); return why not, or None.

    `cache_dir` holds pySigma's parsed copy (in `mitre_attack/` below it, as pySigma lays out ~/.cache).
    """
    global _configured
    if _configured != (source, cache_dir):
        if cache_dir is not None:
            mitre_attack.set_cache_dir(str(cache_dir / "mitre_attack"))
        if source is not None:
            mitre_attack.set_url(source)
        _configured = (source, cache_dir)
    try:
        # Load now: pySigma loads lazily inside the tag validator, where a failure aborts the whole run.
        mitre_attack.mitre_attack_tactics  # noqa: B018 - the attribute access is the load
    except RuntimeError as exc:
        return str(exc)
    return None
