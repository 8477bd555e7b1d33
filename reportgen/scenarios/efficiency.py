"""Efficiency: achieved GFLOP/s of each inference measurement, and its fraction of the measured roof."""

from __future__ import annotations

from typing import Any

from reportgen.results import METRICS


def add_efficiency(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``gflops_per_s`` and ``roof_fraction`` to every successful inference record.

    The work per image is twice the MACs counted from the PyTorch model of this run (a multiply-add is
    two floating-point operations); the roof is the best ``gemm_gflops`` of this run. For INT8 variants
    the figure is the equivalent float work per second.
    """
    macs = next((r["metrics"]["macs"]["value"] for r in records
                 if r["scenario"] == "model" and "macs" in r["metrics"]), None)
    roofs = [r["metrics"]["gemm_gflops"]["value"] for r in records if "gemm_gflops" in r["metrics"]]
    if macs is None:
        return records
    for rec in records:
        if rec["scenario"] in ("inference", "threads") and rec["status"] == "ok":
            gflops = rec["metrics"]["throughput_ips"]["value"] * 2 * macs / 1e9
            rec["metrics"]["gflops_per_s"] = {"value": gflops, "unit": METRICS["gflops_per_s"].unit}
            if roofs and rec["device"] == "cpu":
                rec["metrics"]["roof_fraction"] = {"value": gflops / max(roofs), "unit": METRICS["roof_fraction"].unit}
    return records
