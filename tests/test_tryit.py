"""Try it: the trained digits model in the reader's browser, and the browser measured as a runtime.

The ``demo`` fixture is the session's real smoke run (``smoke_run``): its conversion scenario trained the digits
model and exported it (ONNX fp32, ONNX Runtime INT8), its browser task measured it in headless Chromium, and it
kept the demo files beside its results, as every ``reportgen run`` does. Tests that need Chromium, Playwright or
the npm-installed runtime skip with the reason when one is missing. All but the planning tests are ``slow`` (a
real run and Chromium): ``pytest -m "not slow"`` leaves them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURE_RESULTS, SmokeRun
from test_browser import CHROMIUM, TABLE_FIT, serve, sync_playwright

from reportgen import catalog, thresholds, web
from reportgen.config import PROFILES
from reportgen.report.pages import tryit
from reportgen.report.site import build_site
from reportgen.scenarios import browser
from reportgen.store.results import ResultStore

CLASSIFIED = "(before) => Number(document.querySelector('#rg-tryit').dataset.classified || 0) > before"


@dataclass(frozen=True)
class Demo:
    results: Path
    site: Path
    run: dict[str, Any]


def _needs_browser() -> None:
    if sync_playwright is None:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set REPORTGEN_CHROMIUM)")
    if web.runtime_missing():
        pytest.skip(web.runtime_missing())


@pytest.fixture(scope="module")
def demo(smoke_run: SmokeRun) -> Demo:
    """The session's real smoke run: its conversions trained and exported the digits model, its browser task
    measured it in headless Chromium (where there is one), and it kept the Try-it files beside its results."""
    (run,) = ResultStore(smoke_run.results).load_all().runs
    return Demo(smoke_run.results, smoke_run.site, run)


def gallery_inputs(demo: Demo) -> np.ndarray:
    """The kept gallery's images normalised as the digits pipeline does, (x / 255 - mean) / std, in NCHW."""
    with np.load(next(demo.results.rglob(web.GALLERY_FILE))) as data:
        x = (data["images"].astype(np.float32) / 255.0 - data["mean"]) / data["std"]
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


def test_the_browser_is_skipped_with_one_line_without_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTGEN_CHROMIUM", "/nowhere/chromium")
    (task,) = browser.plan(["onnxruntime"])
    assert task.framework == "onnxruntime-web" and task.params["unsupported"].startswith("no Chromium")
    assert "\n" not in task.params["unsupported"]
    assert browser.plan(["torch", "tensorflow"]) == []  # it comes with the ONNX Runtime family
    assert catalog.family_of(catalog.BROWSER_RUNTIME) == "onnxruntime"


@pytest.mark.slow
def test_without_the_npm_runtime_the_page_says_why_and_the_rest_builds(
        demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "PROJECT_ROOT", tmp_path / "no-checkout")  # no node_modules there
    build_site(demo.results, tmp_path / "site")
    page = (tmp_path / "site" / "tryit.html").read_text()
    assert "The demo was not built" in page and "npm" in page
    assert not (tmp_path / "site" / "tryit").exists()
    assert (tmp_path / "site" / "inference.html").is_file() and (tmp_path / "site" / "index.html").is_file()


@pytest.mark.slow
def test_the_browser_agrees_with_python_onnxruntime(demo: Demo) -> None:
    _needs_browser()
    recs = {(r["framework"], r["variant"]): r for r in demo.run["records"] if r["scenario"] == "browser"}
    for variant in catalog.BROWSER:
        rec, python = recs[(catalog.BROWSER_RUNTIME, variant.name)], recs[("onnxruntime", variant.python)]
        assert rec["status"] == "ok" and python["status"] == "ok", (rec["reason"], python["reason"])
        assert rec["device"] == "browser-wasm" and rec["precision"] == variant.precision
        assert rec["settings"]["preprocess_max_abs_diff"] == 0.0  # JavaScript normalises exactly as Python does
        assert len(rec["samples"]["latency_ms"]) >= PROFILES["smoke"].inference.timing.min_count
        assert 0 <= rec["metrics"]["top1_agreement"]["value"] <= 1
        if variant.precision == "fp32":
            assert rec["metrics"]["max_abs_diff"]["value"] <= thresholds.agreement_limit("fp32")
            assert rec["metrics"]["top1_agreement"]["value"] == 1.0
        assert rec["settings"]["threads"]["wasm.numThreads"] == python["settings"]["threads"]["ort.intra_op"]
    inference = (demo.site / "inference.html").read_text()
    assert "In the browser (ONNX Runtime Web)" in inference and "32x32" in inference


