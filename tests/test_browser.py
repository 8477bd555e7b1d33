"""The built site in headless Chromium, served at ``/`` and under a sub-path as GitHub Pages does.

Every generated HTML page must load without a console error, a failed request or a request to
another host, and every chart must render, in light mode and again after switching to dark mode.
Skips when Playwright or Chromium is missing (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import HistorySite

from reportgen import web

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # the test extra is not installed: the test skips
    sync_playwright = None

pytestmark = pytest.mark.slow  # a real browser: a minute or two on 2 cores

CHROMIUM = (os.environ.get("REPORTGEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
            or shutil.which("google-chrome") or "/usr/bin/chromium")
PREFIXES = ["/", "/reportgen/"]
CHARTS_DRAWN = """() => [...document.querySelectorAll("div.rg-chart")].every(
    el => el.dataset.rendered === "true" && el.querySelector(".plot-container"))"""
FIRST_TICK_FILL = """() => { const t = document.querySelector("div.rg-chart .xtick text, div.rg-chart .ytick text");
    return t ? getComputedStyle(t).fill : null; }"""


serve = web.static_server  # the built site at / or under a sub-path, as GitHub Pages serves it


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if sync_playwright is None:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set REPORTGEN_CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def _watch(page: Any, origin: str, problems: list[str]) -> None:
    """Record console errors, page errors, failed requests and requests to any other origin."""
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    # ERR_ABORTED is the browser cancelling a request as it leaves the page (a late favicon fetch, say); a
    # missing file still shows up as its HTTP status, and every other network error is reported
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url} ({req.failure})")
            if req.failure != "net::ERR_ABORTED" else None)
    page.on("response", lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}")
            if resp.status >= 400 else None)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or url.startswith(origin + "/"):
            route.continue_()
        else:
            problems.append(f"request to another host: {url}")
            route.abort()

    page.route("**/*", route)


def _charts_drawn(page: Any, when: str, problems: list[str]) -> bool:
    try:
        page.wait_for_function(CHARTS_DRAWN, timeout=10_000)
        return True
    except PlaywrightTimeout:  # the page's own errors, if any, are already recorded
        problems.append(f"charts not rendered ({when})")
        return False


def check_page(page: Any, url: str, problems: list[str]) -> int:
    """Load ``url`` and check its charts in light, then in dark mode; return how many charts it has."""
    page.goto(url, wait_until="load")
    charts = page.locator("div.rg-chart").count()
    if charts and _charts_drawn(page, "light", problems):
        light = page.evaluate(FIRST_TICK_FILL)
        page.evaluate("() => document.querySelectorAll('div.rg-chart').forEach(el => delete el.dataset.rendered)")
        page.locator('label[title="Switch to dark mode"]').click()
        page.wait_for_selector('body[data-md-color-scheme="slate"]', timeout=5_000)
        if _charts_drawn(page, "dark", problems) and page.evaluate(FIRST_TICK_FILL) == light:
            problems.append(f"chart text kept its light-mode colour {light} in dark mode")
    page.wait_for_load_state("networkidle")  # late requests (search index, sitemap) are checked too
    return charts


def check_instant_navigation(page: Any, base: str, problems: list[str]) -> None:
    """From the home page, follow the nav link to Compare machines: its charts must draw after the swap."""
    page.goto(base + "index.html", wait_until="load")
    page.locator('.md-sidebar--primary a.md-nav__link[href$="compare.html"]').click()
    page.wait_for_url(base + "compare.html")
    _charts_drawn(page, "after instant navigation", problems)
    page.wait_for_load_state("networkidle")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in light mode whose palette choice is forgotten on every navigation."""
    context = browser.new_context(color_scheme="light", viewport={"width": 1280, "height": 900})
    context.add_init_script("localStorage.clear()")
    yield context.new_page()
    context.close()


