"""OpenVINO on the CPU: inference of the PyTorch model's ONNX export as IR (fp32, or bf16 where the CPU has it)
and of its NNCF INT8 version, and the conversions (IR from ONNX and from PyTorch, NNCF INT8, the
``torch.compile`` backend) of the inference and the digits models."""

from __future__ import annotations

import importlib.util
import os
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import openvino as ov

from reportgen import catalog
from reportgen.artifacts import (
    DIGITS_CLASSES,
    DIGITS_IMAGE_SIZE,
    DIGITS_ONNX,
    DIGITS_OPENVINO,
    DIGITS_WEIGHTS,
    ONNX_FILE,
    OPENVINO_FILES,
)
from reportgen.hardware import has_bf16
from reportgen.inputs import calibration_images
from reportgen.workloads.inference import predict_openvino

if TYPE_CHECKING:
    from reportgen.process.runner import Context
    from reportgen.scenarios.conversion import Converter

PRECISION_HINTS = {"fp32": "f32", "int8": "f32", "bf16": "bf16"}  # INT8: the layers left in float run in f32
RECORDED = ("PERFORMANCE_HINT", "NUM_STREAMS", "INFERENCE_NUM_THREADS", "INFERENCE_PRECISION_HINT",
            "ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING", "SCHEDULING_CORE_TYPE")


class OpenVinoBackend:
    """OpenVINO compiling one of the run's IR files for the CPU, with its threads and hints pinned."""

    def __init__(self, variant: str, threads: int, device: str) -> None:
        if device != "cpu":
            raise ValueError(f"the OpenVINO variants run on the CPU only, not {device}")
        self.variant, self.threads = catalog.find("openvino", variant), threads
        self.compiled: Any = None
        self.request: Any = None

    def thread_settings(self) -> dict[str, Any]:
        """The hints asked for and what the compiled model reports it uses (streams, threads, precision, pinning)."""
        settings: dict[str, Any] = {"openvino": metadata.version("openvino"), "ov.device": "CPU",
                                    "ov.requested_precision": PRECISION_HINTS[self.variant.precision]}
        for name in RECORDED:
            try:
                settings[f"ov.{name}"] = _plain(self.compiled.get_property(name))
            except RuntimeError:  # a property this version does not report
                pass
        return settings

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        path = os.path.join(artifacts, self.variant.model_file)
        hint = PRECISION_HINTS[self.variant.precision]
        self.compiled = predict_openvino.compile_model(path, self.threads, hint)
        # OpenVINO falls back to f32 silently where the CPU lacks bf16: refuse to measure that as bf16
        actual = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        if actual != hint:
            raise RuntimeError(f"inference precision {hint} requested but the CPU plugin runs {actual}")
        self.request = self.compiled.create_infer_request()

    def to_input(self, images_nchw: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(images_nchw)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return predict_openvino.predict(self.request, inputs)

    def sync(self, outputs: np.ndarray) -> None:
        pass  # infer() is synchronous: the work is finished when it returns

    def to_numpy(self, outputs: np.ndarray) -> np.ndarray:
        return outputs

    def peak_gpu_mem_mb(self) -> float | None:
        return None


def _plain(value: Any) -> Any:
    """A property value as JSON: a type as ``f32``/``bf16``, an enum by its name, numbers and flags as they are."""
    if isinstance(value, ov.Type):
        return value.to_string()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value).rsplit(".", 1)[-1]  # SchedulingCoreType.ANY_CORE -> ANY_CORE


def make_backend(variant: str, threads: int, device: str) -> OpenVinoBackend:
    """The backend of an OpenVINO variant (:class:`reportgen.backends.Backend`)."""
    return OpenVinoBackend(variant, threads, device)


NO_IR = "needs the OpenVINO IR, whose conversion failed (see its record)"


def nncf_missing() -> str | None:
    """Why NNCF cannot quantize here (not installed), or None."""
    if importlib.util.find_spec("nncf") is None:
        return "nncf is not installed (pip install 'reportgen[openvino]')"
    return None


