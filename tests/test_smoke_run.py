"""A real smoke run end to end: every framework measured, results stored, the site built.

Export and the published pages are tested on the stored copy of such a run (``tests/test_published.py``).
"""

import json
import re
from html import unescape

from conftest import SmokeRun

from reportgen import catalog, hardware, thresholds, web
from reportgen.config import task_threads
from reportgen.process import envs
from reportgen.report.format import fmt
from reportgen.store.results import ResultStore


def only_run(smoke_run: SmokeRun) -> dict:
    loaded = ResultStore(smoke_run.results).load_all()
    assert loaded.problems == []
    (run,) = loaded.runs
    return run


HAS_BF16 = hardware.lacks_cpu_flags(catalog.BF16_FLAGS) is None  # avx512_bf16 / amx_bf16 (the EPYC has it)
BF16_VARIANTS = {("torch", "amp-bf16"), ("tensorflow", "mixed-bf16"), ("openvino", "bf16")}
CPU_VARIANTS = {("torch", "eager"), ("torch", "channels-last"), ("torch", "compile"), ("tensorflow", "eager"),
                ("tensorflow", "graph"), ("tensorflow", "xla"), ("onnxruntime", "from-torch"),
                ("onnxruntime", "from-keras"), ("onnxruntime", "int8-static"), ("onnxruntime", "int8-dynamic"),
                ("tflite", "fp32"), ("tflite", "int8-dynamic"), ("tflite", "int8-full"), ("openvino", "fp32"),
                ("openvino", "int8"), ("keras-jax", "jit"), ("keras-torch", "eager")} \
    | (BF16_VARIANTS if HAS_BF16 else set())
CUDA_VARIANTS = {("torch", "amp-fp16"), ("tensorflow", "mixed-fp16")}
BROWSER_MISSING = web.browser_missing()  # Chromium, Playwright and the npm-installed onnxruntime-web


def test_run_is_complete_and_every_variant_measured(smoke_run: SmokeRun) -> None:
    run = only_run(smoke_run)
    assert run["status"] == "complete" and run["profile"]["name"] == "smoke"
    assert (smoke_run.results / run["machine_id"] / f"{run['run_id']}.json").is_file()
    inference = [r for r in run["records"] if r["scenario"] == "inference"]
    batch1 = {(r["framework"], r["variant"]): r for r in inference if r["batch_size"] in (1, None)}
    assert {k for k, r in batch1.items() if r["status"] == "ok"} == CPU_VARIANTS
    for key in CUDA_VARIANTS:  # not silently missing: skipped, with the reason
        assert batch1[key]["status"] == "skipped" and "needs a CUDA GPU" in batch1[key]["reason"]
    for key in BF16_VARIANTS - CPU_VARIANTS:  # a CPU without bf16: skipped, naming the CPU and the flags
        assert batch1[key]["status"] == "skipped" and "avx512_bf16" in batch1[key]["reason"]
        assert run["machine"]["cpu"]["model"] in batch1[key]["reason"]
    timing = run["profile"]["inference"]["timing"]
    for key in CPU_VARIANTS:
        rec = batch1[key]
        samples = rec["samples"]["latency_ms"]
        assert len(samples) >= timing["min_count"] or sum(samples) / 1e3 >= timing["max_time_s"]
        m = {k: v["value"] for k, v in rec["metrics"].items()}
        assert 0 < min(samples) <= m["latency_ms_p50"] <= m["latency_ms_p90"] <= m["latency_ms_p99"] <= max(samples)
        assert m["peak_rss_mb"] > 50 and m["gflops_per_s"] > 0
        assert rec["precision"] != "fp32" or 0 < m["roof_fraction"]  # the roof is an fp32 GEMM
        assert rec["settings"]["threads"] and rec["settings"]["rounds"] == 1  # thread settings recorded
    # the reference is timed again in a process of its own at the end of the round, and counts once
    assert batch1[("torch", "eager")]["settings"]["processes"] == run["profile"]["inference"]["reference_processes"]
    page = " ".join(unescape((smoke_run.site / "inference.html").read_text()).split())
    assert "the reference in 2 processes per round, counted as one round" in page
    sweep = {(r["framework"], r["variant"], r["batch_size"]) for r in inference if r["status"] == "ok"}
    assert {(fw, v, 2) for fw, v in CPU_VARIANTS} <= sweep  # the batch-size sweep ran for every variant
    # the one-thread runs share a process per framework: every variant in it measured, none hit by the one before
    threads = {(r["framework"], r["variant"]): r for r in run["records"] if r["scenario"] == "threads"}
    assert set(threads) == CPU_VARIANTS or run["options"]["threads"] == 1
    assert [(k, r["reason"]) for k, r in threads.items() if r["status"] != "ok"] == []
    assert len({r["settings"]["task"] for r in threads.values()}) < len(threads)  # shared, not one each
    startup = [r for r in run["records"] if r["scenario"] == "startup"]
    assert {(r["framework"], r["variant"]) for r in startup} == CPU_VARIANTS
    for rec in startup:
        parts = sum(rec["metrics"][k]["value"] for k in ("import_s", "load_s", "first_call_s"))
        assert abs(rec["metrics"]["cold_start_s"]["value"] - parts) < 1e-9
    roof = [r for r in run["records"] if r["scenario"] == "machine"]
    assert {r["framework"] for r in roof} == {"numpy", "torch", "onnxruntime", "openvino"}
    # no working files are left behind next to the results, only the trained model's files the Try-it page shows
    assert sorted(p.name for p in (smoke_run.results / run["machine_id"]).iterdir()) == \
        [f"{run['run_id']}.demo", f"{run['run_id']}.json"]


