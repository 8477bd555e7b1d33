"""A results file is checked for meaning, a run for what it measured, a file name for the run it holds (issue 42,
findings 3, 4 and 5)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURE_RESULTS, reportgen

from reportgen.cli import main
from reportgen.process.runner import Task
from reportgen.report.format import featured_run
from reportgen.store.results import ResultStore, make_record
from reportgen.testing import derive_run, parse_utc


def _stored_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the stored fixture results and the path of its one results file."""
    results = tmp_path / "results"
    shutil.copytree(FIXTURE_RESULTS, results)
    return results, next(results.glob("*/*.json"))


def _later(run: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    """The same run on the same machine, started ``delta`` later (a run id of its own)."""
    return derive_run(run, machine_id=run["machine_id"], started=parse_utc(run["started_at"]) + delta)


def _first(run: dict[str, Any], scenario: str) -> dict[str, Any]:
    return next(r for r in run["records"] if r["scenario"] == scenario and r["status"] == "ok" and r["samples"])


def _set_latency(value: float) -> Callable[[dict[str, Any]], None]:
    return lambda run: _first(run, "inference")["metrics"]["latency_ms_p50"].update(value=value)


# (how the run is spoiled, a literal put in the file's text instead of the first p50 latency, what the reason says)
BAD_VALUES = {
    "negative latency": (_set_latency(-0.01), None, "-0.01 ms is impossible (must be finite and > 0)"),
    "zero latency": (_set_latency(0.0), None, "0.0 ms is impossible"),
    "empty samples": (lambda run: _first(run, "inference")["samples"].update(latency_ms=[]), None,
                      "samples/latency_ms: [] should be non-empty"),
    "negative sample": (lambda run: _first(run, "inference")["samples"]["latency_ms"].__setitem__(0, -1.0), None,
                        "samples/latency_ms: holds -1.0, impossible"),
    "top-1 above 1": (lambda run: _first(run, "training")["metrics"]["final_top1"].update(value=1.5), None,
                      "final_top1: 1.5 fraction is impossible (must be finite and >= 0 and <= 1)"),
    "Infinity": (_set_latency(12345.678), "Infinity", "holds Infinity, not a finite number"),
    "NaN": (_set_latency(12345.678), "NaN", "holds NaN, not a finite number"),
    "1e400": (_set_latency(12345.678), "1e400", "holds 1e400, not a finite number"),
}


def _spoil(path: Path, how: str) -> None:
    """Rewrite the results file at ``path`` with one impossible value."""
    change, literal, _ = BAD_VALUES[how]
    run = json.loads(path.read_text())
    change(run)
    text = json.dumps(run, indent=1)
    if literal is not None:
        assert text.count("12345.678") == 1
        text = text.replace("12345.678", literal)
    path.write_text(text)


@pytest.mark.parametrize("how", list(BAD_VALUES))
def test_an_impossible_value_makes_a_results_file_unreadable_with_its_reason(tmp_path: Path, how: str) -> None:
    """A negative latency became Home's headline; Infinity passed merge and broke every later build (finding 3)."""
    results, stored = _stored_copy(tmp_path)
    _spoil(stored, how)
    loaded = ResultStore(results).load_all()
    assert loaded.runs == []
    (problem,) = loaded.problems
    assert problem.startswith(str(stored)) and BAD_VALUES[how][2] in problem and "\n" not in problem, problem


def test_merge_rejects_an_impossible_value_and_adds_the_good_files(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    source, stored = _stored_copy(tmp_path)
    (good,) = ResultStore(source).load_all().runs
    history = ResultStore(tmp_path / "history")
    kept = history.save(_later(good, timedelta(days=-1)))
    before = kept.read_bytes()
    other = ResultStore(source).save(_later(good, timedelta(hours=1)))
    _spoil(stored, "Infinity")
    rc = main(["merge", str(source), "--into", str(history.root)])
    out = capsys.readouterr()
    assert rc == 2, out
    assert f"rejected {stored}: holds Infinity" in out.out
    assert "1 added, 0 already there, 1 rejected" in out.out
    assert kept.read_bytes() == before  # nothing the history held is touched
    assert sorted(p.name for p in history.root.rglob("*.json")) == sorted([kept.name, other.name])


def test_build_and_export_skip_bad_and_misnamed_files_and_build_from_the_good_run(tmp_path: Path) -> None:
    """Every bad file at once: each named with its reason, the site built from the good run, no run twice
    (findings 2, 3, 5 and 6)."""
    results, stored = _stored_copy(tmp_path)
    (good,) = ResultStore(results).load_all().runs
    bad = {}
    for hours, how in enumerate(("negative latency", "Infinity", "NaN", "zero latency", "empty samples"), 1):
        run = _later(good, timedelta(hours=hours))
        bad[how] = ResultStore(results).save(run)
        _spoil(bad[how], how)
    copy = stored.with_name("copy.json")
    shutil.copy(stored, copy)
    deep = stored.with_name("20261201T000000Z-abcd.json")  # findings 6 and 2: too deep, a pipe, a link out
    deep.write_text("[" * 100_000 + "]" * 100_000)
    os.mkfifo(stored.with_name("pipe.json"))
    stored.with_name("link.json").symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text(stored.read_text())
    not_regular = "not a regular file (a link, pipe or device)"
    others = {deep: "nested too deeply to read", stored.with_name("pipe.json"): not_regular,
              stored.with_name("link.json"): not_regular}

    proc = reportgen("build", "--results-dir", str(results), "--site-dir", str(tmp_path / "site"), timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    for how, path in bad.items():
        assert f"skipped {path}: " in proc.stdout and BAD_VALUES[how][2] in proc.stdout, how
    assert f"skipped {copy}: holds run {good['run_id']}" in proc.stdout
    for path, reason in others.items():
        assert f"skipped {path}: {reason}" in proc.stdout, proc.stdout
    assert "(1 run(s))" in proc.stdout
    site = tmp_path / "site"
    assert good["run_id"] in (site / "index.html").read_text()
    hardware = (site / "hardware.html").read_text()
    assert all(path.name in hardware for path in bad.values()) and copy.name in hardware  # listed, with reasons
    offered = [p.name for p in site.rglob("*") if p.suffix in (".json", ".csv") and p.parent.name != "search"]
    assert [name for name in offered if name.endswith(".json")] == [stored.name], offered  # the good run, once

    proc = reportgen("export", "--results-dir", str(results), "--run", "all", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["run_id"] for r in rows} == {good["run_id"]}
    assert len(rows) == len({json.dumps(r, sort_keys=True) for r in rows})  # no row twice
    assert f"reportgen: skipped {copy}: holds run {good['run_id']}" in proc.stderr


def test_one_run_id_is_counted_once(tmp_path: Path) -> None:
    """A copy under another name, or under another machine's folder with its machine id edited (finding 5)."""
    results, stored = _stored_copy(tmp_path)
    shutil.copy(stored, stored.with_name("copy.json"))
    twin = json.loads(stored.read_text())
    twin["machine_id"] = "other-box-8c-32g-cpu-0a1b2c"
    (results / twin["machine_id"]).mkdir()
    (results / twin["machine_id"] / stored.name).write_text(json.dumps(twin))
    loaded = ResultStore(results).load_all()
    assert [r["run_id"] for r in loaded.runs] == [stored.stem]
    assert sorted(p.split(":")[0].split("/")[-1] for p in loaded.problems) == sorted(["copy.json", stored.name])
    assert any("is already read from" in p for p in loaded.problems)


@pytest.mark.parametrize("seed", ["99999999999999999999", "-1", "4294967296"])
def test_a_seed_the_frameworks_refuse_is_refused_up_front(tmp_path: Path, seed: str) -> None:
    """`--seed 99999999999999999999` made every task fail and the run exit 0 (finding 4)."""
    proc = reportgen("run", "--seed", seed, "--results-dir", str(tmp_path / "r"), "--site-dir",
                     str(tmp_path / "s"), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert "--seed: must be between 0 and 4294967295" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _fake_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              training: dict[str, Any], build: bool = False) -> tuple[int, str, dict[str, Any]]:
    """``reportgen run`` in this process with two fake tasks: a GEMM roof that succeeds, and a training task
    that returns ``training``; returns the exit status, standard error and the stored run. ``build``: build the
    site into ``tmp_path / "site"`` too."""
    from reportgen import hardware, scenarios
    from reportgen.process import envs
    from reportgen.run import pipeline

    (fixture,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    roof = Task(key="machine/numpy/sgemm", module="-", scenario="machine", framework="numpy", variant="sgemm",
                label="GEMM roof")
    train = Task(key="training/torch/eager", module="-", scenario="training", framework="torch", variant="eager",
                 label="Training", kind="training")
    records = {roof.key: make_record("machine", "numpy", "sgemm-2048", metrics={"gemm_gflops": 100.0},
                                     samples={"seconds": [0.1]}, settings={"task": roof.key}),
               train.key: {**training, "settings": {"task": train.key}}}
    monkeypatch.setenv(envs.ENVS_VARIABLE, envs.SINGLE)
    monkeypatch.setattr(hardware, "detect", lambda probe_cuda=True: fixture["machine"])
    monkeypatch.setattr(scenarios, "plan", lambda *args: [roof, train])
    monkeypatch.setattr(pipeline, "_run_one", lambda task, *args: [records[task.key]])
    site = ["--site-dir", str(tmp_path / "site")] if build else ["--no-build"]
    rc = main(["run", "--profile", "smoke", "--frameworks", "onnxruntime", *site, "--results-dir", str(tmp_path / "r")])
    (run,) = ResultStore(tmp_path / "r").load_all().runs
    return rc, capsys.readouterr().err, run


def test_a_run_with_only_a_roof_is_failed_exits_1_and_is_never_featured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the GEMM roofs succeeded: the run was `complete`, exited 0 and took Home from the good run (finding 4)."""
    failed = make_record("training", "torch", "eager", status="failed", reason="MemoryError: out of memory")
    rc, err, run = _fake_run(tmp_path, monkeypatch, capsys, failed)
    assert run["status"] == "failed"
    assert rc == 1 and err.count("\n") == 1 and f"run {run['run_id']} measured nothing" in err, err
    (good,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    assert featured_run([good, run]) is good
    stored_before = {**run, "status": "complete"}  # as the code before the rule stored such a run
    assert featured_run([good, stored_before]) is good
    interrupted = {**run, "status": "incomplete"}  # stopped after its roofs: stays shown, so resume can finish it
    assert featured_run([interrupted]) is interrupted


def test_a_run_its_own_pages_cannot_show_exits_1_and_keeps_its_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A quick run whose decision table divided by a capacity of 0 printed "Site: ... (0 run(s))" and exited 0: the
    bug showed only as a 'skipped' line. Now the run says so on standard error and exits 1; its file stays."""
    from reportgen.report.pages import home

    def broken(run: dict[str, Any], loaded: Any) -> dict[str, Any]:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(home, "context", broken)
    trained = make_record("training", "torch", "eager", batch_size=64,
                          metrics={"train_throughput_ips": 500.0, "final_loss": 0.5, "initial_loss": 2.3})
    rc, err, run = _fake_run(tmp_path, monkeypatch, capsys, trained, build=True)
    assert run["status"] == "complete" and rc == 1
    assert err.count("\n") == 1 and f"run {run['run_id']} is stored in" in err and "could not show it" in err, err


def test_an_impossible_measured_value_is_stored_as_a_failed_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A NaN loss from a diverged training is not stored as a number, nor does it stop the run."""
    diverged = make_record("training", "torch", "eager", batch_size=64,
                           metrics={"train_throughput_ips": 500.0, "final_loss": float("nan")})
    rc, _, run = _fake_run(tmp_path, monkeypatch, capsys, diverged)
    (rec,) = [r for r in run["records"] if r["scenario"] == "training"]
    assert rec["status"] == "failed" and rec["metrics"] == {}
    assert rec["reason"] == "measured an impossible value: metrics/final_loss: nan loss is impossible (must be " \
                            "finite and >= 0)"
    assert run["status"] == "failed" and rc == 1


def test_a_file_nested_too_deep_is_skipped_by_build_and_export_and_rejected_by_merge(tmp_path: Path) -> None:
    """A results file 100,000 levels deep raised RecursionError: merge stopped part-way, exit 1 (finding 6)."""
    results, stored = _stored_copy(tmp_path)
    deep = stored.with_name("20261201T000000Z-abcd.json")
    deep.write_text("[" * 100_000 + "]" * 100_000)
    reason = f"{deep}: nested too deeply to read"

    proc = reportgen("build", "--results-dir", str(results), "--site-dir", str(tmp_path / "site"))
    assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert f"skipped {reason}" in proc.stdout and "(1 run(s))" in proc.stdout, proc.stdout
    proc = reportgen("export", "--results-dir", str(results), "--run", "all", "--format", "csv")
    assert proc.returncode == 0 and f"reportgen: skipped {reason}" in proc.stderr, proc.stderr

    proc = reportgen("merge", str(results), "--into", str(tmp_path / "history"))
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()] == ["added", "rejected", "1"], proc.stdout
    assert f"rejected {reason}" in proc.stdout and "1 added, 0 already there, 1 rejected" in proc.stdout
    assert [p.name for p in (tmp_path / "history").rglob("*.json")] == [stored.name]
