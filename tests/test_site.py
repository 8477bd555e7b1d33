"""Building the site from stored results: empty, corrupt and failed cases keep the user whole."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import SmokeRun

from reportgen.errors import ReportgenError
from reportgen.report import site as site_module
from reportgen.report.escape import MD
from reportgen.report.format import fmt, md_table
from reportgen.report.site import build_site


def test_build_with_no_results_says_so(tmp_path: Path) -> None:
    loaded = build_site(tmp_path / "results", tmp_path / "site")
    assert loaded.runs == []
    index = (tmp_path / "site" / "index.html").read_text()
    assert "No results yet" in index
    assert (tmp_path / "site" / "schema.html").is_file()


def test_build_skips_corrupt_files_by_name(stored_run: SmokeRun, tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(stored_run.results, results)
    machine_dir = next(p for p in results.iterdir() if p.is_dir())  # not the run lock
    (machine_dir / "broken.json").write_text("{not json")
    loaded = build_site(results, tmp_path / "site")
    assert len(loaded.runs) == 1
    assert len(loaded.problems) == 1 and "broken.json" in loaded.problems[0]
    assert "broken.json" in (tmp_path / "site" / "hardware.html").read_text()


def test_failed_build_keeps_the_previous_site(stored_run: SmokeRun, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    shutil.copytree(stored_run.site, site)
    before = (site / "index.html").read_text()

    def broken_pages(loaded, docs_dir: Path) -> None:
        (docs_dir / "index.md").write_text("[a link to nowhere](missing-page.md)\n")

    monkeypatch.setattr(site_module, "write_pages", broken_pages)
    with pytest.raises(ReportgenError, match="site build failed, previous site kept"):
        build_site(stored_run.results, site)  # strict mode turns the broken link into a failure
    assert (site / "index.html").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no half-built site left behind


def test_build_never_measures(stored_run: SmokeRun, tmp_path: Path) -> None:
    before = json.dumps(sorted(str(p) for p in stored_run.results.rglob("*")))
    build_site(stored_run.results, tmp_path / "site")
    assert json.dumps(sorted(str(p) for p in stored_run.results.rglob("*"))) == before
    assert (tmp_path / "site" / "inference.html").is_file()


def test_table_helpers() -> None:
    assert fmt(None) == "–" and fmt(float("nan")) == "–"
    assert fmt(11689512, "count") == "11,689,512"
    assert fmt(12.345, "ms") == "12.3" and fmt(0.41574, "ms") == "0.416" and fmt(1234.5) == "1,234"
    assert md_table(["a", "b"], [["x|y", "1"]]) == "| a | b |\n|---|---|\n| x&#124;y | 1 |"  # escaped, not split
    assert md_table(["a"], [[MD("**b**")]]).endswith("| **b** |")  # Markdown composed by reportgen is kept


def test_404_links_from_the_published_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """404.html is served at any depth, so its links are absolute: from REPORTGEN_SITE_URL's path when set
    (GitHub Pages serves a project site under /<repo>/), from the host's root when not."""
    build_site(tmp_path / "results", tmp_path / "root")
    assert 'href="/assets/' in (tmp_path / "root" / "404.html").read_text()
    monkeypatch.setenv(site_module.SITE_URL_VARIABLE, "https://owner.github.io/reportgen")
    build_site(tmp_path / "results", tmp_path / "sub")
    page = (tmp_path / "sub" / "404.html").read_text()
    assert 'href="/reportgen/assets/' in page and 'href="/assets/' not in page
    assert 'href="assets/' in (tmp_path / "sub" / "index.html").read_text()  # the other pages stay relative


@pytest.mark.parametrize("url", ["/reportgen/", "owner.github.io/reportgen", "ftp://host/x/"])
def test_a_site_url_that_is_not_an_address_is_named(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(site_module.SITE_URL_VARIABLE, url)
    with pytest.raises(ReportgenError, match="REPORTGEN_SITE_URL=.* is not a full address"):
        build_site(tmp_path / "results", tmp_path / "site")
    assert not (tmp_path / "site").exists()
