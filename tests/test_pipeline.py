"""A run goes on when a framework is missing, and says why its columns are empty."""

import dataclasses
import io
from pathlib import Path

import pytest
from rich.console import Console

from reportgen import catalog
from reportgen.config import get_profile
from reportgen.run.pipeline import RunOptions, measure


@pytest.mark.slow
def test_missing_framework_is_skipped_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(catalog.RUNTIMES, "tensorflow",
                        dataclasses.replace(catalog.RUNTIMES["tensorflow"], packages=("tensorflow_not_here",)))
    monkeypatch.setenv("REPORTGEN_CHROMIUM", str(tmp_path / "no-chromium"))  # the browser is not what this tests
    smoke = get_profile("smoke")
    profile = dataclasses.replace(smoke, inference=dataclasses.replace(smoke.inference, thread_counts=(0,)),
                                  conversion=dataclasses.replace(smoke.conversion, train_epochs=1))
    opts = RunOptions(profile=profile, frameworks=["tensorflow", "onnxruntime"], results_dir=tmp_path, device="cpu",
                      threads=1, command=["test"])
    out = io.StringIO()
    run, path = measure(opts, Console(file=out, width=200))
    assert run["status"] == "complete" and path.is_file()
    assert "Where the time went" in out.getvalue() and "all tasks" in out.getvalue()  # the cost of each scenario
    assert all(r["settings"]["task_s"] >= 0 for r in run["records"] if r["status"] == "ok" and "task" in r["settings"]
               and r["scenario"] not in ("parity",))
    inference = [r for r in run["records"] if r["scenario"] == "inference" and r["batch_size"] in (1, None)]
    by_key = {(r["framework"], r["variant"]): r for r in inference}
    for variant in ("eager", "graph", "xla"):
        skipped = by_key[("tensorflow", variant)]
        assert skipped["status"] == "skipped"
        assert skipped["reason"] == "tensorflow_not_here is not installed (pip install 'reportgen[tensorflow]')"
    # the TFLite files come from the (skipped) TensorFlow step: skipped too, saying what is missing
    assert by_key[("tflite", "fp32")]["status"] == "skipped"
    assert "needs resnet18.tflite" in by_key[("tflite", "fp32")]["reason"]
    ort = by_key[("onnxruntime", "from-torch")]
    assert ort["status"] == "ok" and ort["metrics"]["max_abs_diff"]["value"] <= 1e-4
    assert run["options"]["threads"] == 1 and ort["settings"]["threads"]["ort.intra_op"] == 1
