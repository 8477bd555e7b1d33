"""Compare machines, History and Downloads, built from real runs on two machines (see ``history_site``)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import HistorySite, SmokeRun

from reportgen.report.format import label
from reportgen.report.frame import EXPORT_COLUMNS
from reportgen.report.pages import compare
from reportgen.report.site import build_site
from reportgen.store.results import ResultStore

SPEC = re.compile(r'<script type="application/json" id="([a-z0-9-]+)-spec">(.*?)</script>', re.S)


def batch1_series(run: dict[str, Any], scenario: str = "inference") -> set[str]:
    """The series a page should show for a run: its ok batch-1 records of ``scenario``."""
    return {label(r, device=False) for r in run["records"]
            if r["scenario"] == scenario and r["status"] == "ok" and r["batch_size"] == 1}


def chart_specs(page: Path) -> dict[str, dict[str, Any]]:
    """Every chart's Plotly spec on a built page, by chart id."""
    return {chart_id: json.loads(text) for chart_id, text in SPEC.findall(page.read_text(encoding="utf-8"))}


def page_text(page: Path) -> str:
    """A built page's text without tags (code blocks are split into highlighted spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def links(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.hrefs


def test_compare_shows_both_machines_relative_to_the_reference(history_site: HistorySite) -> None:
    base, other = history_site.base["machine_id"], history_site.other_machine
    page = history_site.site / "compare.html"
    text = page_text(page)
    assert f"{base} (reference)" in text and other in text and "Other CPU 8-core" in text
    # the latest complete run of each machine, and the command that reproduces each of them
    assert history_site.base["run_id"] in text and "reportgen run --profile smoke" in text
    specs = chart_specs(page)
    assert set(specs) == {"compare-latency-ms-p50", "compare-throughput-ips", "compare-cold-start-s"}
    for chart_id, scenario, ratio in (("compare-latency-ms-p50", "inference", 0.5),
                                      ("compare-throughput-ips", "inference", 2.0),
                                      ("compare-cold-start-s", "startup", 0.5)):
        ref, machine = specs[chart_id]["data"]
        assert ref["name"] == base and machine["name"] == other and ref["type"] == "bar"
        assert set(ref["y"]) == batch1_series(history_site.base, scenario)  # a bar per framework and variant
        assert machine["x"] == pytest.approx([ratio * x for x in ref["x"]])
        assert machine["customdata"] == [f"{ratio:.2f}×"] * len(ref["y"])
    assert "(0.50×)" in text and "(2.00×)" in text  # the tables say it too


def test_compare_reference_can_be_another_machine(history_site: HistorySite) -> None:
    loaded = ResultStore(history_site.results).load_all()
    ctx = compare.context(loaded.runs[-1], loaded, reference=history_site.other_machine)
    assert ctx["reference"] == history_site.other_machine and ctx["n_machines"] == 2
    table = html.unescape(ctx["sections"][0]["table"])  # cells are escaped Markdown; read them as the page shows
    assert table.splitlines()[0].startswith(f"| framework (variant) | {history_site.other_machine} (ref")
    assert "(2.00×)" in table  # the smoke run's machine is twice as slow as the other one


def test_history_draws_each_machines_runs_in_order(history_site: HistorySite) -> None:
    base, other = history_site.base["machine_id"], history_site.other_machine
    page = history_site.site / "history.html"
    specs = chart_specs(page)
    assert list(specs) == [f"history-{base}", f"history-ratio-{base}"]  # the other machine has one run: no chart
    traces = specs[f"history-{base}"]["data"]
    assert {t["name"] for t in traces} == batch1_series(history_site.base)
    for trace in traces:
        run_ids = [c[0] for c in trace["customdata"]]
        assert len(trace["x"]) == len(trace["y"]) == 3 and trace["x"] == sorted(trace["x"])
        factors = [history_site.factors[r] for r in run_ids]
        assert factors == [1.25, 0.8, 1.0]  # oldest first
        assert [y / f for y, f in zip(trace["y"], factors, strict=True)] == pytest.approx([trace["y"][2]] * 3)
        assert all(c[1] != "–" for c in trace["customdata"])  # the IQR is in the hover
    assert f'<h2 id="{other}">' in page.read_text(encoding="utf-8")
    assert "a history needs at least 2" in page_text(page)


def test_downloads_link_to_real_files_in_the_site(history_site: HistorySite) -> None:
    site = history_site.site
    hrefs = [h for h in links(site / "downloads.html") if h.startswith("downloads/")]
    assert len(hrefs) == 2 * len(history_site.factors) + 1
    for href in hrefs:
        path = (site / href).resolve()
        assert path.is_relative_to(site.resolve()) and path.is_file(), href
    for run_file in history_site.results.glob("*/*.json"):
        published = site / "downloads" / run_file.parent.name / run_file.name
        assert published.read_bytes() == run_file.read_bytes()  # the raw results file, byte for byte
        rows = list(csv.DictReader(io.StringIO(published.with_suffix(".csv").read_text(encoding="utf-8"))))
        assert list(rows[0]) == EXPORT_COLUMNS and {r["run_id"] for r in rows} == {run_file.stem}
    all_rows = list(csv.DictReader((site / "downloads" / "all-runs.csv").open(encoding="utf-8")))
    assert {r["run_id"] for r in all_rows} == set(history_site.factors)
    assert {r["machine"] for r in all_rows} == {history_site.base["machine_id"], history_site.other_machine}


def test_one_machine_explains_how_to_add_another(stored_run: SmokeRun) -> None:
    text = page_text(stored_run.site / "compare.html")
    assert "Only one machine so far" in text and "results/<machine-id>/" in text and "reportgen build" in text
    assert not chart_specs(stored_run.site / "compare.html")
    assert "a history needs at least 2" in page_text(stored_run.site / "history.html")


def test_no_results_no_downloads(tmp_path: Path) -> None:
    build_site(tmp_path / "results", tmp_path / "site")
    for page in ("compare.html", "history.html", "downloads.html"):
        assert "No results yet" in page_text(tmp_path / "site" / page)
    assert not (tmp_path / "site" / "downloads").exists()


def test_inference_says_why_its_rounds_stopped_in_a_sentence_of_its_own(stored_run: SmokeRun) -> None:
    text = " ".join(page_text(stored_run.site / "inference.html").split())
    assert "Rounds: 1 round(s) of batch-1 timing, the profile's maximum (extra rounds" in text
    assert "beside the reference). Memory:" in text  # not run together with the next sentence


def test_training_scaling_text_keeps_its_sentences_apart(stored_run: SmokeRun) -> None:
    text = " ".join(page_text(stored_run.site / "training.html").split())
    assert "on the first 256 training images" in text
    assert "not a training to convergence. On one CPU machine" in text