def export_inference_model(conv: Converter, ctx: Context) -> None:
    """Convert the PyTorch ONNX file of the inference model to IR (fp32 weights) and quantize that to INT8 with
    NNCF, calibrated on the same images as ONNX Runtime's static INT8."""
    from reportgen.workloads.export import to_openvino

    source, fp32 = str(ctx.artifacts / ONNX_FILE), OPENVINO_FILES["fp32"]
    converted = conv.attempt("ir-for-inference", fp32, lambda p: to_openvino.convert_onnx(source, str(p)))
    if missing := nncf_missing() or (None if converted is not None else NO_IR):
        conv.skip("int8-for-inference", OPENVINO_FILES["int8"], missing)
        return
    from reportgen.workloads.quantize import openvino_int8

    calibration, described = calibration_images(ctx.profile, ctx.seed)
    conv.attempt("int8-for-inference", OPENVINO_FILES["int8"],
                 lambda p: openvino_int8.quantize_int8(str(ctx.artifacts / fp32), str(p), calibration),
                 calibration=described)


def convert_digits(conv: Converter, ctx: Context) -> None:
    """Convert the digits model to IR from its ONNX file and from the PyTorch module, quantize the IR to INT8
    with NNCF and try ``torch.compile(backend="openvino")``, running each (fp32 pinned, so that a silent
    fallback cannot check the wrong precision); on a CPU with bfloat16 instructions also run the IR in bf16."""
    import torch

    from reportgen.workloads.export import to_openvino
    from reportgen.workloads.models.resnet_torch import build_resnet18, load_state_numpy

    torch.set_num_threads(ctx.threads)
    data = conv.data
    x_eval, x_calib = data["x_eval"], data["x_calib"]

    def run(path: Path, precision: str = "f32") -> np.ndarray:
        compiled = predict_openvino.compile_model(str(path), ctx.threads, precision)
        actual = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        if actual != precision:  # a silent fallback would check the wrong precision
            raise RuntimeError(f"inference precision {precision} requested but the CPU plugin runs {actual}")
        return predict_openvino.predict(compiled.create_infer_request(), x_eval)

    ir = ctx.artifacts / DIGITS_OPENVINO["ir"]
    onnx = str(ctx.artifacts / DIGITS_ONNX)
    conv.attempt("ir", DIGITS_OPENVINO["ir"], lambda p: to_openvino.convert_onnx(onnx, str(p)),
                 ("openvino", lambda _, p: run(p)))
    if ir.exists() and has_bf16():  # the same IR at OpenVINO's bf16 inference precision
        conv.save_logits("openvino", "bf16", lambda: run(ir, "bf16"))

    model = build_resnet18(DIGITS_CLASSES, seed=ctx.seed)
    with np.load(ctx.artifacts / DIGITS_WEIGHTS) as npz:
        load_state_numpy(model, {k: npz[k] for k in npz.files})
    model.eval()
    conv.attempt("ir-from-torch", DIGITS_OPENVINO["ir-from-torch"],
                 lambda p: to_openvino.convert_torch(model, str(p), DIGITS_IMAGE_SIZE),
                 ("openvino", lambda _, p: run(p)))
    if missing := nncf_missing() or (None if ir.exists() else NO_IR):
        conv.skip("int8", DIGITS_OPENVINO["int8"], missing)
    else:
        from reportgen.workloads.quantize import openvino_int8

        conv.attempt("int8", DIGITS_OPENVINO["int8"],
                     lambda p: openvino_int8.quantize_int8(str(ir), str(p), x_calib), ("openvino", lambda _, p: run(p)))

    def compile_openvino(_: Path) -> torch.nn.Module:
        import openvino.torch  # noqa: F401  (registers the "openvino" backend of torch.compile)

        compiled = torch.compile(model, backend="openvino")
        with torch.inference_mode():
            compiled(torch.from_numpy(x_eval[:2]))  # compiles on the first call
        return compiled

    def run_compiled(compiled: torch.nn.Module, _: Path) -> np.ndarray:
        with torch.inference_mode():
            return compiled(torch.from_numpy(x_eval)).numpy()

    conv.attempt("torch.compile", "none (a compiled function)", compile_openvino, ("openvino", run_compiled))
