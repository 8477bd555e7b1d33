"""OpenVINO and bf16 without a run: the catalog's entries, the CPU-flag skips, the IR's size, a missing NNCF, and
the workload code on a small model (fp32 pinned, bf16 where the CPU has it, NNCF INT8)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from reportgen import catalog, hardware
from reportgen.backends import missing_reason
from reportgen.process import envs
from reportgen.process.runner import Context
from reportgen.scenarios import conversion, inference, prepare, training

NO_BF16 = frozenset({"sse4_2", "avx2", "avx512f", "avx512_vnni"})


def test_openvino_is_one_runtime_with_its_variants_conversions_and_candidates() -> None:
    assert catalog.RUNTIMES["openvino"].family == "openvino" and "openvino" in catalog.families()
    variants = {v.name: v for v in catalog.selected(["openvino"])}
    assert set(variants) == {"fp32", "int8", "bf16"}
    assert variants["fp32"].model_file == variants["bf16"].model_file  # bf16 is a precision, not a file
    assert all(v.cpu_only and v.made_by == "prepare/openvino" for v in variants.values())
    for v in variants.values():
        assert catalog.candidate(*v.accuracy).precision == v.precision
    assert catalog.conversion("openvino", "torch.compile").model == "digits"


def test_missing_openvino_is_a_one_line_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    real = envs.importable
    monkeypatch.setattr(envs, "importable", lambda name, framework: name != "openvino" and real(name, framework))
    assert missing_reason("openvino") == "openvino is not installed (pip install 'reportgen[openvino]')"
    real_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "nncf" else real_spec(name, *a))
    pytest.importorskip("openvino")
    from reportgen.backends import openvino_backend

    assert openvino_backend.nncf_missing() == "nncf is not installed (pip install 'reportgen[openvino]')"


def test_bf16_is_skipped_on_a_cpu_without_it_naming_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "cpu_flags", lambda: NO_BF16)
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: {"model name": "Intel Xeon Platinum 8272CL"})
    amp = catalog.find("torch", "amp-bf16")
    reason = inference.unsupported(amp, "cpu")
    assert reason == ("PyTorch AMP bf16 on a CPU needs one of the CPU flags avx512_bf16, amx_bf16, bf16; "
                      "this CPU (Intel Xeon Platinum 8272CL) lists none of them")
    assert inference.unsupported(amp, "cuda") is None  # on a GPU the flags do not matter
    assert inference.unsupported(catalog.find("openvino", "bf16"), "cuda")  # cpu_only: the CPU decides
    assert inference.unsupported(catalog.find("openvino", "fp32"), "cpu") is None
    tasks = inference.plan(["openvino"], {"inference": {"rounds": 1, "thread_counts": (0, 1)}}, "cpu", 2)
    assert [t.variant for t in tasks if t.params.get("unsupported")] == ["bf16"]
    (scaling,) = [t for t in tasks if "threads" in t.key]  # the thread-scaling runs share one process
    assert "bf16" not in {m["variant"] for m in scaling.members}  # no thread scaling of a skipped one
    profile = {"training": {"workers": 2}}
    skipped = {t.variant: t.params["unsupported"] for t in training.plan(["torch", "tensorflow"], profile, "cpu", 2)
               if t.scenario == "training" and "unsupported" in t.params}
    assert set(skipped) == {"amp-fp16", "mixed-fp16", "amp-bf16", "mixed-bf16"}
    assert "Intel Xeon Platinum 8272CL" in skipped["mixed-bf16"]


def test_bf16_runs_where_the_cpu_lists_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "cpu_flags", lambda: NO_BF16 | {"amx_bf16"})
    for v in catalog.VARIANTS:
        if v.precision == "bf16":
            assert inference.unsupported(v, "cpu") is None, v.name


def test_an_ir_counts_its_weights_and_a_skipped_conversion_is_recorded(tmp_path: Path) -> None:
    (tmp_path / "m.xml").write_bytes(b"x" * 1_000_000)
    (tmp_path / "m.bin").write_bytes(b"x" * 3_000_000)
    assert conversion.size_mb(tmp_path / "m.xml") == 4.0
    ctx = Context(artifacts=tmp_path, threads=1, device="cpu", seed=0, profile={})
    conv = conversion.Converter(next(t for t in conversion.TASKS if t.framework == "openvino"), ctx)
    conv.skip("int8", "q.xml", "nncf is not installed")
    (rec,) = conv.records
    assert (rec["status"], rec["precision"], rec["reason"]) == ("skipped", "int8", "nncf is not installed")
    assert rec["settings"]["converter"].startswith("nncf.quantize")


@pytest.fixture(scope="module")
def small_ir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """ResNet-18 for 10 classes at 32x32 as IR, converted from the PyTorch module, with its own logits."""
    pytest.importorskip("openvino")
    torch = pytest.importorskip("torch")
    from reportgen.workloads.export import to_openvino
    from reportgen.workloads.models.resnet_torch import build_resnet18

    folder = tmp_path_factory.mktemp("ir")
    model = build_resnet18(10, seed=0).eval()
    images = np.random.default_rng(0).standard_normal((4, 3, 32, 32), dtype=np.float32)
    with torch.inference_mode():
        reference = model(torch.from_numpy(images)).numpy()
    to_openvino.convert_torch(model, str(folder / "m.xml"), 32)
    return folder / "m.xml", images, reference


def test_the_backend_pins_f32_and_records_its_hints(small_ir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    from reportgen.backends.openvino_backend import make_backend

    path, images, reference = small_ir
    backend = make_backend("fp32", 1, "cpu")
    backend.variant = catalog.Variant("openvino", "fp32", "t", "pytorch", "exported", model_file=path.name)
    backend.load({}, str(path.parent), 10, 32)
    logits = backend.to_numpy(backend.predict(backend.to_input(images)))
    assert np.max(np.abs(logits - reference)) < 1e-4
    settings = backend.thread_settings()
    assert settings["ov.INFERENCE_PRECISION_HINT"] == "f32" and settings["ov.INFERENCE_NUM_THREADS"] == 1
    assert settings["ov.PERFORMANCE_HINT"] == "LATENCY" and settings["ov.NUM_STREAMS"] == 1
    if hardware.lacks_cpu_flags(catalog.BF16_FLAGS) is None:
        bf16 = make_backend("bf16", 1, "cpu")
        bf16.variant = catalog.Variant("openvino", "bf16", "t", "pytorch", "exported", "bf16", model_file=path.name)
        bf16.load({}, str(path.parent), 10, 32)
        assert bf16.thread_settings()["ov.INFERENCE_PRECISION_HINT"] == "bf16"
        diff = np.max(np.abs(bf16.predict(images) - reference))
        assert 0 < diff < 0.5  # bfloat16: close, not equal


def test_nncf_quantizes_the_ir_to_a_smaller_model_that_still_runs(small_ir: tuple[Path, np.ndarray, np.ndarray],
                                                                   tmp_path: Path) -> None:
    pytest.importorskip("nncf")
    from reportgen.workloads.inference import predict_openvino
    from reportgen.workloads.quantize import openvino_int8

    path, images, reference = small_ir
    openvino_int8.quantize_int8(str(path), str(tmp_path / "q.xml"), images)
    assert conversion.size_mb(tmp_path / "q.xml") < conversion.size_mb(path) / 3
    compiled = predict_openvino.compile_model(str(tmp_path / "q.xml"), 1)
    logits = predict_openvino.predict(compiled.create_infer_request(), images)
    assert logits.shape == reference.shape and np.isfinite(logits).all()


def test_a_failed_ir_conversion_is_recorded_and_int8_is_skipped_with_why(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openvino")
    (tmp_path / "resnet18.onnx").write_bytes(b"not an onnx file")
    ctx = Context(artifacts=tmp_path, threads=1, device="cpu", seed=0,
                  profile={"inference": {"image_size": 32, "num_classes": 10}})
    task = next(t for t in prepare.TASKS if t.framework == "openvino")
    ir, int8 = prepare.run_task(task, ctx)
    assert (ir["variant"], ir["status"]) == ("ir-for-inference", "failed") and "conversion failed" in ir["reason"]
    from reportgen.backends import openvino_backend

    assert (int8["variant"], int8["status"], int8["reason"]) == ("int8-for-inference", "skipped",
                                                                 openvino_backend.NO_IR)
    monkeypatch.setattr(openvino_backend, "nncf_missing", lambda: "nncf is not installed (pip install nncf)")
    _, int8 = prepare.run_task(task, ctx)
    assert int8["status"] == "skipped" and int8["reason"].startswith("nncf is not installed")
