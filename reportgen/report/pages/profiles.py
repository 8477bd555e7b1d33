"""The Run profiles page, straight from the profile definitions: every setting of every profile."""

from __future__ import annotations

from typing import Any

from reportgen.config import PROFILES, profile_settings
from reportgen.report.escape import code
from reportgen.report.format import md_table
from reportgen.store.results import LoadedResults

PAGE = "profiles.md"
NEEDS_RUN = False


def _flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif key not in ("name", "description"):
            flat[prefix + key] = value
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return "–"  # e.g. a per-kind timeout left unset: timeout_s applies
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "none"  # e.g. no CPU pinning, no family left out
    return f"{value:g}" if isinstance(value, float) else str(value)


def context(run: dict[str, Any] | None, loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Run profiles page."""
    flat = {name: _flatten(profile_settings(p)) for name, p in PROFILES.items()}
    keys = list(next(iter(flat.values())))
    return {
        "purposes": md_table(["profile", "purpose"], [[code(p.name), p.description] for p in PROFILES.values()]),
        "table": md_table(["setting", *(code(n) for n in PROFILES)],
                          [[code(k), *(_cell(flat[n][k]) for n in PROFILES)] for k in keys]),
    }
