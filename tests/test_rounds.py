"""Adaptive rounds: more rounds only for the verdicts still open, within the profile's maximum and budget."""

from pathlib import Path

import numpy as np
import pytest
from conftest import LinearRuntime

from reportgen import backends, thresholds
from reportgen.artifacts import REFERENCE_OUTPUTS
from reportgen.config import PROFILES, profile_settings
from reportgen.inputs import check_images
from reportgen.process.runner import Context, Task
from reportgen.scenarios import inference
from reportgen.scenarios.inference import next_round
from reportgen.store.records import RoundSeries

FRAMEWORKS = ["torch", "tensorflow", "onnxruntime"]


def timed(framework: str, variant: str, medians: list[float], task_s: float = 10.0) -> list[dict]:
    return [{"scenario": "inference", "framework": framework, "variant": variant, "batch_size": 1, "status": "ok",
             "metrics": {"latency_ms_p50": {"value": m}},
             "settings": {"round": i, "task": f"inference/{framework}/round{i}", "task_s": task_s}}
            for i, m in enumerate(medians)]


def quick() -> dict:
    """The quick profile with at most 5 rounds: the rules below, whatever maximum the profile sets."""
    settings = profile_settings(PROFILES["quick"])
    return {**settings, "inference": {**settings["inference"], "max_rounds": 5}}


OPEN = [17.74, 16.54, 15.04]  # 1.13x, 1.22x, 1.32x of the reference: open after 3 rounds, decidable by 5


def test_only_the_open_verdicts_get_another_round_beside_the_reference() -> None:
    records = (timed("torch", "eager", [20.0, 20.2, 19.9])
               + timed("onnxruntime", "from-torch", [10.0, 10.1, 9.9])  # 2x: decided
               + timed("tensorflow", "graph", OPEN))
    tasks, why = next_round(records, quick(), FRAMEWORKS, "cpu", 2, spent_s=0.0)
    assert why == ""
    members = {(m["framework"], m["variant"]) for t in tasks for m in t.members}
    assert members == {("torch", "eager"), ("tensorflow", "graph")}
    assert {t.params["round"] for t in tasks} == {3} and all(t.key.endswith("/round3") for t in tasks)


def test_rounds_stop_when_decided_at_the_maximum_or_past_the_budget() -> None:
    decided = timed("torch", "eager", [20.0, 20.2, 19.9]) + timed("onnxruntime", "from-torch", [10.0, 10.1, 9.9])
    assert next_round(decided, quick(), FRAMEWORKS, "cpu", 2, 0.0) == (
        [], "3 round(s) of batch-1 timing: every verdict against the reference decided")
    open_ = timed("torch", "eager", [20.0, 20.2, 19.9, 20.0, 20.1]) + timed("tensorflow", "graph",
                                                                           [19.0, 23.0, 18.0, 22.0, 18.5])
    tasks, why = next_round(open_, quick(), FRAMEWORKS, "cpu", 2, 0.0)
    assert tasks == [] and why.endswith("the profile's maximum")
    expensive = timed("torch", "eager", [20.0, 20.2, 19.9], task_s=100.0) + timed("tensorflow", "graph", OPEN,
                                                                                 task_s=100.0)
    tasks, why = next_round(expensive, quick(), FRAMEWORKS, "cpu", 2, 0.0)
    assert tasks == [] and "1 verdict(s) still open" in why and "budget" in why


def test_no_round_is_added_for_a_verdict_that_the_maximum_could_not_decide() -> None:
    """About 1.0x with rounds 20% apart: even 5 rounds at that spread straddle the tie band, so none is added."""
    near_tie = timed("torch", "eager", [20.0, 20.2, 19.9]) + timed("tensorflow", "graph", [19.0, 23.0, 18.0])
    tasks, why = next_round(near_tie, quick(), FRAMEWORKS, "cpu", 2, 0.0)
    assert tasks == [] and why.endswith("too close to call at their spread so far, even if every round up to 5 "
                                        "agreed")
    # one outlying round around a large difference is worth another round (ONNX Runtime, quick run 2026-12-03)
    outlier = timed("onnxruntime", "from-torch", [38.3 / 2.03, 31.7 / 0.95, 31.2 / 1.74])
    reference = timed("torch", "eager", [38.3, 31.7, 31.2])
    assert next_round(reference + outlier, quick(), FRAMEWORKS, "cpu", 2, 0.0)[0]


def test_the_duration_table_counts_each_task_once() -> None:
    """A round's task leaves a start-up, a latency and a sweep record; merging rounds must not count it thrice."""
    from reportgen.run.pipeline import duration_table
    from reportgen.scenarios.inference import STARTUP_PARTS, merge_rounds
    from reportgen.store.results import make_record

    records = []
    for number, seconds in ((0, 30.0), (1, 12.0)):
        settings = {"round": number, "task": f"inference/torch/eager/round{number}", "task_s": seconds,
                    "task_scenario": "inference"}
        records += [make_record("startup", "torch", "eager", batch_size=1, settings=dict(settings),
                                metrics={p: 1.0 for p in STARTUP_PARTS}),
                    make_record("inference", "torch", "eager", batch_size=1, settings=dict(settings),
                                metrics={"latency_ms_p50": 10.0}, samples={"latency_ms": [10.0, 10.5, 9.5]})]
    records.append(make_record("inference", "torch", "eager", batch_size=2, metrics={"latency_ms_p50": 15.0},
                               settings={"round": 0, "task": "inference/torch/eager/round0", "task_s": 30.0,
                                         "task_scenario": "inference"}))
    table = duration_table(merge_rounds(records))
    rows = dict(zip(table.columns[0]._cells, table.columns[2]._cells, strict=True))
    assert rows["all tasks"] == "42" and rows["inference"] == "42"
    rows = dict(zip(*(c._cells for c in duration_table(records, wall_s=31.4).columns[::2]), strict=True))
    assert rows["wall clock (tasks side by side overlap)"] == "31"  # shorter than the sum where tasks overlapped