def _pages(site: Path, prefix: str) -> list[str]:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    # 404.html links from the root of the host unless REPORTGEN_SITE_URL names the published address (this
    # site is built without it); test_the_404_page_works_under_the_published_sub_path covers the other case.
    return [p for p in pages if prefix == "/" or p != "404.html"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_page_loads_cleanly_and_draws_its_charts(page: Any, history_site: HistorySite, prefix: str) -> None:
    pages = _pages(history_site.site, prefix)
    assert {"index.html", "compare.html", "history.html", "downloads.html", "inference.html"} <= set(pages)
    problems: list[str] = []
    charts = {}
    with serve(history_site.site, prefix) as base:
        _watch(page, base.removesuffix(prefix), problems)
        for rel in pages:
            before = len(problems)
            charts[rel] = check_page(page, base + rel, problems)
            problems[before:] = [f"{rel}: {p}" for p in problems[before:]]
        check_instant_navigation(page, base, problems)
    assert not problems, "\n".join(problems)
    # the multi-machine site has something to draw on every results page
    assert charts["compare.html"] == 3 and charts["history.html"] == 2 and charts["index.html"] >= 1  # + speed-ups


HOSTILE = ("<script>window.__pwned='script'</script> <img src=x onerror=\"window.__pwned='img'\"> "
           "'quotes\" `back`ticks` a|pipe [click](javascript:window.__pwned='link') **bold** $x$ :smile: "
           "{: onclick=\"window.__pwned='attr'\"}\n--8<-- \"README.md\"")
SHOWN = HOSTILE.replace("\n", " ")  # how a reader must see it: as written, on one line
RESULT_PAGES = ["index.html", "scorecard.html", "inference.html", "training.html", "parity.html", "hardware.html",
                "compare.html", "history.html", "downloads.html", "schema.html"]


def hostile_run(base: dict) -> dict:
    """The smoke run with text from outside everywhere a results file carries it."""
    import copy

    run = copy.deepcopy(base)
    run["machine"]["cpu"]["model"] = HOSTILE
    run["machine"]["os"] = HOSTILE
    run["machine"]["libraries"]["torch"] = HOSTILE
    run["command"] = ["reportgen", "run", "--seed", HOSTILE]
    run["profile"]["name"] = HOSTILE
    for rec in run["records"]:
        if rec["framework"] == "torch" and rec["variant"] == "channels_last":
            rec["variant"] = HOSTILE  # a label on tables and charts
        if rec["scenario"] == "inference" and rec["framework"] == "tflite" and rec["status"] == "ok":
            rec.update(status="failed", reason=HOSTILE, metrics={}, samples={})
    return run


def test_text_from_results_files_never_runs_and_reads_as_written(page: Any, stored_run: Any, tmp_path: Path) -> None:
    """A reason `<img src=x onerror=alert(1)>` used to run in every reader's browser (stored XSS)."""
    from reportgen.report.site import build_site
    from reportgen.store.results import ResultStore

    (base,) = ResultStore(stored_run.results).load_all().runs
    ResultStore(tmp_path / "results").save(hostile_run(base))
    build_site(tmp_path / "results", tmp_path / "site")
    for html_file in (tmp_path / "site").rglob("*.html"):  # the downloads (.json, .csv) are data, not pages
        text = html_file.read_text()
        for raw in ("<script>window.__pwned", "<img src=x", 'onclick="window.__pwned', "](javascript:"):
            assert raw not in text, f"{html_file.name} holds {raw!r} unescaped"
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with serve(tmp_path / "site", "/reportgen/") as base_url:
        _watch(page, base_url.removesuffix("/reportgen/"), problems)
        seen = {}
        for rel in RESULT_PAGES:
            page.goto(base_url + rel, wait_until="load")
            if page.locator("div.rg-chart").count():
                _charts_drawn(page, rel, problems)
            page.locator("a").filter(has_text="click").all()  # no link made of the payload
            assert page.evaluate("() => window.__pwned") is None, f"{rel}: the payload ran"
            assert page.locator('a[href^="javascript:"]').count() == 0, rel
            body = page.inner_text("article")
            seen[rel] = SHOWN in " ".join(body.split("\n"))
    assert not dialogs and not problems, dialogs + problems
    for rel in ("index.html", "inference.html", "hardware.html"):  # machine facts, labels and reasons show there
        assert seen[rel], f"{rel} does not show the text as written"


READING_PAGES = ["index.html", "inference.html", "serving.html", "training.html", "parity.html", "scorecard.html",
                 "hardware.html", "compare.html", "history.html"]
TABLE_FIT = """() => { const column = document.querySelector('article').clientWidth;
    return [...document.querySelectorAll('article table')].map(t => ({
        head: (t.querySelector('th') || {}).innerText, width: t.scrollWidth, column,
        second: t.querySelectorAll('tr:first-child > *').length > 1
            ? t.querySelectorAll('tr:first-child > *')[1].getBoundingClientRect().right : 0})) }"""


WORDS_BROKEN = """() => { const broken = [];
    for (const cell of document.querySelectorAll('article table td, article table th')) {
        const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walk.nextNode(); node; node = walk.nextNode()) {
            if (node.parentElement.closest('code')) continue;  // identifiers set as code may wrap anywhere
            for (const word of node.data.matchAll(/[^\\s\\/-]+/g)) {  // lines may break at spaces, '/' and '-'
                const range = document.createRange();
                range.setStart(node, word.index);
                range.setEnd(node, word.index + word[0].length);
                if (range.getClientRects().length > 1) broken.push(word[0]);
            }
        }
    }
    return broken; }"""
FIRST_COLUMN_LEFT = """() => [...document.querySelectorAll('article .md-typeset__scrollwrap')]
    .filter(wrap => wrap.scrollWidth > wrap.clientWidth).map(wrap => {
        wrap.scrollLeft = wrap.scrollWidth;
        const cell = wrap.querySelector('tr > :first-child');
        return {head: cell.innerText, left: cell.getBoundingClientRect().left - wrap.getBoundingClientRect().left};
    })"""


def test_numbers_and_their_caveats_fit_the_reading_column(browser: Any, history_site: HistorySite) -> None:
    """At 1280 px no table on the result pages scrolls sideways (its caveat columns used to sit off-screen);
    on a 390 px phone a table may scroll, but its label and headline figure are in view, its first column stays
    in view while it scrolls, and no word in a cell breaks in the middle. The history site has
    two machines and three runs on one, so Compare and History show every table they have."""
    problems: list[str] = []
    with serve(history_site.site, "/reportgen/") as base:
        for width in (1280, 390):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            _watch(page, base.removesuffix("/reportgen/"), problems)
            for rel in READING_PAGES:
                page.goto(base + rel, wait_until="load")
                for table in page.evaluate(TABLE_FIT):
                    if width == 1280 and table["width"] > table["column"]:
                        problems.append(f"{rel} at 1280 px: table '{table['head']}' is {table['width']} px wide "
                                        f"in a {table['column']} px column")
                    if width == 390 and table["second"] > width:
                        problems.append(f"{rel} at 390 px: table '{table['head']}' has its second column off-screen")
                if width == 390:
                    problems += [f"{rel} at 390 px: '{word}' breaks mid-word" for word in page.evaluate(WORDS_BROKEN)]
                    problems += [f"{rel} at 390 px: scrolled sideways, table '{cell['head']}' hides its first column"
                                 for cell in page.evaluate(FIRST_COLUMN_LEFT) if abs(cell["left"]) > 1]
            context.close()
    assert not problems, "\n".join(problems)


def test_the_404_page_works_under_the_published_sub_path(page: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Built with REPORTGEN_SITE_URL (as the publish workflow does), 404.html loads its styles and scripts
    under /<repo>/ however deep the missing path is, and its links lead back into the site."""
    from reportgen.report.site import build_site

    monkeypatch.setenv("REPORTGEN_SITE_URL", "https://owner.github.io/reportgen/")
    build_site(tmp_path / "results", tmp_path / "site")  # no results: the 404 page is the same
    problems: list[str] = []
    with web.static_server(tmp_path / "site", "/reportgen/", not_found_page=True) as base:
        origin = base.removesuffix("/reportgen/")
        _watch(page, origin, problems)
        for missing in ("/reportgen/no-such-page.html", "/reportgen/a/b/c/"):
            page.goto(origin + missing, wait_until="load")
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").first.inner_text().startswith("404"), missing
            assert page.evaluate("() => getComputedStyle(document.querySelector('.md-header')).position") \
                == "sticky", f"{missing}: the page is unstyled"
            home = page.locator("a.md-header__button.md-logo").evaluate("a => a.href")
            assert home == origin + "/reportgen/index.html", home
        page.goto(origin + "/reportgen/a/b/c/", wait_until="load")
        page.locator("a.md-header__button.md-logo").click()
        page.wait_for_load_state("load")
        assert page.url.startswith(origin + "/reportgen/") and "Not found" not in page.title()
    # the missing pages themselves answer 404 (Chromium logs each as a console error too); nothing else fails
    expected = {f"HTTP 404: {origin}{missing}" for missing in ("/reportgen/no-such-page.html", "/reportgen/a/b/c/")}
    logged = [p for p in problems if p.startswith("console error: Failed to load resource") and "404" in p]
    assert set(problems) - set(logged) <= expected and len(logged) <= 3, problems


def test_homes_decision_table_names_a_tie(page: Any, tmp_path: Path) -> None:
    """Home opens with the decision table; where two fp32 variants cannot be told apart it names both as a tie
    (issue 43), and the table fits the reading column."""
    from conftest import FIXTURE_RESULTS
    from test_decisions import _calm, _fp32

    from reportgen.report.site import build_site
    from reportgen.store.results import ResultStore

    (stored,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    first, second = _fp32(stored)[:2]
    ResultStore(tmp_path / "results").save(_calm(stored, {first: 10.0, second: 10.0}))
    build_site(tmp_path / "results", tmp_path / "site")
    with serve(tmp_path / "site", "/") as base:
        page.goto(base + "index.html", wait_until="load")
        table = page.locator("article table", has_text="question and scope").first
        rows = table.locator("tbody tr")
        assert rows.count() >= 5
        latency = rows.first.inner_text()
        assert latency.startswith("Batch-1 latency, fp32") and ": tie" in latency and "tie" in latency, latency
        fits = page.evaluate(TABLE_FIT)
    assert all(t["width"] <= t["column"] for t in fits if "question and scope" in t["head"]), fits
