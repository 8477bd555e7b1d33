"""``reportgen merge``: new files added, identical ones skipped, nothing in the history ever replaced or lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reportgen.cli import main
from reportgen.store.merge import _write_new, merge_results
from reportgen.store.results import SCHEMA_VERSION, ResultStore, make_record

MACHINE_A = "box-a-2c-4g-cpu-aaaaaa"
MACHINE_B = "box-b-8c-32g-cpu-bbbbbb"


def make_run(machine: str, run_id: str = "20261125T033000Z-1a2b", latency: float = 12.5) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "machine_id": machine, "status": "complete",
        "started_at": "2026-11-25T03:30:00Z", "finished_at": "2026-11-25T03:40:00Z", "reportgen_version": "0",
        "command": ["reportgen", "run"], "seed": 0, "options": {"frameworks": ["torch"], "device": "cpu", "threads": 2},
        "profile": {"name": "smoke"}, "machine": {},
        "records": [make_record("inference", "torch", "eager", batch_size=1, metrics={"latency_ms_p50": latency})],
    }


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones included), by relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def merge(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    rc = main(["merge", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_new_files_are_added_from_results_folders_and_artifact_folders(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    a, b = make_run(MACHINE_A), make_run(MACHINE_B, "20261126T010203Z-00ff")
    src_a = ResultStore(tmp_path / "results").save(a)  # laid out like results/
    src_b = ResultStore(tmp_path / "downloaded" / "results-1").save(b)  # a folder of downloaded artifacts
    (src_a.parent / f"{a['run_id']}.work" / "logs").mkdir(parents=True)  # an unfinished run's working folder
    (src_a.parent / f"{a['run_id']}.work" / "logs" / "task.records.json").write_text("[]")
    (tmp_path / "results" / ".hidden.json").write_text("{}")
    history = tmp_path / "history"
    rc, out = merge(capsys, tmp_path / "results", tmp_path / "downloaded", "--into", history)
    assert rc == 0, out
    assert snapshot(history) == {f"{MACHINE_A}/{a['run_id']}.json": src_a.read_bytes(),
                                 f"{MACHINE_B}/{b['run_id']}.json": src_b.read_bytes()}  # byte for byte, no temp left
    assert ResultStore(history).load_all().runs == [a, b]
    assert [line.split()[0] for line in out.splitlines()] == ["added", "added", "2"], out
    assert "2 added, 0 already there, 0 rejected" in out


def test_identical_file_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(MACHINE_A)
    ResultStore(tmp_path / "src").save(run)
    history = tmp_path / "history"
    dest = ResultStore(history).save(run)
    dest.write_text(json.dumps(run, indent=4))  # the same run, written with other whitespace
    before = snapshot(history)
    rc, out = merge(capsys, tmp_path / "src", "--into", history)
    assert rc == 0, out
    assert snapshot(history) == before
    assert "0 added, 1 already there, 0 rejected" in out and "skipped" in out


def test_conflicting_file_is_an_error_naming_both_and_the_history_is_unchanged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history"
    kept = ResultStore(history).save(make_run(MACHINE_A, latency=12.5))
    src = ResultStore(tmp_path / "src").save(make_run(MACHINE_A, latency=99.0))  # same name, other numbers
    new = ResultStore(tmp_path / "src").save(make_run(MACHINE_B))
    before = kept.read_bytes()
    rc, out = merge(capsys, tmp_path / "src", "--into", history)
    assert rc == 2
    assert kept.read_bytes() == before
    rejected = [line for line in out.splitlines() if line.startswith("rejected")]
    assert len(rejected) == 1 and str(src) in rejected[0] and str(kept) in rejected[0], out
    assert (history / MACHINE_B / new.name).read_bytes() == new.read_bytes()  # the fine file still goes in
    assert "1 added, 0 already there, 1 rejected" in out


@pytest.mark.parametrize(("name", "content", "match"), [
    ("20261125T033000Z-1a2b.json", "{not json", "not valid JSON"),
    ("20261125T033000Z-1a2b.json", json.dumps({**make_run(MACHINE_A), "status": "done"}), "status"),
    ("20261125T033000Z-9999.json", json.dumps(make_run(MACHINE_A)), "should be at"),  # misnamed
])
def test_invalid_file_is_rejected_and_nothing_is_lost(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      name: str, content: str, match: str) -> None:
    history = tmp_path / "history"
    stored = ResultStore(history).save(make_run(MACHINE_B, "20261101T000000Z-0000"))
    before = snapshot(history)
    bad = tmp_path / "src" / MACHINE_A / name
    bad.parent.mkdir(parents=True)
    bad.write_text(content)
    good = ResultStore(tmp_path / "src").save(make_run(MACHINE_B, "20261102T000000Z-0001"))
    rc, out = merge(capsys, tmp_path / "src", "--into", history)
    assert rc == 2
    assert "rejected" in out and str(bad) in out and match in out
    after = snapshot(history)
    assert {k: after[k] for k in before} == before and stored.is_file()  # what was there is still there
    assert set(after) == set(before) | {f"{MACHINE_B}/{good.name}"}  # the bad file was not added


def test_a_file_at_the_wrong_depth_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "20261125T033000Z-1a2b.json").write_text(json.dumps(make_run(MACHINE_A)))
    rc, out = merge(capsys, src, "--into", tmp_path / "history")
    assert rc == 2 and "not laid out as <machine-id>/<run-id>.json" in out
    assert not (tmp_path / "history").exists() or not snapshot(tmp_path / "history")


def test_a_missing_source_adds_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ResultStore(tmp_path / "src").save(make_run(MACHINE_A))
    rc, out = merge(capsys, tmp_path / "src", tmp_path / "nope", "--into", tmp_path / "history")
    assert rc == 2
    assert out.strip() == f"reportgen: error: {tmp_path / 'nope'}: no such results folder"
    assert not (tmp_path / "history").exists()


def test_paths_are_printed_literally_not_as_markup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "[bold]src[/]"
    ResultStore(src).save(make_run(MACHINE_A))
    (src / MACHINE_A / "20261125T033000Z-ffff.json").write_text("[/red] not json")
    rc, out = merge(capsys, src, "--into", tmp_path / "[red]history")
    assert rc == 2
    assert f"{tmp_path}/[red]history/{MACHINE_A}/20261125T033000Z-1a2b.json (from {src}/" in out
    assert f"{src}/{MACHINE_A}/20261125T033000Z-ffff.json: not valid JSON" in out


def test_the_write_never_replaces_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    src, dest = tmp_path / "src.json", tmp_path / "history" / "dest.json"
    src.write_text("new")
    dest.parent.mkdir()
    dest.write_text("old")
    assert _write_new(src, dest) is False
    assert dest.read_text() == "old" and [p.name for p in dest.parent.iterdir()] == ["dest.json"]


def test_merge_results_reports_each_file(tmp_path: Path) -> None:
    run = make_run(MACHINE_A)
    src = ResultStore(tmp_path / "src").save(run)
    first = merge_results([tmp_path / "src"], tmp_path / "history")
    again = merge_results([tmp_path / "src"], tmp_path / "history")
    dest = tmp_path / "history" / MACHINE_A / src.name
    assert (first.added, first.skipped, first.rejected) == ([(src, dest)], [], [])
    assert (again.added, again.skipped, again.rejected) == ([], [(src, dest)], [])
