"""A board decides from Home's decision table (issue 43): ties called ties, observations called observations, the
same scope on Home and the Scorecard, INT8 judged on the trained digits model with its uncertainty."""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURE_RESULTS

from reportgen.measure.stats import paired_change_interval, wilson_interval
from reportgen.report import decisions, findings
from reportgen.report.format import metric
from reportgen.report.pages import history, home, inference, scorecard
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults, ResultStore


def _calm(run: dict[str, Any], medians: dict[tuple[str, str], float]) -> dict[str, Any]:
    """``run`` as if timed alone in three calm rounds, each batch-1 variant at the median ``medians`` gives it
    (others twice the slowest given), the reference at 20 ms."""
    run = copy.deepcopy(run)
    slow = 2 * max(medians.values())
    for rec in run["records"]:
        rec["settings"].pop(Setting.TASKS_AT_ONCE, None)
        if rec in findings.batch1(run) or (rec["scenario"] == "inference" and rec["batch_size"] == 1):
            key = (rec["framework"], rec["variant"])
            value = 20.0 if findings.is_reference(rec) else medians.get(key, slow)
            rec["metrics"]["latency_ms_p50"]["value"] = value
            rec["settings"].update({Setting.ROUND_MEDIANS_MS: [value] * 3, Setting.ROUND_NUMBERS: [0, 1, 2],
                                    Setting.ROUND_FOREIGN_CPU: [0.0] * 3, Setting.MACHINE_CPUS: 2})
    return run


@pytest.fixture(scope="module")
def stored() -> dict[str, Any]:
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    return run


def _fp32(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["framework"], r["variant"]) for r in findings.batch1(run, precision="fp32")
            if findings.agrees(r) and not findings.is_reference(r)]


def test_two_variants_that_cannot_be_told_apart_are_named_as_a_tie(stored: dict[str, Any]) -> None:
    first, second = _fp32(stored)[:2]
    run = _calm(stored, {first: 10.0, second: 10.0})
    decision = decisions.decide(run, decisions.QUESTIONS[0])
    assert decision.verdict == "tie" and decisions.names(decision).endswith(": tie")
    assert {(r["framework"], r["variant"]) for r in [decision.pick, *decision.runners_up]} == {first, second}
    alone = decisions.decide(_calm(stored, {first: 5.0, second: 10.0}), decisions.QUESTIONS[0])
    assert alone.verdict == "faster" and not alone.runners_up and "[2.00, 2.00]" in alone.ratio


def test_the_table_counts_the_stored_runs_that_agree(stored: dict[str, Any]) -> None:
    first, second = _fp32(stored)[:2]
    runs = [_calm(stored, {first: 5.0, second: 10.0}), _calm(stored, {first: 10.0, second: 5.0}),
            _calm(stored, {first: 5.0, second: 10.0})]
    (latency, *_) = decisions.table(runs[-1], runs)
    assert latency.agree == "2 of 3"


def test_what_was_measured_once_is_an_observation_never_a_verdict(stored: dict[str, Any]) -> None:
    rows = {d.question.title: d for d in decisions.table(stored, [stored])}
    start = rows["Start-up, fp32"]
    assert start.verdict == "observation" and "measured once" in start.ratio


def test_a_runtime_measured_at_zero_is_ranked_last_and_the_pages_still_render(stored: dict[str, Any]) -> None:
    """A quick run's Keras on PyTorch served 0 requests a second within the 100 ms bound (its batch-1 latency was
    128 ms): the serving row divided by that 0, and the whole run was left off the site."""
    run = copy.deepcopy(stored)
    startup = [r for r in run["records"] if r in findings.batch1(run, "startup", "fp32")]
    startup[0]["metrics"]["cold_start_s"]["value"] = 0.0
    (question,) = (q for q in decisions.QUESTIONS if q.title == "Throughput, fp32")
    served = question.select(run)
    for rec in served[1:]:  # every one but the first: the pick's runner-up measured 0
        rec["metrics"]["throughput_ips"]["value"] = 0.0
    rows = {d.question.title: d for d in decisions.table(run, [run])}
    assert rows["Start-up, fp32"].pick is startup[0] and "the next measured" in rows["Start-up, fp32"].ratio
    assert rows["Throughput, fp32"].pick is served[0] and rows["Throughput, fp32"].runners_up == []
    assert "the next measured 0" in rows["Throughput, fp32"].ratio
    loaded = LoadedResults(runs=[run], root=FIXTURE_RESULTS)
    assert "Throughput, fp32" in html.unescape(str(home.context(run, loaded)["decisions"]))


