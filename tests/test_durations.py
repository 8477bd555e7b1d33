"""README's table of durations is generated from ``docs/durations.csv`` by ``scripts/durations.py``."""

from __future__ import annotations

import csv
import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("durations_script", ROOT / "scripts" / "durations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


durations = _load()
XEON = "2-core Intel Xeon (AMX)"
EPYC = "2-core AMD EPYC (AVX-512)"


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(durations.FIELDS)
        writer.writerows(rows)


def test_readme_table_is_the_rendered_log() -> None:
    """A hand edit of README's table, or a log row added without `render`, fails here."""
    assert durations.render(ROOT / "README.md", ROOT / "docs" / "durations.csv", check=True), \
        "README's durations table differs from docs/durations.csv: run `.venv/bin/python scripts/durations.py render`"


def test_committed_log_is_well_formed() -> None:
    rows = durations.read_rows(ROOT / "docs" / "durations.csv")
    assert rows
    for row in rows:
        assert date.fromisoformat(row["date"]) and row["machine"] and row["command"] and row["state"], row
        assert 0 < float(row["minutes"]) < 600, row


def test_render_takes_the_most_recent_date_per_command_and_machine(tmp_path: Path) -> None:
    log, readme = tmp_path / "durations.csv", tmp_path / "README.md"
    _write(log, [
        ["2026-12-01", EPYC, "make report", "fresh clone", "30", "old code"],
        ["2026-12-02", EPYC, "make report", "fresh clone", "17.2", ""],
        ["2026-12-02", EPYC, "make report", "fresh clone", "15", ""],
        ["2026-12-03", XEON, "make fast-test", "installed checkout", "1.0833", ""],
        ["2026-12-03", XEON, "make fast-test", "installed checkout", "1.2833", ""],
        ["2026-12-03", XEON, "reportgen build", "100 stored runs", "0.17", ""],
    ])
    readme.write_text(f"# title\n\nbefore\n{durations.START}\n| stale |\n{durations.END}\nafter\n", encoding="utf-8")
    assert not durations.render(readme, log)  # it was out of date, and is rewritten
    assert readme.read_text(encoding="utf-8") == (
        f"# title\n\nbefore\n{durations.START}\n"
        f"| command | started from | {XEON} | {EPYC} |\n"
        "|---|---|---|---|\n"
        "| `make report` | fresh clone | — | 15.0–17.2 min (2 runs, 2026-12-02) |\n"
        "| `make fast-test` | installed checkout | 65–77 s (2 runs, 2026-12-03) | — |\n"
        "| `reportgen build` | 100 stored runs | 10.2 s (1 run, 2026-12-03) | — |\n"
        f"{durations.END}\nafter\n")
    assert durations.render(readme, log, check=True)
    assert durations.main(["--csv", str(log), "render", "--readme", str(readme), "--check"]) == 0
    readme.write_text(readme.read_text(encoding="utf-8").replace("65–77 s", "60–70 s"), encoding="utf-8")
    assert durations.main(["--csv", str(log), "render", "--readme", str(readme), "--check"]) == 1


def test_render_needs_both_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n{durations.START}\nno end\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="expected one"):
        durations.render(readme, tmp_path / "none.csv")


def test_record_appends_a_row(tmp_path: Path) -> None:
    log = tmp_path / "durations.csv"
    _write(log, [["2026-12-01", EPYC, "make test", "installed checkout", "8.8", "earlier"]])
    status, row = durations.record(["true"], log, state="fresh clone", note="a trivial command")
    assert status == 0
    rows = durations.read_rows(log)
    assert len(rows) == 2 and rows[0]["note"] == "earlier" and rows[1] == row
    assert row["date"] == date.today().isoformat()
    assert row["machine"] == durations.machine_class()
    assert row["command"] == "true" and row["state"] == "fresh clone" and row["note"] == "a trivial command"
    assert 0 <= float(row["minutes"]) < 0.5


def test_record_keeps_failed_commands_out(tmp_path: Path) -> None:
    log = tmp_path / "new.csv"
    assert durations.main(["--csv", str(log), "record", "--", "false"]) == 1
    assert not log.exists()
    assert durations.main(["--csv", str(log), "record", "--label", "make report", "--", "true"]) == 0
    [row] = durations.read_rows(log)  # a new file gets its header
    assert row["command"] == "make report" and row["state"] == durations.DEFAULT_STATE


def test_machine_class_and_command_label() -> None:
    epyc = {"cpu": {"model": "AMD EPYC 9B45 64-Core Processor", "architecture": "x86_64", "available_cores": 2,
                    "simd": ["avx2", "avx512f"]}, "gpus": []}
    xeon = {"cpu": {"model": "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", "architecture": "x86_64",
                    "available_cores": 16, "simd": ["avx512f", "amx_tile"]},
            "gpus": [{"name": "NVIDIA H200"}]}
    assert durations.machine_class(epyc) == EPYC
    assert durations.machine_class(xeon) == "16-core Intel Xeon (AMX) + 1x H200"
    assert durations.command_label([".venv/bin/reportgen", "run", "--profile", "smoke"]) == \
        "reportgen run --profile smoke"
    assert durations.command_label(["bash", ".ci/run"]) == "bash .ci/run"
