"""A run goes on when a framework is missing, and says why its column is empty."""

import io
from pathlib import Path

import pytest
from rich.console import Console

from reportgen import backends
from reportgen.config import get_profile
from reportgen.pipeline import RunOptions, measure


def test_missing_framework_is_skipped_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backends.BACKENDS, "tensorflow",
                        ("reportgen.backends.tensorflow_backend", "tensorflow_not_here", "tensorflow"))
    opts = RunOptions(profile=get_profile("smoke"), frameworks=["tensorflow", "onnxruntime"],
                      results_dir=tmp_path, device="cpu", threads=1, command=["test"])
    run, path = measure(opts, Console(file=io.StringIO()))
    assert run["status"] == "complete" and path.is_file()
    by_key = {(r["scenario"], r["framework"]): r for r in run["records"]}
    skipped = by_key[("inference", "tensorflow")]
    assert skipped["status"] == "skipped"
    assert skipped["reason"] == "tensorflow_not_here is not installed (pip install 'reportgen[tensorflow]')"
    assert by_key[("inference", "onnxruntime")]["status"] == "ok"
    assert by_key[("inference", "onnxruntime")]["metrics"]["max_abs_diff"]["value"] <= 1e-4
    assert run["options"]["threads"] == 1
    assert by_key[("inference", "onnxruntime")]["settings"]["threads"]["ort.intra_op"] == 1