def test_home_and_the_scorecard_ask_the_same_questions_and_name_each_cells_runtime(stored: dict[str, Any]) -> None:
    loaded = LoadedResults(runs=[stored], root=FIXTURE_RESULTS)
    table = html.unescape(str(home.context(stored, loaded)["decisions"]))
    card = html.unescape(str(scorecard.context(stored, loaded)["table"]))
    for question in decisions.QUESTIONS:
        if decisions.decide(stored, question):
            assert question.scope in table and question.scope in card, question.title
    row = next(line for line in card.splitlines() if line.startswith("| Batch-1 latency, fp32"))
    tensorflow = row.split(" | ")[2]  # the TensorFlow/Keras family's column
    assert tensorflow == "not measured" or tensorflow.split("(", 1)[1].startswith(("TFLite", "TensorFlow")), row


def test_an_int8_row_is_judged_on_the_trained_digits_model_with_its_interval(stored: dict[str, Any]) -> None:
    loaded = LoadedResults(runs=[stored], root=FIXTURE_RESULTS)
    detail = html.unescape(str(inference.context(stored, loaded)["detail_table"]))
    int8 = [line for line in detail.splitlines() if "int8" in line]
    assert int8 and all("⚠" not in line for line in int8), int8
    assert any("digits " in line and "[" in line for line in int8), int8
    rec = next(r for r in findings.batch1(stored, precision="int8") if findings.accuracy_record(stored, r))
    acc = findings.accuracy_interval(findings.accuracy_record(stored, rec))
    low, high = acc["agreement_ci"]
    assert low <= acc["agreement"] <= high and acc["n"] == findings.accuracy_record(stored, rec)["batch_size"]


def test_the_intervals_on_agreement_and_on_an_accuracy_change() -> None:
    low, high = wilson_interval(0.975, 359)  # 9 of 359 images changed class
    assert low == pytest.approx(0.9531, abs=1e-4) and high == pytest.approx(0.9868, abs=1e-4)
    assert wilson_interval(1.0, 359)[1] == 1.0 and wilson_interval(1.0, 359)[0] < 1.0  # honest at 1
    low, high = paired_change_interval(0.011, 0.025, 359)  # +4 of 359 images, 9 changed class
    assert low < 0 < high  # within noise
    low, high = paired_change_interval(-0.05, 0.06, 359)
    assert high < 0  # a loss beyond doubt
    low, high = paired_change_interval(0.0, 0.0, 359)
    assert low < 0 < high  # no image changed here says little about the next 359


def test_memory_ranks_the_runtime_not_the_process(stored: dict[str, Any]) -> None:
    run = copy.deepcopy(stored)
    fp32 = [r for r in findings.batch1(run, precision="fp32") if findings.agrees(r)]
    for i, rec in enumerate(fp32):
        rec["metrics"]["peak_rss_mb"] = {"value": 180.0, "unit": "MB"}  # one floor for all: no pick on it
        rec["metrics"]["runtime_peak_mb"] = {"value": 50.0 + 10 * i, "unit": "MB"}
    memory = next(q for q in decisions.QUESTIONS if q.metric == "runtime_peak_mb")
    decision = decisions.decide(run, memory)
    assert decision.pick is fp32[0] and metric(decision.pick, "runtime_peak_mb") == 50.0
    assert "180" in decision.caveat


def test_the_export_carries_each_comparison(stored: dict[str, Any], tmp_path: Path) -> None:
    from reportgen.report.frame import EXPORT_COLUMNS, long_frame

    frame = long_frame([_calm(stored, {_fp32(stored)[0]: 10.0})])
    rows = frame[frame["scenario"] == "comparison"]
    assert list(frame.columns) == EXPORT_COLUMNS and len(rows) == len(findings.batch1(stored)) - 1
    fast = rows[(rows["framework"] == _fp32(stored)[0][0]) & (rows["variant"] == _fp32(stored)[0][1])].iloc[0]
    assert fast["value"] == pytest.approx(2.0) and fast["verdict"] == "faster" and fast["rounds"] == 3


def test_history_lists_a_verdict_that_changed_between_two_runs(stored: dict[str, Any]) -> None:
    """Between two quick runs TensorFlow graph went from "faster" to "inconclusive": History says so in a table of
    its own, beside the ratio chart, rather than only "no change beyond doubt" in latency."""
    first, second = _fp32(stored)[:2]
    slowest = ("none", "none")  # the variants not named run at twice its median in both runs
    earlier = _calm(stored, {first: 10.0, second: 10.0, slowest: 20.0})
    later = _calm(stored, {first: 10.0, second: 20.0, slowest: 20.0})  # second: as fast as the reference, a tie
    later.update(run_id=stored["run_id"] + "-later", started_at=stored["started_at"][:11] + "23:59:59Z")
    section = history.machine_section(stored["machine_id"], [earlier, later])
    (row,) = html.unescape(str(section["verdict_changes"])).splitlines()[2:]
    assert "**faster**" in row and "**tie**" in row and later["run_id"] in row
    assert not history.machine_section(stored["machine_id"], [earlier, earlier | {"run_id": "x"}])["verdict_changes"]