def test_every_runtime_computes_the_same_function(smoke_run: SmokeRun) -> None:
    batch1 = [r for r in only_run(smoke_run)["records"]
              if r["scenario"] == "inference" and r["batch_size"] == 1 and r["status"] == "ok"]
    for rec in batch1:
        if rec["precision"] == "fp32":
            assert rec["metrics"]["max_abs_diff"]["value"] <= 1e-4, rec["variant"]
            assert rec["metrics"]["top1_agreement"]["value"] == 1.0
        else:  # INT8 moves the logits; it must still compute roughly the same function
            assert rec["metrics"]["max_abs_diff"]["value"] < 5


def test_model_facts_are_counted_in_both_frameworks(smoke_run: SmokeRun) -> None:
    facts = {r["framework"]: r["metrics"] for r in only_run(smoke_run)["records"] if r["scenario"] == "model"}
    assert set(facts) == {"torch", "tensorflow"}
    for metrics in facts.values():
        assert metrics["params_trainable"]["value"] == 11_689_512
        assert metrics["params_total"]["value"] == 11_699_112  # + the 9,600 BatchNorm moving statistics
    assert 1.80e9 < facts["torch"]["macs"]["value"] < 1.83e9  # ResNet-18 at 224x224: about 1.82 GMACs


FOR_INFERENCE = {("torch", "onnx"), ("tensorflow", "onnx"), ("tensorflow", "tflite"),
                 ("tensorflow", "tflite-int8-dynamic"), ("tensorflow", "tflite-int8-full"),
                 ("onnxruntime", "int8-dynamic"), ("onnxruntime", "int8-static"), ("openvino", "ir"),
                 ("openvino", "int8")}
EXPORTS = {(fw, v + "-for-inference") for fw, v in FOR_INFERENCE} | {
           ("torch", "onnx"), ("torch", "torchscript"), ("torch", "torch.export"),
           ("torch", "int8"), ("tensorflow", "onnx"), ("tensorflow", "savedmodel"), ("tensorflow", "tflite"),
           ("tensorflow", "tflite-int8-dynamic"), ("tensorflow", "tflite-int8-full"),
           ("onnxruntime", "int8-dynamic"), ("onnxruntime", "int8-static"), ("openvino", "ir"),
           ("openvino", "ir-from-torch"), ("openvino", "int8"), ("openvino", "torch.compile")}
MAY_FAIL = {("openvino", "torch.compile")}  # fails with torch 2.14 while torch builds shape guards: recorded as such
FP32_CANDIDATES = {("tensorflow", "keras"), ("tensorflow", "savedmodel"), ("tflite", "tflite"),
                   ("onnxruntime", "from-torch"), ("onnxruntime", "from-keras"), ("torch", "torchscript"),
                   ("torch", "torch.export"), ("openvino", "ir"), ("openvino", "ir-from-torch")}
BF16_CANDIDATES = {("torch", "amp-bf16"), ("tensorflow", "mixed-bf16"), ("openvino", "bf16")}


