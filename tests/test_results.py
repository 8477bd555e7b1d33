"""The results schema and store: round trip, validation, atomic writes, unreadable files."""

import copy
import errno
import json
import os
from pathlib import Path

import pytest

from reportgen.errors import ReportgenError
from reportgen.store.results import (
    SCHEMA_VERSION,
    ResultsFileError,
    ResultStore,
    make_record,
    new_run_id,
    utc_now,
    validate_run,
)


def make_run(machine: str = "test-machine-2c-1g-cpu-abcdef", records: list | None = None) -> dict:
    return {
        "schema_version": SCHEMA_VERSION, "run_id": new_run_id(), "machine_id": machine,
        "status": "complete", "started_at": utc_now(), "finished_at": utc_now(), "reportgen_version": "0",
        "command": ["reportgen", "run"], "seed": 0,
        "options": {"frameworks": ["torch"], "device": "cpu", "threads": 2},
        "profile": {"name": "smoke"}, "machine": {},
        "records": records if records is not None else [
            make_record("inference", "torch", "eager", batch_size=1,
                        metrics={"latency_ms_p50": 12.5, "throughput_ips": 80.0},
                        samples={"latency_ms": [12.0, 12.5, 13.0]}, settings={"threads": {"torch": 2}}),
            make_record("inference", "tensorflow", "graph", status="skipped", reason="not installed"),
        ],
    }


def test_round_trip(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    run = make_run()
    path = store.save(run)
    assert path == tmp_path / run["machine_id"] / f"{run['run_id']}.json"
    assert store.load(path) == run
    assert store.load_all().runs == [run]
    assert store.find(run["run_id"]) == run


def test_record_units_come_from_the_metric_table() -> None:
    rec = make_record("inference", "torch", "eager", metrics={"latency_ms_p50": 1})
    assert rec["metrics"]["latency_ms_p50"] == {"value": 1.0, "unit": "ms"}
    with pytest.raises(ValueError, match="unknown metric name"):
        make_record("inference", "torch", "eager", metrics={"latency": 1})
    with pytest.raises(ValueError, match="needs a reason"):
        make_record("inference", "torch", "eager", status="failed")


def _broken(mutate) -> dict:
    run = make_run()
    mutate(run)
    return run


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["records"][0]["metrics"].update(speed={"value": 1, "unit": "x"}), "unknown metric 'speed'"),
        (lambda r: r["records"][0]["metrics"]["latency_ms_p50"].update(unit="s"), "unit 's', expected 'ms'"),
        (lambda r: r["records"][1].update(reason=None), "needs a reason"),
        (lambda r: r["records"][0].update(status="great"), "records/0/status"),
        (lambda r: r["records"][0].update(device="tpu"), "records/0/device"),
        (lambda r: r.pop("machine_id"), "'machine_id' is a required property"),
        (lambda r: r.update(run_id="../../etc"), "run_id"),
        (lambda r: r["records"][0]["samples"].update(latency_ms=["fast"]), "samples/latency_ms/0"),
    ],
)
def test_validation_names_the_problem(mutate, message: str) -> None:
    with pytest.raises(ResultsFileError, match=message.replace("(", r"\(")):
        validate_run(_broken(mutate))


def test_newer_schema_gets_a_clear_message() -> None:
    with pytest.raises(ResultsFileError, match=f"schema {SCHEMA_VERSION + 1}.*upgrade reportgen"):
        validate_run({**make_run(), "schema_version": SCHEMA_VERSION + 1})


def test_save_refuses_invalid_run_and_keeps_old_file(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    run = make_run()
    path = store.save(run)
    bad = copy.deepcopy(run)
    bad["records"][0]["metrics"]["nonsense"] = {"value": 1, "unit": "x"}
    with pytest.raises(ResultsFileError):
        store.save(bad)
    assert store.load(path) == run


def test_crash_mid_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path)
    run = make_run()
    path = store.save(run)
    updated = copy.deepcopy(run)
    updated["status"] = "incomplete"

    def die_before_the_data_is_on_disk(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", die_before_the_data_is_on_disk)
    with pytest.raises(KeyboardInterrupt):
        store.save(updated)
    monkeypatch.undo()
    assert store.load(path) == run
    assert os.listdir(path.parent) == [path.name]


def test_full_disk_is_a_one_line_error_and_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path)
    run = make_run()
    path = store.save(run)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(ReportgenError, match="cannot write results file .*No space left on device"):
        store.save({**run, "status": "incomplete"})
    monkeypatch.undo()
    assert store.load(path) == run
    assert os.listdir(path.parent) == [path.name]


def test_corrupt_and_foreign_files_are_reported_by_name_and_skipped(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    good = make_run()
    store.save(good)
    folder = tmp_path / good["machine_id"]
    (folder / "truncated.json").write_text('{"schema_version": 1, "run_id": "x", "rec')
    (folder / "foreign.json").write_text(json.dumps({"name": "package.json"}))
    (folder / "future.json").write_text(json.dumps({**make_run(), "schema_version": 99}))
    loaded = store.load_all()
    assert loaded.runs == [good]
    assert len(loaded.problems) == 3
    text = "\n".join(loaded.problems)
    assert "truncated.json: not valid JSON" in text
    assert "foreign.json: not a reportgen results file" in text
    assert "future.json: written with results schema 99" in text


def test_runs_sort_oldest_first(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    first, second = make_run(), make_run(machine="other-machine-abc")
    first["started_at"], second["started_at"] = "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"
    store.save(first)
    store.save(second)
    assert [r["run_id"] for r in store.load_all().runs] == [second["run_id"], first["run_id"]]
