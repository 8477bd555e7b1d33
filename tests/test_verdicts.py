"""Verdicts from rounds: paired ratios with an interval, a tie or inconclusive unless the interval decides."""

import numpy as np
import pytest

from reportgen.measure import stats
from reportgen.thresholds import PRACTICAL_MARGIN


def rounds(rng: np.random.Generator, base_ms: float, n: int, noise: float, drift: list[float] | None = None) -> list:
    """Round medians of one variant: ``noise`` is the relative spread between rounds, ``drift`` the machine's
    slowdown in each round (it hits every variant measured in that round alike)."""
    drift = drift or [1.0] * n
    return [base_ms * d * (1 + rng.normal(0, noise)) for d in drift]


def test_a_small_difference_with_a_little_noise_is_a_tie() -> None:
    rng = np.random.default_rng(0)  # 2% noise on the per-round ratio: 1.4% on each variant's round medians
    base, cand = rounds(rng, 20.0, 20, 0.014), rounds(rng, 20.0 / 1.03, 20, 0.014)  # a tie for seeds 0-9
    assert stats.paired_speedup(base, cand)["verdict"] == "tie"


def test_a_twofold_difference_is_faster_and_its_inverse_slower() -> None:
    rng = np.random.default_rng(1)
    base, cand = rounds(rng, 20.0, 3, 0.03), rounds(rng, 10.0, 3, 0.03)
    result = stats.paired_speedup(base, cand)
    assert result["verdict"] == "faster" and result["low"] > 1 + PRACTICAL_MARGIN and result["rounds"] == 3
    assert stats.paired_speedup(cand, base)["verdict"] == "slower"


def test_a_drift_that_slows_every_variant_in_one_round_does_not_change_the_verdict() -> None:
    rng = np.random.default_rng(2)
    drift = [1.0, 1.6, 1.0, 0.9, 1.3]  # a disturbed machine: whole rounds slower
    base, cand = rounds(rng, 20.0, 5, 0.01, drift), rounds(rng, 14.0, 5, 0.01, drift)
    calm = stats.paired_speedup(rounds(rng, 20.0, 5, 0.01), rounds(rng, 14.0, 5, 0.01))
    disturbed = stats.paired_speedup(base, cand)
    assert disturbed["verdict"] == calm["verdict"] == "faster"
    assert disturbed["speedup"] == pytest.approx(20 / 14, rel=0.03)
    # pooled per-call samples would not survive it: the unpaired medians move with the drift
    assert np.median(base) / np.median(cand) != pytest.approx(20 / 14, rel=0.001)


def test_a_wide_spread_is_inconclusive_and_one_round_decides_nothing() -> None:
    rng = np.random.default_rng(3)
    base, cand = rounds(rng, 20.0, 3, 0.25), rounds(rng, 18.0, 3, 0.25)
    assert stats.paired_speedup(base, cand)["verdict"] == "inconclusive"
    one = stats.paired_speedup([20.0], [10.0])
    assert one["verdict"] == "inconclusive" and one["low"] is None and one["speedup"] == 2.0


def test_the_noise_flag_fires_only_when_the_rounds_are_too_uncertain_to_decide() -> None:
    calm = stats.paired_speedup([20.0, 20.2, 19.9, 20.1], [10.0, 10.1, 10.0, 10.05])
    assert not stats.too_noisy(calm)  # a calm machine: decided
    wide = stats.paired_speedup([23.8, 18.4, 29.9], [21.0, 20.5, 22.0])  # PyTorch eager's rounds on a shared EPYC
    assert wide["verdict"] == "inconclusive" and stats.too_noisy(wide)
    assert not stats.too_noisy(stats.paired_speedup([20.0], [10.0]))  # one round: too few, not noisy
    wide_but_decided = stats.paired_speedup([20.0, 26.0, 18.0], [5.0, 6.6, 4.4])  # a 4x gap survives wide rounds
    assert wide_but_decided["verdict"] == "faster" and not stats.too_noisy(wide_but_decided)
    # a ratio near the margin: the rounds agree within 1%, the interval straddles 1.05 -> open, but not noise
    near = stats.paired_speedup([21.0, 21.2, 20.9, 21.1, 21.0], [20.0, 20.1, 20.0, 20.05, 20.1])
    assert near["verdict"] == "inconclusive" and near["low"] < 1.05 < near["high"]
    assert not stats.too_noisy(near) and stats.at_the_margin(near)


def _run(run_id: str, started: str, medians: dict[str, list[float]]) -> dict:
    from reportgen.store.results import SCHEMA_VERSION, make_record

    recs = [make_record("inference", "torch", variant, batch_size=1, metrics={"latency_ms_p50": float(np.median(m))},
                        settings={"round_medians_ms": m, "rounds": len(m)}) for variant, m in medians.items()]
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "machine_id": "box-2c", "status": "complete",
            "started_at": started, "finished_at": started, "reportgen_version": "0", "command": ["reportgen", "run"],
            "seed": 0, "options": {"frameworks": ["torch"], "device": "cpu", "threads": 2},
            "profile": {"name": "quick"}, "machine": {}, "records": recs}