def test_tasks_side_by_side_train_and_convert_on_their_share_of_the_threads(smoke_run: SmokeRun) -> None:
    """Smoke runs two tasks at a time: a training or a conversion runs on its share of the cores (at the full
    count each, two trainings on 2 cores ran up to 15x slower), says so in its records, and the pages say it."""
    run = only_run(smoke_run)
    threads = run["options"]["threads"]
    share = task_threads(run["profile"], "training", threads)
    assert share == task_threads(run["profile"], "conversion", threads) == max(1, threads // 2)  # two at a time
    trained = [r for r in run["records"] if r["settings"].get("task_scenario", "").startswith("training")
               and r["status"] == "ok"]
    assert trained and {r["settings"]["task_threads"] for r in trained} == {share}
    assert {r["settings"]["threads"] for r in trained if "threads" in r["settings"]} == {share}  # what it ran with
    converted = [r for r in run["records"] if r["scenario"] == "conversion"]
    assert {r["settings"]["task_threads"] for r in converted} == {share}
    timed = [r for r in run["records"] if r["scenario"] == "inference" and r["status"] == "ok"]
    assert {r["settings"]["thread_count"] for r in timed} == {threads}  # what a timed task measures: unchanged
    if share != threads:
        hardware_page = " ".join(unescape((smoke_run.site / "hardware.html").read_text()).split())
        assert f"{threads} ({share} in a task beside another one)" in hardware_page
        parity_page = " ".join(unescape((smoke_run.site / "parity.html").read_text()).split())
        assert f"each on {share} thread(s)" in parity_page


def test_every_record_names_the_environment_it_was_measured_in(smoke_run: SmokeRun) -> None:
    """make install gives each framework family an environment of its own: every record says which one its child
    ran in (name, interpreter, lock and its hash, versions), and the Hardware page lists them all."""
    run = only_run(smoke_run)
    stored = run["machine"]["environments"]
    per_family = stored["mode"] == "per-family"
    for rec in run["records"]:
        env = rec["settings"]["environment"]
        assert env == {k: stored["environments"][env["name"]][k] for k in env}, rec["settings"]["task"]
        expected = (envs.family_of_task(rec["framework"]) or envs.HARNESS) if per_family else envs.SINGLE
        assert env["name"] == expected, (rec["framework"], rec["variant"], env["name"])
    page = " ".join(unescape((smoke_run.site / "hardware.html").read_text()).split())
    assert "Environments" in page and all(f"<td>{name}</td>" in page for name in stored["environments"])


def test_every_export_converts_and_is_measured(smoke_run: SmokeRun) -> None:
    conversions = {(r["framework"], r["variant"]): r for r in only_run(smoke_run)["records"]
                   if r["scenario"] == "conversion"}
    assert set(conversions) == EXPORTS
    for key in MAY_FAIL:
        rec = conversions.pop(key)
        assert rec["status"] == "ok" or (rec["status"] == "failed" and rec["reason"]
                                         and rec["metrics"]["convert_ok"]["value"] == 0), rec
    for key, rec in conversions.items():
        assert rec["status"] == "ok", (key, rec["reason"])
        assert rec["metrics"]["convert_ok"]["value"] == 1 and rec["metrics"]["convert_s"]["value"] > 0
        assert rec["settings"]["converter"]
        size = rec["metrics"]["model_size_mb"]["value"]
        assert (10 < size < 13) if rec["precision"] == "int8" else (40 < size < 100), (key, size)
        assert rec["settings"]["model"].startswith("resnet18, 1000 classes" if "for-inference" in key[1]
                                                   else "resnet18, 10 classes")


def test_converted_models_agree_with_pytorch(smoke_run: SmokeRun) -> None:
    records = only_run(smoke_run)["records"]
    (reference,) = [r for r in records if r["scenario"] == "training" and r["variant"] == "digits-reference"]
    assert reference["metrics"]["final_top1"]["value"] > 0.8  # trained, so accuracy changes mean something
    parity = {(r["framework"], r["variant"]): r for r in records if r["scenario"] == "parity"}
    assert FP32_CANDIDATES <= set(parity)
    for key in FP32_CANDIDATES:
        metrics = parity[key]["metrics"]
        assert metrics["max_abs_diff"]["value"] <= 1e-4, key
        assert metrics["top1_agreement"]["value"] == 1.0, key
    int8 = [r for r in parity.values() if r["precision"] == "int8"]
    assert len(int8) >= 5 and ("openvino", "int8") in parity
    for rec in int8:
        assert -1 <= rec["metrics"]["top1_delta"]["value"] <= 1 and rec["metrics"]["top1_agreement"]["value"] > 0.5
    # bf16 runs the same weights with 8 mantissa bits: close, not equal (its own limit, not fp32's)
    assert (BF16_CANDIDATES <= set(parity)) == HAS_BF16
    for key in BF16_CANDIDATES & set(parity):
        metrics = parity[key]["metrics"]
        assert parity[key]["precision"] == "bf16" and 0 < metrics["max_abs_diff"]["value"] < 0.5, key
        assert metrics["top1_agreement"]["value"] > 0.9 and abs(metrics["top1_delta"]["value"]) < 0.05, key


def test_openvino_rows(smoke_run: SmokeRun) -> None:
    """OpenVINO fp32 (from the ONNX export, f32 pinned) and NNCF INT8: measured, with their hints, file and accuracy."""
    run = only_run(smoke_run)
    records = run["records"]
    batch1 = {r["variant"]: r for r in records if r["scenario"] == "inference" and r["framework"] == "openvino"
              and r["batch_size"] == 1}
    for name, hint in (("fp32", "f32"), ("int8", "f32")) + ((("bf16", "bf16"),) if HAS_BF16 else ()):
        rec = batch1[name]
        assert rec["status"] == "ok", rec["reason"]
        threads = rec["settings"]["threads"]  # the hints asked for and what the compiled model reports
        assert threads["ov.INFERENCE_PRECISION_HINT"] == threads["ov.requested_precision"] == hint
        assert threads["ov.PERFORMANCE_HINT"] == "LATENCY" and threads["ov.NUM_STREAMS"] == 1
        assert threads["ov.INFERENCE_NUM_THREADS"] == rec["settings"]["thread_count"]
        variant = catalog.find("openvino", name)
        parity = next(p for p in records if p["scenario"] == "parity"
                      and (p["framework"], p["variant"]) == variant.accuracy)
        assert "top1_delta" in parity["metrics"] and parity["precision"] == variant.precision
        if variant.conversion:
            made = next(c for c in records if c["scenario"] == "conversion"
                        and (c["framework"], c["variant"]) == variant.conversion)
            assert made["status"] == "ok" and made["settings"]["file"] == variant.model_file
    assert batch1["fp32"]["metrics"]["max_abs_diff"]["value"] <= 1e-4  # not OpenVINO's bf16 default
    if not HAS_BF16:
        assert batch1["bf16"]["status"] == "skipped" and run["machine"]["cpu"]["model"] in batch1["bf16"]["reason"]
    sizes = {c["variant"]: c["metrics"]["model_size_mb"]["value"] for c in records
             if c["scenario"] == "conversion" and c["framework"] == "openvino" and c["status"] == "ok"
             and "model_size_mb" in c["metrics"]}
    assert 40 < sizes["ir-for-inference"] < 50  # float32 weights (.xml + .bin): not compressed to fp16
    assert sizes["int8-for-inference"] < sizes["ir-for-inference"] / 3
    page = unescape((smoke_run.site / "inference.html").read_text())
    assert "OpenVINO (fp32)" in page and "OpenVINO (int8)" in page


def test_site_shows_the_measured_numbers(smoke_run: SmokeRun) -> None:
    site = smoke_run.site
    for page in ("index.html", "inference.html", "parity.html", "hardware.html", "methodology.html", "schema.html",
                 "profiles.html"):
        assert (site / page).is_file(), page
    html = (site / "inference.html").read_text()
    run = only_run(smoke_run)
    assert run["run_id"] in html and run["machine_id"] in html
    specs = re.findall(r'<script type="application/json" id="([a-z0-9-]+)-spec">(.*?)</script>', html, re.S)
    charts = {chart_id: json.loads(spec.replace("<\\/", "</")) for chart_id, spec in specs}
    latency = charts["latency-batch1"]
    assert len(latency["data"]) == len(CPU_VARIANTS) and all(trace["type"] == "box" for trace in latency["data"])
    assert {"throughput-sweep", "cold-start-parts", "peak-memory", "efficiency"} <= set(charts)
    for rec in (r for r in run["records"] if r["scenario"] == "inference" and r["status"] == "ok"):
        if rec["batch_size"] == 1:  # the latency table shows the stored value, as the page formats it
            assert fmt(rec["metrics"]["latency_ms_p50"]["value"], "ms") in html  # 1354.7 ms reads "1,355"
        else:  # the sweep table the throughput
            assert fmt(rec["metrics"]["throughput_ips"]["value"], "img/s") in html
    assert "Which runtime when" in html and "Batch-1 serving" in html
    assert "Site:" in smoke_run.stdout and "reportgen serve" in smoke_run.stdout


def test_the_browser_is_measured_beside_python_onnxruntime_or_skipped_with_the_reason(smoke_run: SmokeRun) -> None:
    run = only_run(smoke_run)
    recs = {r["variant"]: r for r in run["records"] if r["framework"] == catalog.BROWSER_RUNTIME}
    if BROWSER_MISSING is not None:
        assert [r["status"] for r in recs.values()] == ["skipped"]
        assert next(iter(recs.values()))["reason"] == BROWSER_MISSING
        return
    python = {r["variant"]: r for r in run["records"] if r["scenario"] == "browser" and r["framework"] == "onnxruntime"}
    for variant in catalog.BROWSER:
        rec = recs[variant.name]
        assert rec["status"] == "ok" and rec["device"] == "browser-wasm", rec["reason"]
        assert python[variant.python]["status"] == "ok" and rec["samples"]["latency_ms"]
        assert "top1_agreement" in rec["metrics"]
        if variant.precision == "fp32":
            assert rec["metrics"]["max_abs_diff"]["value"] <= thresholds.agreement_limit("fp32")
    inference = (smoke_run.site / "inference.html").read_text()
    assert "In the browser (ONNX Runtime Web)" in inference
    results_file = next(smoke_run.results.glob("*/*.json"))
    assert (web.demo_dir(results_file) / web.GALLERY_FILE).is_file()  # the Try-it page is built from these
    assert (smoke_run.site / "tryit" / "gallery.json").is_file()


def test_every_cpu_runtime_is_served_by_loadgen(smoke_run: SmokeRun) -> None:
    """Serving (issue 44): each runtime's fastest variant went through LoadGen's SingleStream, Offline and Server
    scenarios, with LoadGen's summary, how it was served and why the run is not MLPerf-valid; the page shows it."""
    from reportgen.store.records import Setting

    run = only_run(smoke_run)
    served = [r for r in run["records"] if r["scenario"] == "serving"]
    assert {r["framework"] for r in served if r["status"] == "ok"} == {
        "torch", "tensorflow", "keras-jax", "keras-torch", "onnxruntime", "tflite", "openvino"}, [
        (r["framework"], r["variant"], r["reason"]) for r in served if r["status"] != "ok"]
    for runtime in {r["framework"] for r in served}:
        mine = [r for r in served if r["framework"] == runtime]
        assert len({r["variant"] for r in mine}) == 1  # smoke serves the fastest variant of each runtime
        assert sorted(r["settings"][Setting.LOADGEN_SCENARIO] for r in mine) == ["Offline", "Server", "SingleStream"]
        for rec in mine:
            assert "MLPerf Results Summary" in rec["settings"][Setting.LOADGEN_SUMMARY]
            assert rec["settings"][Setting.SERVED_BY] and rec["settings"][Setting.MLPERF_INVALID]
        (server,) = [r for r in mine if r["settings"][Setting.LOADGEN_SCENARIO] == "Server"]
        assert server["settings"][Setting.PROBES] and "serving_capacity_qps" in server["metrics"]
    page = (smoke_run.site / "serving.html").read_text(encoding="utf-8")
    assert "not MLPerf-valid" in page and "serving-p99-load" in page


def test_keras_on_jax_and_on_pytorch_measured_beside_tensorflow(smoke_run: SmokeRun) -> None:
    """Both Keras backends: fp32 parity with the PyTorch reference within the fp32 limit, batch-1 timing, cold start
    and a training record from the same first batch as Keras on TensorFlow, each from its own environment."""
    records = only_run(smoke_run)["records"]
    for runtime, variant, backend in (("keras-jax", "jit", "jax"), ("keras-torch", "eager", "torch")):
        (batch1,) = [r for r in records
                     if (r["scenario"], r["framework"], r["batch_size"]) == ("inference", runtime, 1)]
        assert batch1["status"] == "ok" and batch1["variant"] == variant, batch1.get("reason")
        assert batch1["metrics"]["max_abs_diff"]["value"] <= thresholds.agreement_limit("fp32")
        assert batch1["settings"]["threads"]["keras_backend"] == backend
        (startup,) = [r for r in records if (r["scenario"], r["framework"]) == ("startup", runtime)]
        assert startup["metrics"]["first_call_s"]["value"] > 0
        (fit,) = [r for r in records if (r["scenario"], r["framework"]) == ("training", runtime)]
        assert fit["status"] == "ok" and fit["settings"]["keras_backend"] == backend, fit.get("reason")
        assert fit["settings"]["environment"]["name"] in (runtime, envs.SINGLE)
        (keras_tf,) = [r for r in records if (r["scenario"], r["framework"], r["variant"]) == ("training", "tensorflow",
                                                                                             "graph")]
        gap = abs(fit["metrics"]["initial_loss"]["value"] - keras_tf["metrics"]["initial_loss"]["value"])
        assert gap < 1e-3, "the same weights and the same first batch give the same first loss"
