"""The publish side on the stored smoke run (``tests/fixtures``): export contract and an offline site."""

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from conftest import SmokeRun, reportgen

from reportgen import catalog

FRAMEWORKS = {"torch", "tensorflow", "keras-jax", "keras-torch", "onnxruntime", "openvino"}
EXPORT_COLUMNS = ["run_id", "machine", "scenario", "framework", "variant", "device", "precision", "batch_size",
                  "metric", "value", "unit", "status"]


def test_export_csv_has_the_contract_columns(stored_run: SmokeRun) -> None:
    proc = reportgen("export", "--results-dir", str(stored_run.results), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert list(rows[0])[: len(EXPORT_COLUMNS)] == EXPORT_COLUMNS and "reason" in rows[0]
    p50 = {r["framework"] for r in rows if r["metric"] == "latency_ms_p50" and r["status"] == "ok"}
    # the browser (ONNX Runtime Web) has rows only where the stored run had Chromium and the npm runtime
    assert p50 - {catalog.BROWSER_RUNTIME} == FRAMEWORKS | {"tflite"}
    assert all(float(r["value"]) > 0 for r in rows if r["metric"] == "latency_ms_p50")


def test_export_json_and_markdown(stored_run: SmokeRun, tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    proc = reportgen("export", "--results-dir", str(stored_run.results), "--run", "all", "--format", "json",
                     "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())
    assert {"metric", "value", "unit", "status", "reason"} <= set(rows[0])
    md = reportgen("export", "--results-dir", str(stored_run.results), "--format", "markdown").stdout
    assert md.splitlines()[0].startswith("|") and "latency_ms_p50" in md


class _Loads(HTMLParser):
    """Collects every URL a page would fetch by itself (scripts, styles, images, fonts, frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("href") and (a.get("rel") or "") not in ("canonical", "alternate"):
            self.urls.append(a["href"])


def external_loads(html: str) -> list[str]:
    parser = _Loads()
    parser.feed(html)
    urls = parser.urls + re.findall(r"url\(\s*['\"]?([^)'\"]+)", html)
    return [u for u in urls if re.match(r"(https?:)?//", u)]


def test_the_network_check_catches_what_it_should() -> None:
    page = ('<link rel="preconnect" href="https://fonts.gstatic.com"><script src="//cdn.x/p.js"></script>'
            '<a href="https://example.org">ok</a><style>@font-face{src:url("https://f/x.woff2")}</style>')
    assert external_loads(page) == ["https://fonts.gstatic.com", "//cdn.x/p.js", "https://f/x.woff2"]


def test_site_loads_nothing_from_the_network(stored_run: SmokeRun) -> None:
    offenders = []
    for path in stored_run.site.rglob("*"):
        if path.suffix in (".html", ".css"):
            offenders += [f"{path.name}: {u}" for u in external_loads(path.read_text(errors="replace"))]
    assert offenders == []
    assert (stored_run.site / "javascripts" / "plotly.min.js").stat().st_size > 1_000_000  # shipped once, offline
