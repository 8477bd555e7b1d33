"""Users' published histories hold results files of every schema version: a version-1 file (stored before the
settings vocabulary, issue 46) still builds into the same pages, a file of a later version is refused by name."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import FIXTURE_RESULTS

from reportgen.report import findings
from reportgen.report.format import fmt, metric
from reportgen.report.site import build_site
from reportgen.store.results import SCHEMA_VERSION, ResultStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_fixture import checksum_lines  # noqa: E402

V1 = Path(__file__).parent / "fixtures" / "v1"


def test_the_version_1_fixture_is_a_real_run_unedited() -> None:
    assert checksum_lines(V1 / "results") == (V1 / "results.sha256").read_text(encoding="utf-8")


def test_a_version_1_file_builds_and_its_pages_show_its_numbers(tmp_path: Path) -> None:
    loaded = ResultStore(V1 / "results").load_all()
    assert loaded.problems == []
    (run,) = loaded.runs
    assert run["schema_version"] == 1
    build_site(V1 / "results", tmp_path / "site")  # a strict MkDocs build
    page = (tmp_path / "site" / "inference.html").read_text()
    medians = [fmt(metric(r, "latency_ms_p50"), "ms") for r in findings.batch1(run)]
    assert medians and all(m in page for m in medians), medians


def test_the_current_fixture_is_the_current_version_and_a_later_one_is_refused(tmp_path: Path) -> None:
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    assert run["schema_version"] == SCHEMA_VERSION == 2
    later = tmp_path / "r" / run["machine_id"] / f"{run['run_id']}.json"
    later.parent.mkdir(parents=True)
    later.write_text(json.dumps({**run, "schema_version": SCHEMA_VERSION + 1}))
    (problem,) = ResultStore(tmp_path / "r").load_all().problems
    assert f"written with results schema {SCHEMA_VERSION + 1}, this reportgen reads up to {SCHEMA_VERSION}" in problem