def test_a_later_round_calls_the_runtime_at_batch_1_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parity check runs the timed batch-1 path too: another shape, or another memory layout of the same
    shape, would make tf.function, XLA or torch.compile trace and compile again in every round, only for the
    check (``torch.compile`` guards on strides: an image taken as ``batch[i][None]`` has stride 0 on its batch
    axis, and recompiling for it cost 2.3 s in every process on a 2-core Xeon)."""
    runtime = LinearRuntime()
    monkeypatch.setattr(backends, "load_backend", lambda *args: runtime)
    profile = profile_settings(PROFILES["smoke"])
    profile["inference"].update(image_size=8, num_classes=10)
    np.save(tmp_path / REFERENCE_OUTPUTS, check_images(0, 8).reshape(-1, 3 * 8 * 8) @ runtime.weights)
    task = Task(key="inference/torch/round1", module=inference.__name__, scenario="inference", framework="torch",
                variant="compile", label="compile", params={"round": 1, "threads": None, "fresh": False,
                                                           "precision": "fp32", "device": "cpu"})
    (record,) = inference.run_task(task, Context(tmp_path, threads=1, device="cpu", seed=0, profile=profile))
    assert set(runtime.batches) == {1} and record["batch_size"] == 1
    assert len(runtime.layouts) == 1  # the check's inputs are laid out like the timed ones
    assert record["metrics"]["max_abs_diff"]["value"] < thresholds.agreement_limit("fp32")  # the batch's logits
    assert record["metrics"]["top1_agreement"]["value"] == 1.0


def test_each_round_ends_with_the_reference_timed_again_in_a_process_of_its_own() -> None:
    """The reference's speed differs between processes more than between rounds on a small VM, and every
    comparison pairs with it: each round times it twice, the second time last, alone (not in threads runs)."""
    profile = quick()
    ref = ("torch", "eager")
    tasks = inference.plan(FRAMEWORKS, profile, "cpu", 2)
    for number in range(profile["inference"]["rounds"]):
        in_round = [t for t in tasks if t.params["round"] == number and not t.params["threads"]]
        timing_ref = [t for t in in_round if ref in {(m["framework"], m["variant"]) for m in t.members}
                      or (t.framework, t.variant) == ref]
        assert len(timing_ref) == profile["inference"]["reference_processes"] == 2
        assert [(m["framework"], m["variant"]) for m in in_round[-1].members] == [ref]
    assert all(len(t.members) > 1 for t in tasks if t.params["threads"])
    profile["inference"]["reference_processes"] = 1
    assert not [t for t in inference.plan(FRAMEWORKS, profile, "cpu", 2) if "again" in t.key]
    records = (timed("torch", "eager", [20.0, 20.2, 19.9]) + timed("tensorflow", "graph", OPEN))
    tasks, _ = next_round(records, quick(), FRAMEWORKS, "cpu", 2, spent_s=0.0)
    assert [t.key for t in tasks] == ["inference/torch/round3", "inference/tensorflow/round3",
                                      "inference/torch/eager/again1/round3"]


def test_the_reference_timed_in_two_processes_counts_once_per_round() -> None:
    """A round's value is the geometric mean of its processes: one slow process moves its round, not the count
    of rounds, and rounds stay paired with the candidate's."""
    from reportgen.report import findings
    from reportgen.scenarios.inference import merge_rounds
    from reportgen.store.results import make_record

    def record(variant: str, number: int, median: float, task: str) -> dict:
        return make_record("inference", "torch", variant, batch_size=1, metrics={"latency_ms_p50": median},
                           samples={"latency_ms": [median]}, settings={"round": number, "task": task, "task_s": 5.0})

    records = [record("eager", 0, 20.0, "inference/torch/eager/round0"),
               record("eager", 0, 45.0, "inference/torch/eager/again1/round0"),
               record("eager", 1, 30.0, "inference/torch/round1"),
               record("eager", 1, 30.0, "inference/torch/eager/again1/round1"),
               record("compile", 0, 15.0, "inference/torch/compile/round0"),
               record("compile", 1, 15.0, "inference/torch/round1")]
    merged = {r["variant"]: r for r in merge_rounds(records)}
    assert merged["eager"]["settings"]["rounds"] == 2 and merged["eager"]["settings"]["processes"] == 4
    assert RoundSeries.of_record(merged["eager"]).medians == pytest.approx({0: 30.0, 1: 30.0})  # sqrt(20 * 45) = 30
    assert merged["eager"]["settings"]["round_spread"] == pytest.approx(0.0)
    comparison = findings.compare(merged["eager"], merged["compile"])
    assert comparison["rounds"] == 2 and comparison["speedup"] == pytest.approx(2.0)
