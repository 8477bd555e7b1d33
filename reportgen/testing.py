"""Valid runs derived from a real one, for tests and benchmarks of the report (never for publishing)."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np

from reportgen.store.records import Setting

TIME_UNITS = ("ms", "s")
RATE_UNITS = ("img/s", "GFLOP/s")


def derive_run(base: dict[str, Any], *, machine_id: str, started: datetime, factor: float = 1.0,
               rng: np.random.Generator | None = None, cpu_model: str | None = None) -> dict[str, Any]:
    """A copy of ``base`` as if run on ``machine_id`` at ``started``, ``factor`` times slower.

    Times (ms, s) and per-call samples in ms are multiplied by ``factor`` and rates (img/s, GFLOP/s)
    divided by it; with ``rng`` each record also gets up to a few percent of jitter.
    The run id follows the store's pattern and is unique per (machine, start time).
    """
    run = copy.deepcopy(base)
    started = started.astimezone(UTC).replace(microsecond=0)
    digest = hashlib.sha256(f"{machine_id}/{started.isoformat()}".encode()).hexdigest()[:4]
    duration = parse_utc(base["finished_at"]) - parse_utc(base["started_at"]) if base.get("finished_at") else None
    run.update(machine_id=machine_id, run_id=started.strftime("%Y%m%dT%H%M%SZ") + "-" + digest,
               started_at=_iso(started), finished_at=_iso(started + duration) if duration else None)
    if cpu_model:
        run["machine"]["cpu"]["model"] = cpu_model
    for rec in run["records"]:
        scale = factor * (1 + rng.uniform(-0.05, 0.05)) if rng is not None else factor
        for entry in rec["metrics"].values():
            if entry["unit"] in TIME_UNITS:
                entry["value"] *= scale
            elif entry["unit"] in RATE_UNITS:
                entry["value"] /= scale
        rec["samples"] = {k: [x * scale for x in v] if k.endswith("_ms") else v for k, v in rec["samples"].items()}
        if Setting.ROUND_MEDIANS_MS in rec["settings"]:
            rec["settings"][Setting.ROUND_MEDIANS_MS] = [x * scale for x in rec["settings"][Setting.ROUND_MEDIANS_MS]]
    return run


def parse_utc(text: str) -> datetime:
    """A stored ``started_at``/``finished_at`` (ISO 8601, ``Z``) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
