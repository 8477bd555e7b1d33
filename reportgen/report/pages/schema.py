"""The Results schema page, generated from the schema itself."""

from __future__ import annotations

import json
from typing import Any

from reportgen.report.escape import MD, code
from reportgen.report.format import md_table
from reportgen.store.results import METRICS, RUN_SCHEMA, SCHEMA_VERSION, LoadedResults

PAGE = "schema.md"
NEEDS_RUN = False


def context(run: dict[str, Any] | None, loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Results schema page, generated from the schema itself."""
    record_schema = RUN_SCHEMA["properties"]["records"]["items"]

    def fields(schema: dict[str, Any]) -> str:
        rows = []
        for key, spec in schema["properties"].items():
            kind = spec.get("type", "enum" if "enum" in spec else "")
            kind = " or ".join(kind) if isinstance(kind, list) else kind
            if "enum" in spec:
                kind = kind + ": " + MD(", ").join(code(v) for v in spec["enum"])
            rows.append([code(key), kind, spec.get("description", "")])
        return md_table(["field", "type", "meaning"], rows)

    example = None
    if run:
        rec = next((r for r in run["records"] if r["samples"]), run["records"][0] if run["records"] else None)
        if rec:
            rec = {**rec, "samples": {k: v[:5] + ["..."] for k, v in rec["samples"].items()}}
            example = MD(json.dumps(rec, indent=2))  # inside a fenced block: JSON lines cannot end the fence
    return {
        "version": SCHEMA_VERSION,
        "run_fields": fields(RUN_SCHEMA),
        "record_fields": fields(record_schema),
        "metrics": md_table(["metric", "unit", "better", "meaning"],
                            [[code(k), m.unit, m.better or "–", m.description] for k, m in METRICS.items()]),
        "example": example,
        "json_schema": MD(json.dumps(RUN_SCHEMA, indent=2)),
    }
