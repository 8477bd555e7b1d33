"""A CUDA run's findings compare like with like: the CPU-only variants it also times are not picked against
the GPU processes (seen on an H200: ONNX Runtime INT8 on the CPU was named the leanest and quickest to start)."""

import html

from reportgen.report import findings


def _record(framework: str, variant: str, precision: str, device: str, scenario: str, batch: int,
            **metrics: float) -> dict:
    return {"framework": framework, "variant": variant, "scenario": scenario, "batch_size": batch, "status": "ok",
            "precision": precision, "device": device, "reason": "", "samples": {},
            "metrics": {k: {"value": v, "unit": ""} for k, v in metrics.items()}, "settings": {}}


def test_start_up_memory_and_throughput_picks_stay_on_the_runs_device() -> None:
    recs = []  # measured on an H200 (torch 2.11): PyTorch on CUDA, ONNX Runtime INT8 on the CPU beside it
    for framework, variant, precision, device, ms, rss, cold, ips in (
            ("torch", "eager", "fp32", "cuda", 2.7, 1078.0, 9.6, 21689.0),
            ("torch", "channels-last", "fp32", "cuda", 2.4, 1051.0, 9.2, 29222.0),
            ("onnxruntime", "int8-static", "int8", "cpu", 17.1, 194.3, 0.15, 154.0)):
        recs += [_record(framework, variant, precision, device, "inference", 1, latency_ms_p50=ms, peak_rss_mb=rss),
                 _record(framework, variant, precision, device, "inference", 512, throughput_ips=ips),
                 _record(framework, variant, precision, device, "startup", 1, cold_start_s=cold)]
    run = {"profile": {"name": "quick"}, "options": {"device": "cuda"}, "records": recs}
    text = html.unescape(" ".join(str(line) for line in findings.inference_findings(run)))
    assert "PyTorch (channels-last, cuda) went from a fresh process to its first result in the least time (9.20 s;" \
        in text
    assert "PyTorch (channels-last, cuda) has the smallest peak resident memory at batch 1 (1,051 MB)" in text
    assert "PyTorch (channels-last, cuda) processes the most images, at batch 512" in text
    assert "in the variant's first round: an observation, not a verdict" in text  # one sweep per variant
    assert "int8-static) went from" not in text and "int8-static) has the smallest" not in text
    run["options"]["device"] = "cpu"  # the same records read as a CPU run's: the CPU process is the only one
    text = html.unescape(" ".join(str(line) for line in findings.inference_findings(run)))
    assert "ONNX Runtime (int8-static) went from a fresh process to its first result in the least time " \
        "(0.150 s;" in text


def test_fp32_on_tf32_tensor_cores_is_judged_by_its_own_mantissa() -> None:
    """On an H200 every fp32 PyTorch variant was 1.9e-3 to 2.2e-3 off the CPU reference (cuDNN convolutions on
    TF32 by default) and was flagged, which also dropped all of them from the batch-1 pick and the Scorecard."""
    from reportgen.report.pages.inference import _detail_table

    eager = _record("torch", "eager", "fp32", "cuda", "inference", 1, latency_ms_p50=2.7, max_abs_diff=1.9e-3)
    tf32 = {**eager, "variant": "compile", "settings": {"threads": {"torch.intra_op": 16, "tf32": True}}}
    exact = {**eager, "variant": "channels-last", "settings": {"threads": {"torch.intra_op": 16, "tf32": False}}}
    assert findings.arithmetic(tf32) == "tf32" and findings.agrees(tf32)
    assert findings.arithmetic(exact) == "fp32" and not findings.agrees(exact)  # true fp32 keeps the fp32 limit
    assert findings.arithmetic(eager) == "fp32" and not findings.agrees(eager)  # records that do not say: fp32
    table = html.unescape(str(_detail_table({"records": []}, [tf32, exact])))  # escaped: text from results is data
    assert "| 1.9e-03 (tf32) |" in table and "| 1.9e-03 ⚠ |" in table


def test_a_cuda_runs_pages_say_which_rows_ran_on_the_cpu() -> None:
    """The stored smoke run read as if its PyTorch processes had run on a GPU: the rows of the variants that run
    only on the CPU carry no device in their label, so the Inference page names them, Home's key numbers get a
    device column, and the Scorecard's memory and start-up rows leave them out."""
    from conftest import FIXTURE_RESULTS

    from reportgen.report.pages import home, inference, scorecard
    from reportgen.store.results import ResultStore

    loaded = ResultStore(FIXTURE_RESULTS).load_all()
    (run,) = loaded.runs
    assert inference.context(run, loaded)["on_cpu"] == []  # a CPU run: every row ran on the run's device
    assert "| device |" not in html.unescape(str(home.context(run, loaded)["key_tables"][0]["table"]))
    run["options"]["device"] = "cuda"
    for rec in run["records"]:
        if rec["framework"] == "torch" and rec["scenario"] in ("inference", "startup"):
            rec["device"] = "cuda"
        if "peak_rss_mb" in rec["metrics"]:  # a fixture stored before the runtime's own peak was measured
            rec["metrics"].setdefault("runtime_peak_mb", {"value": 100.0, "unit": "MB"})
    on_cpu = inference.context(run, loaded)["on_cpu"]
    assert on_cpu and all("cuda" not in name and not name.startswith("PyTorch") for name in on_cpu)
    assert "ONNX Runtime (from-torch)" in on_cpu
    keys = {t["precision"]: html.unescape(str(t["table"])) for t in home.context(run, loaded)["key_tables"]}
    assert keys["fp32"].startswith("| framework | variant | device |") and "| eager | cuda |" in keys["fp32"]
    assert "| ONNX Runtime | from-torch | cpu |" in keys["fp32"]  # Home's key numbers say where each row ran
    table = html.unescape(str(scorecard.context(run, loaded)["table"]))
    memory = next(line for line in table.splitlines() if line.startswith("| Memory"))
    assert "(PyTorch (" in memory and ", cuda))" in memory, memory  # PyTorch's, on the GPU, named as such
    assert memory.count(" MB") == 1, memory  # the other frameworks' CPU processes are not ranked beside it