def test_compare_flags_a_slowdown_and_fails_only_when_asked(tmp_path, capsys) -> None:  # noqa: ANN001
    from reportgen.cli import main
    from reportgen.store.results import ResultStore

    store = ResultStore(tmp_path)
    store.save(_run("20261201T000000Z-aaaa", "2026-12-01T00:00:00Z", {"eager": [20.0, 20.4, 19.8],
                                                                       "compile": [15.0, 15.2, 14.9]}))
    store.save(_run("20261202T000000Z-bbbb", "2026-12-02T00:00:00Z", {"eager": [40.1, 39.7, 40.3],
                                                                       "compile": [15.1, 14.9, 15.0]}))
    assert main(["compare", "--results-dir", str(tmp_path)]) == 0  # reports, exits 0 unless asked
    out = capsys.readouterr().out
    assert "20261202T000000Z-bbbb" in out and "slower" in out and "Slower beyond doubt: PyTorch (eager)" in out
    assert main(["compare", "--results-dir", str(tmp_path), "--fail-on-regression"]) == 1
    assert main(["compare", "20261201T000000Z-aaaa", "20261201T000000Z-aaaa", "--results-dir", str(tmp_path),
                 "--fail-on-regression"]) == 0
    assert main(["compare", "nope", "--results-dir", str(tmp_path)]) == 2


def test_each_precision_is_held_to_its_own_agreement_limit() -> None:
    """bf16 rounds by design: 2e-2 from the fp32 logits is expected there, and a warning sign for fp32."""
    from reportgen.report.findings import agrees
    from reportgen.store.results import make_record

    def rec(precision: str, diff: float) -> dict:
        return make_record("inference", "torch", "x", precision=precision, metrics={"max_abs_diff": diff})

    assert agrees(rec("bf16", 2e-2)) and not agrees(rec("fp32", 2e-2)) and agrees(rec("fp32", 5e-6))
    assert not agrees(rec("bf16", 0.5))


def test_tasks_measured_side_by_side_decide_nothing() -> None:
    """A smoke run times two tasks at once: however many rounds and however wide the gap, no verdict."""
    from reportgen.report import findings

    def rec(variant: str, medians: list[float], at_once: int) -> dict:
        return {"framework": "torch", "variant": variant, "metrics": {},
                "settings": {"round_medians_ms": medians, "round_numbers": [0, 1, 2], "tasks_at_once": at_once}}

    base, cand = [20.0, 20.2, 19.9], [5.0, 5.1, 5.0]
    assert findings.compare(rec("eager", base, 1), rec("fast", cand, 1))["verdict"] == "faster"
    shared = findings.compare(rec("eager", base, 2), rec("fast", cand, 2))
    assert shared["verdict"] == "inconclusive" and shared["disturbed"] == 3 and shared["low"] is None


def test_a_projected_verdict_narrows_with_more_rounds_and_needs_a_spread() -> None:
    from reportgen.measure.stats import paired_speedup, projected_verdict

    base = [20.0, 20.2, 19.9]
    open_ = paired_speedup(base, [17.74, 16.54, 15.04])  # 1.22x [1.02, 1.46]
    assert open_["verdict"] == "inconclusive"
    assert projected_verdict(open_, 3) == "inconclusive" and projected_verdict(open_, 5) == "faster"
    assert projected_verdict(paired_speedup(base, [19.0, 23.0, 18.0]), 5) == "inconclusive"
    assert projected_verdict(paired_speedup(base[:1], [10.0]), 5) is None
    outlier = paired_speedup([38.3, 31.7, 31.2], [18.9, 33.3, 17.9])  # 1.50x [0.56, 4.04]: one round off
    assert outlier["verdict"] == "inconclusive" and projected_verdict(outlier, 5) == "faster"


@pytest.mark.parametrize(("second_ms", "verdict"), [([5.2, 6.6, 5.0], "inconclusive"), ([10.1, 9.9, 10.2], "faster")])
def test_a_lower_median_is_called_faster_only_when_the_paired_rounds_say_so(second_ms: list[float],
                                                                             verdict: str) -> None:
    """Home's INT8 and Edge lines name the variant with the lowest median; beside the runners-up they give its
    paired ratio and verdict, and never call the others slower on the strength of a median."""
    import json
    from html import unescape

    from conftest import FIXTURE_RESULTS

    from reportgen.report import findings

    (path,) = FIXTURE_RESULTS.glob("*/*.json")
    run = json.loads(path.read_text(encoding="utf-8"))
    timed = {("openvino", "int8"): [5.0, 5.6, 5.1], ("tflite", "int8-full"): second_ms,
             ("tflite", "int8-dynamic"): [30.0, 31.0, 29.5], ("onnxruntime", "int8-static"): [40.0, 41.0, 39.0],
             ("onnxruntime", "int8-dynamic"): [90.0, 95.0, 91.0]}
    for rec in findings.batch1(run):
        rec["settings"].update(tasks_at_once=1, round_numbers=[0, 1, 2], round_medians_ms=[25.0, 25.5, 24.8],
                               round_foreign_cpu=[0.0, 0.0, 0.0])  # three calm rounds
        medians = timed.get((rec["framework"], rec["variant"]))
        if medians:
            rec["settings"]["round_medians_ms"] = medians
            rec["metrics"]["latency_ms_p50"]["value"] = float(np.median(medians))
    (int8,) = [unescape(line) for line in findings.inference_findings(run) if "INT8" in line]
    (edge,) = [unescape(line) for line in findings.edge_findings(run)]
    lead = findings.lead(*(r for key in (("openvino", "int8"), ("tflite", "int8-full"))
                           for r in findings.batch1(run) if (r["framework"], r["variant"]) == key))
    assert lead["verdict"] == verdict
    assert f"the speed of the next, TFLite (int8-full): {verdict}" in int8
    assert ("the fastest quantized variant is OpenVINO (int8)" in int8) == (verdict == "faster")
    assert f"the pick {findings.ratio_text(lead)} its speed ({verdict})" in edge
    assert "slower" not in edge
