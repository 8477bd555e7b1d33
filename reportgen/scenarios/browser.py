"""The browser as a measured runtime: ONNX Runtime Web (WebAssembly) in headless Chromium, beside Python ONNX Runtime.

One subprocess, after the conversions: it serves a harness page from a local HTTP server (127.0.0.1 only) that
loads the Try-it page's own JavaScript (``docs/javascripts/tryit.js``) and the vendored runtime, opens it in the
system Chromium through Playwright, and for each of the trained digits model's browser files (the catalog's
``BROWSER``: fp32 and INT8) runs the profile's timed loop at batch 1 and classifies every held-out image, from
raw pixels normalised in JavaScript. In the same process Python ONNX Runtime, with the same thread count, times
the same file on the same image and classifies the same images from the Python pipeline's tensors, so the
browser's records carry their speed ratio and their agreement (largest logit difference, top-1 agreement) with
Python on equal terms.

These are the digits model's times (10 classes, 32x32), not the 224x224 ResNet-18 of the inference benchmark:
their records have their own scenario, ``browser``, so no page lines them up with that benchmark. The harness
server sends no cross-origin isolation headers, as GitHub Pages does not: the browser runs one WebAssembly
thread, and Python ONNX Runtime is given one thread too.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from reportgen import catalog, web
from reportgen.artifacts import DIGITS_CLASSES, DIGITS_DATA, DIGITS_IMAGE_SIZE, DIGITS_MODEL, DIGITS_ONNX
from reportgen.config import TimingSettings
from reportgen.measure import stats
from reportgen.measure.agreement import logit_agreement
from reportgen.process.runner import Context, Task
from reportgen.store.records import Setting, TaskKey
from reportgen.store.results import make_record

SCENARIO = "browser"
HARNESS = """<!doctype html>
<html><head><meta charset="utf-8"><title>reportgen browser harness</title></head>
<body><p>reportgen: ONNX Runtime Web harness</p><script src="tryit.js"></script></body></html>
"""
# Runs in the harness page: the Try-it page's functions on every model, returning samples and logits.
MEASURE = """async (args) => {
  const T = window.reportgenTryit;
  await T.loadRuntime(new URL("ort/", document.baseURI).href);
  const info = await T.backendInfo();
  const images = T.fromBase64(args.images);
  const per = args.size * args.size * 3;
  const input = (i) => T.preprocess(images.subarray(i * per, (i + 1) * per), args.mean, args.std, args.size);
  const out = { info: info, preprocessed: Array.from(input(0)), models: {} };
  for (const m of args.models) {
    const made = await T.createSession(new URL(m.file, document.baseURI).href);
    const loop = await T.timeLoop(made.session, input(0), args.size, args.timing);
    const logits = [];
    for (let i = 0; i < args.count; i++) logits.push(await T.logits(made.session, input(i), args.size));
    out.models[m.name] = { loadMs: made.loadMs, firstMs: loop.firstMs, samples: loop.samples, logits: logits };
    await made.session.release();
  }
  return out;
}"""


def plan(frameworks: list[str]) -> list[Task]:
    """One task when the ONNX Runtime family is chosen (its files come from the conversions), skipped with the
    reason when Chromium, Playwright or the vendored runtime is missing."""
    if catalog.family_of(catalog.BROWSER_RUNTIME) not in frameworks:
        return []
    return [Task(key=str(TaskKey(SCENARIO, catalog.BROWSER_RUNTIME)), module=__name__, scenario=SCENARIO,
                 framework=catalog.BROWSER_RUNTIME, variant="all",
                 label="Browser: ONNX Runtime Web in headless Chromium vs Python ONNX Runtime (digits model)",
                 needs=(DIGITS_DATA, DIGITS_ONNX), reads=tuple(v.model_file for v in catalog.BROWSER), kind="timing",
                 params={"device": catalog.BROWSER_DEVICES[0], "unsupported": web.browser_missing()})]


def stage_harness(folder: Path, models: dict[str, Path]) -> None:
    """The harness page, the page's JavaScript, the runtime and the model files, in one folder to serve."""
    (folder / "ort").mkdir(parents=True, exist_ok=True)
    for name in web.ORT_WEB_FILES:
        shutil.copy2(web.ort_web_dist() / name, folder / "ort" / name)
    shutil.copy2(web.TRYIT_JS, folder / "tryit.js")
    (folder / "index.html").write_text(HARNESS, encoding="utf-8")
    for name, path in models.items():
        shutil.copy2(path, folder / f"model-{name}.onnx")


