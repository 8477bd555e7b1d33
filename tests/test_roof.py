"""The machine's GEMM roofs: every library that sets its own threads gives a roof per precision and thread count."""

from pathlib import Path

import pytest

from reportgen import hardware
from reportgen.config import get_profile, profile_settings
from reportgen.process.runner import Context
from reportgen.scenarios import roof


@pytest.mark.parametrize("library", ["torch", "onnxruntime", "openvino"])
def test_a_library_gives_its_roof_per_precision_at_both_thread_counts(library: str, tmp_path: Path) -> None:
    """OpenVINO joined the roofs when its products outran the others' (and batch-1 networks outran the roof)."""
    pytest.importorskip(library)
    smoke = profile_settings(get_profile("smoke"))
    ctx = Context(artifacts=tmp_path, threads=2, device="cpu", seed=0, profile=smoke)
    (task,) = [t for t in roof.plan() if t.framework == library]
    records = roof.run_task(task, ctx)
    bf16 = bool(hardware.cpu_flags() & set(hardware.BF16_FLAGS))
    expected = {(p, n) for p in roof.PRECISIONS[library] for n in (2, 1) if p != "bf16" or bf16}
    assert {(r["precision"], r["settings"]["threads"]) for r in records} == expected
    for rec in records:
        assert rec["status"] == "ok" and rec["metrics"]["gemm_gflops"]["value"] > 0
        sizes = smoke["roof"]["sizes" if (rec["precision"], rec["settings"]["threads"]) == ("fp32", 2) else
                              "extra_sizes"]
        assert set(rec["settings"]["gflops_per_size"]) == {str(s) for s in sizes}