@pytest.mark.slow
def test_the_try_it_page_classifies_gallery_images_like_python(demo: Demo) -> None:
    """Done when: headless Chromium opens the built site under a sub-path, classifies three gallery images and
    gets Python ONNX Runtime's top-1 on the same file and images, with no request leaving the local server;
    the runtime and the model are fetched only once the reader starts the demo."""
    _needs_browser()
    import onnxruntime as ort

    site = demo.site
    manifest = json.loads((site / "tryit" / "gallery.json").read_text())
    x_gallery = gallery_inputs(demo)  # in the order of the page's gallery (both are the kept gallery.npz)
    session = ort.InferenceSession(str(site / "tryit" / manifest["models"]["fp32"]["file"]))
    expected = [int(session.run(None, {session.get_inputs()[0].name: x_gallery[i:i + 1]})[0].argmax())
                for i in range(3)]

    problems: list[str] = []
    fetched: list[str] = []
    with sync_playwright() as p, serve(site, "/reportgen/") as base:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = chromium.new_page()
        origin = base.removesuffix("/reportgen/")

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(origin + "/reportgen/") or url.startswith(("data:", "blob:")):
                fetched.append(url)
                r.continue_()
            else:
                problems.append(f"request outside the site: {url}")
                r.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
        page.on("response", lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}") if resp.status >= 400
                else None)
        page.goto(base + "tryit.html", wait_until="networkidle")
        page.wait_for_selector("#rg-tryit .rg-tryit-thumb")
        assert not [u for u in fetched if u.endswith((".onnx", ".wasm", "ort.wasm.min.js"))], "loaded before start"
        got = []
        for i in range(3):
            before = int(page.get_attribute("#rg-tryit", "data-classified") or 0)
            page.locator("#rg-tryit .rg-tryit-thumb").nth(i).click()
            if i == 0:
                page.locator("#rg-tryit button.rg-tryit-start").click()
            page.wait_for_function(CLASSIFIED, arg=before, timeout=60_000)
            got.append(int(page.get_attribute("#rg-tryit", "data-top1")))
            assert page.locator("#rg-tryit .rg-tryit-results tr").count() == 5  # the top-5 with probabilities
        backend = page.inner_text("#rg-tryit .rg-tryit-backend")
        page.set_viewport_size({"width": 1280, "height": 900})
        for rel in ("tryit.html", "inference.html"):  # the browser's table fits the reading column
            page.goto(base + rel, wait_until="load")
            problems += [f"{rel}: table '{t['head']}' is {t['width']} px wide in {t['column']} px"
                         for t in page.evaluate(TABLE_FIT) if t["width"] > t["column"]]
        chromium.close()
    assert not problems, "\n".join(problems)
    assert got == expected
    assert "1 thread" in backend and "not cross-origin isolated" in backend
    assert manifest["models"]["fp32"]["measured"]["python_ms"] > 0  # the run's numbers, shown beside the reader's
    assert any(u.endswith("/reportgen/tryit/ort/ort-wasm-simd-threaded.wasm") for u in fetched)


@pytest.mark.slow
def test_the_page_says_how_much_it_fetches(demo: Demo) -> None:
    if web.runtime_missing():
        pytest.skip(web.runtime_missing())
    page = (demo.site / "tryit.html").read_text()
    runtime_mb = sum((demo.site / "tryit" / "ort" / f).stat().st_size for f in web.ORT_WEB_FILES) / 1e6
    assert f"{runtime_mb:.1f} MB" in page
    for variant in catalog.BROWSER:
        assert f"{(demo.site / 'tryit' / web.model_name(variant)).stat().st_size / 1e6:.1f} MB" in page
    assert tryit.ASSETS + "/" in page