def run_in_browser(folder: Path, args: dict[str, Any], timeout_s: float = 600) -> dict[str, Any]:
    """Open the harness served from ``folder`` in headless Chromium and run :data:`MEASURE` with ``args``.

    Every request must stay on the local server: any other is refused and reported as an error."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with web.static_server(folder) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=web.chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout_s * 1e3)

            def route(r: Any) -> None:
                if r.request.url.startswith((base, "data:", "blob:")):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(base + "index.html", wait_until="load")
            result = page.evaluate(MEASURE, args)
            result["chromium"] = browser.version
        finally:
            browser.close()
    if outside or errors:
        raise RuntimeError(f"the page requested {outside} outside the local server; errors: {errors}")
    return result


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """Each browser variant's file in headless Chromium and, for its check and its speed ratio, in Python ONNX
    Runtime on the same held-out digits: two records per file (a missing file: one skipped record)."""
    with np.load(ctx.artifacts / DIGITS_DATA) as data:
        x_eval, labels = data["x_eval"], data["y_eval"]
    raw = web.all_held_out(ctx.seed)
    if not np.array_equal(raw["labels"], labels):
        raise RuntimeError("the held-out digits differ from the conversion scenario's evaluation images")
    timing = TimingSettings(**ctx.profile["inference"]["timing"])
    present = {v.name: ctx.artifacts / v.model_file for v in catalog.BROWSER
               if (ctx.artifacts / v.model_file).is_file()}
    records = [make_record(SCENARIO, catalog.BROWSER_RUNTIME, v.name, device=task.params["device"],
                           precision=v.precision, batch_size=1, status="skipped",
                           reason=f"needs {v.model_file}, which the conversion {'/'.join(v.conversion)} did not "
                                  "produce (see its record)")
               for v in catalog.BROWSER if v.name not in present]
    with tempfile.TemporaryDirectory(prefix="reportgen-browser-") as tmp:
        stage_harness(Path(tmp), present)
        result = run_in_browser(Path(tmp), {
            "images": base64.b64encode(np.ascontiguousarray(raw["images"]).tobytes()).decode("ascii"),
            "count": len(labels), "size": DIGITS_IMAGE_SIZE, "mean": [float(x) for x in raw["mean"]],
            "std": [float(x) for x in raw["std"]], "timing": timing.__dict__,
            "models": [{"name": k, "file": f"model-{k}.onnx"} for k in present]})
    threads = int(result["info"]["threads"])
    preprocess_diff = float(np.max(np.abs(np.asarray(result["preprocessed"], dtype=np.float32) - x_eval[0].ravel())))
    common = {Setting.MODEL: DIGITS_MODEL, Setting.IMAGE_SIZE: DIGITS_IMAGE_SIZE, Setting.NUM_CLASSES: DIGITS_CLASSES,
              Setting.TIMING: timing.__dict__, Setting.CHECK_IMAGES: len(labels)}
    for v in (v for v in catalog.BROWSER if v.name in present):
        file_settings = {**common, Setting.FILE: v.model_file, Setting.CONVERSION: "/".join(v.conversion),
                         Setting.MODEL_SIZE_MB: present[v.name].stat().st_size / 1e6}
        python, python_logits = _in_python(v, present[v.name], x_eval, threads, timing, file_settings)
        checked = {**file_settings, Setting.PREPROCESS_MAX_ABS_DIFF: preprocess_diff}  # the browser's input tensor
        records += [python, _in_chromium(v, result, python_logits, labels, threads, checked)]
    return records


def _in_python(v: catalog.BrowserVariant, path: Path, x_eval: np.ndarray, threads: int, timing: TimingSettings,
               file_settings: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """The browser's file in Python ONNX Runtime with the browser's threads: its timed record, and its logits on
    every held-out image (what the browser's are checked against)."""
    import onnxruntime as ort

    from reportgen.measure import timer
    from reportgen.workloads.inference import predict_onnxruntime

    start = time.perf_counter()
    session = predict_onnxruntime.load_session(str(path), threads)
    load_s = time.perf_counter() - start
    first_s = timer.time_call(lambda: predict_onnxruntime.predict(session, x_eval[:1]))  # the browser's image
    samples = timer.time_loop(lambda: predict_onnxruntime.predict(session, x_eval[:1]), timing)
    logits = np.concatenate([predict_onnxruntime.predict(session, x_eval[i:i + 1]) for i in range(len(x_eval))])
    python_ms = [s * 1e3 for s in samples]
    record = make_record(
        SCENARIO, "onnxruntime", v.python, device="cpu", precision=v.precision, batch_size=1,
        metrics={**stats.latency_summary(python_ms), "throughput_ips": stats.throughput(1, samples),
                 "load_s": load_s, "first_call_s": first_s},
        samples={"latency_ms": python_ms},
        settings={**file_settings, Setting.THREADS: {"ort.intra_op": threads, "ort.inter_op": 1},
                  Setting.ONNXRUNTIME: ort.__version__, Setting.SAMPLES: len(python_ms),
                  Setting.PURPOSE: "Python ONNX Runtime on the browser's file, for its speed ratio and its check"})
    return record, logits


def _in_chromium(v: catalog.BrowserVariant, result: dict[str, Any], python_logits: np.ndarray, labels: np.ndarray,
                 threads: int, file_settings: dict[str, Any]) -> dict[str, Any]:
    """The record of what headless Chromium measured for one file (``result``: the harness page's answer)."""
    import onnxruntime as ort

    info, got = result["info"], result["models"][v.name]
    logits = np.asarray(got["logits"], dtype=np.float32)
    browser_ms = [float(s) for s in got["samples"]]
    return make_record(
        SCENARIO, catalog.BROWSER_RUNTIME, v.name, device=catalog.BROWSER_DEVICES[0],  # the WebAssembly runtime
        precision=v.precision, batch_size=1,
        metrics={**stats.latency_summary(browser_ms),
                 "throughput_ips": stats.throughput(1, [s / 1e3 for s in browser_ms]),
                 "load_s": got["loadMs"] / 1e3, "first_call_s": got["firstMs"] / 1e3,
                 **logit_agreement(python_logits, logits)},
        samples={"latency_ms": browser_ms},
        settings={**file_settings, Setting.THREADS: {"wasm.numThreads": threads},
                  Setting.BACKEND: f"WebAssembly (SIMD), {threads} thread{'s' if threads > 1 else ''}",
                  Setting.BACKEND_WHY: info["why"], Setting.WEBGPU: info["webgpu"],
                  Setting.CROSS_ORIGIN_ISOLATED: info["crossOriginIsolated"],
                  Setting.BROWSER: f"Chromium {result['chromium']} (headless)",
                  Setting.ONNXRUNTIME_WEB: info.get("ortVersion") or web.ort_web_version(),
                  Setting.REFERENCE: f"Python ONNX Runtime {ort.__version__} on the same file and held-out images "
                                     "(its input normalised in Python, the browser's in JavaScript)",
                  Setting.PYTHON_VARIANT: v.python, Setting.TOP1_ACCURACY: float(np.mean(logits.argmax(1) == labels)),
                  Setting.SAMPLES: len(browser_ms)})
