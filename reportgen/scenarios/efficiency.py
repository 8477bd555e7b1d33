"""Efficiency: achieved GFLOP/s of each inference measurement, and its fraction of the measured roof."""

from __future__ import annotations

from typing import Any

from reportgen.store.records import Setting
from reportgen.store.results import METRICS


def add_efficiency(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``gflops_per_s`` to every successful inference record, and ``roof_fraction`` where a roof of the
    same precision and thread count was measured.

    The work per image is twice the MACs counted from the PyTorch model of this run (a multiply-add is
    two operations). A record is divided by the best ``gemm_gflops`` of its own precision and thread count
    (:mod:`reportgen.scenarios.roof`: fp32, bf16 and int8, at the run's thread count and at one thread);
    where no such roof was measured (fp16 on a CPU) it gets none rather than a wrong one.
    """
    macs = next((r["metrics"]["macs"]["value"] for r in records
                 if r["scenario"] == "model" and "macs" in r["metrics"]), None)
    measured = sorted((r for r in records if "gemm_gflops" in r["metrics"]),
                      key=lambda r: r["metrics"]["gemm_gflops"]["value"])
    roofs = {(r["settings"].get(Setting.PRECISION, "fp32"), r["settings"].get(Setting.THREADS)):
             r["metrics"]["gemm_gflops"]["value"]
             for r in measured}  # the best per (precision, threads): sorted ascending, so the last one wins
    if macs is None:
        return records
    for rec in records:
        if rec["scenario"] in ("inference", "threads") and rec["status"] == "ok":
            gflops = rec["metrics"]["throughput_ips"]["value"] * 2 * macs / 1e9
            rec["metrics"]["gflops_per_s"] = {"value": gflops, "unit": METRICS["gflops_per_s"].unit}
            roof = roofs.get((rec["precision"], rec["settings"].get(Setting.THREAD_COUNT)))
            if roof and rec["device"] == "cpu":
                rec["metrics"]["roof_fraction"] = {"value": gflops / roof, "unit": METRICS["roof_fraction"].unit}
    return records