@pytest.mark.slow
def test_a_drawing_is_reduced_the_way_the_digits_were_made(tmp_path: Path) -> None:
    """The page's digitize() turns a 32x32 picture into 8x8 blocks of 17 grey levels scaled to 0..255, as the
    bundled digits were: fed the dataset's own 8x8 bitmaps, it gives back the dataset's images exactly."""
    _needs_browser()
    from sklearn.datasets import load_digits

    bitmaps = load_digits().images[:20]  # 0..16 per 8x8 block
    grey32 = (bitmaps / 16).repeat(4, axis=1).repeat(4, axis=2)  # each block's 16 pixels sum to its level
    browser.stage_harness(tmp_path, {})
    with sync_playwright() as p, web.static_server(tmp_path) as base:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = chromium.new_page()
        page.goto(base + "index.html", wait_until="load")
        made = page.evaluate("(pictures) => pictures.map(g => Array.from(window.reportgenTryit.digitize(g)))",
                             [g.ravel().tolist() for g in grey32])
        chromium.close()
    expected = (bitmaps * (255.0 / 16.0)).round().astype(np.uint8).repeat(4, axis=1).repeat(4, axis=2)
    assert np.array_equal(np.asarray(made, dtype=np.uint8).reshape(-1, 32, 32, 3), np.repeat(expected[..., None], 3, 3))


@pytest.mark.slow
def test_a_history_of_results_files_finds_the_demo_through_demo_dir(demo: Demo, tmp_path: Path) -> None:
    """`reportgen merge` copies only results files, so the publish workflow's history has no <run-id>.demo/:
    `reportgen build --demo-dir` finds it among the downloaded results instead."""
    if web.runtime_missing():
        pytest.skip(web.runtime_missing())
    from conftest import reportgen

    history = tmp_path / "history"
    merged = reportgen("merge", str(demo.results), "--into", str(history))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert not list(history.rglob("*" + web.DEMO_SUFFIX))
    build_site(history, tmp_path / "without")
    assert "--demo-dir" in (tmp_path / "without" / "tryit.html").read_text()
    built = reportgen("build", "--results-dir", str(history), "--site-dir", str(tmp_path / "with"),
                      "--demo-dir", str(demo.results), cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "The demo was not built" not in (tmp_path / "with" / "tryit.html").read_text()
    assert (tmp_path / "with" / "tryit" / web.model_name(catalog.BROWSER[0])).is_file()


def test_the_browser_notes_name_the_timed_model_as_the_run_set_it() -> None:
    """The browser's rows warn that they time another model than the Inference page: that model's size and
    classes come from the run's own profile, so a run configured for 160x160 and 100 classes says so."""
    (path,) = FIXTURE_RESULTS.glob("*/*.json")
    run = json.loads(path.read_text(encoding="utf-8"))
    assert tryit.browser_notes(run)["timed"] == "224x224, 1000-class"
    run["profile"]["inference"].update(image_size=160, num_classes=100)
    assert tryit.browser_notes(run)["timed"] == "160x160, 100-class"


@pytest.mark.slow
def test_an_upload_that_is_empty_not_an_image_or_huge_gets_a_sentence_or_is_scaled(tmp_path: Path) -> None:
    """An empty file or one that is not an image did nothing at all, and a huge picture was drawn at full size
    before being reduced (issue 42, finding 9): now each is refused with a sentence, or drawn scaled down."""
    _needs_browser()
    browser.stage_harness(tmp_path, {})
    read = """async ([bytes, name, type, side]) => {
        let file;
        if (side) {
            const c = document.createElement('canvas'); c.width = side; c.height = side / 2;
            c.getContext('2d').fillRect(0, 0, side / 4, side / 4);
            file = new File([await new Promise(r => c.toBlob(r, 'image/png'))], name, {type});
        } else {
            file = new File([bytes], name, {type});
        }
        try {
            const up = await window.reportgenTryit.readUpload(file);
            return {width: up.canvas.width, height: up.canvas.height, scaled: up.scaled, source: up.width};
        } catch (e) { return {error: e.message}; }
    }"""
    with sync_playwright() as p, web.static_server(tmp_path) as base:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = chromium.new_page()
        page.goto(base + "index.html", wait_until="load")
        empty = page.evaluate(read, ["", "empty.png", "image/png", 0])
        text = page.evaluate(read, ["not a picture", "notes.txt", "text/plain", 0])
        huge = page.evaluate(read, ["", "big.png", "image/png", 6000])
        small = page.evaluate(read, ["", "small.png", "image/png", 64])
        chromium.close()
    assert "empty.png is empty" in empty["error"], empty
    assert "cannot read notes.txt as an image" in text["error"], text
    assert huge == {"width": 512, "height": 256, "scaled": True, "source": 6000}, huge
    assert small == {"width": 64, "height": 32, "scaled": False, "source": 64}, small
