"""ONNX Runtime: inference of the models exported from PyTorch and from Keras and of their INT8 versions, and
the INT8 quantization (dynamic, static) of the inference and the digits models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reportgen import catalog
from reportgen.artifacts import DIGITS_KERAS_ONNX, DIGITS_ONNX, DIGITS_ORT_INT8, ONNX_FILE, ORT_INT8_FILES
from reportgen.inputs import calibration_images
from reportgen.workloads.inference import predict_onnxruntime

if TYPE_CHECKING:
    from reportgen.process.runner import Context
    from reportgen.scenarios.conversion import Converter

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


class OnnxRuntimeBackend:
    """ONNX Runtime on one of the run's ONNX files (fp32 or INT8), with its intra-op threads set."""

    def __init__(self, variant: str, threads: int, device: str) -> None:
        self.variant, self.threads = catalog.find("onnxruntime", variant), threads
        self.provider = PROVIDERS[device]
        self.session: Any = None

    def thread_settings(self) -> dict[str, Any]:
        return {"ort.intra_op": self.threads, "ort.inter_op": 1, "ort.provider": self.provider}

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        path = os.path.join(artifacts, self.variant.model_file)
        self.session = predict_onnxruntime.load_session(path, self.threads, self.provider)

    def to_input(self, images_nchw: np.ndarray) -> np.ndarray:
        if self.variant.input_layout == "nhwc":  # the Keras export keeps Keras' channels-last input
            return np.ascontiguousarray(images_nchw.transpose(0, 2, 3, 1))
        return images_nchw

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return predict_onnxruntime.predict(self.session, inputs)

    def sync(self, outputs: np.ndarray) -> None:
        pass  # session.run returns host memory: the work is finished when it returns

    def to_numpy(self, outputs: np.ndarray) -> np.ndarray:
        return outputs

    def peak_gpu_mem_mb(self) -> float | None:
        return None  # ONNX Runtime exposes no peak counter


def make_backend(variant: str, threads: int, device: str) -> OnnxRuntimeBackend:
    """The backend of an ONNX Runtime variant (:class:`reportgen.backends.Backend`)."""
    return OnnxRuntimeBackend(variant, threads, device)


def export_inference_model(conv: Converter, ctx: Context) -> None:
    """Quantize the PyTorch ONNX file of the inference model to INT8: dynamic, and static QDQ calibrated on
    the run's own images."""
    from reportgen.workloads.quantize import onnxruntime_int8

    calibration, described = calibration_images(ctx.profile, ctx.seed)
    source = str(ctx.artifacts / ONNX_FILE)
    conv.attempt("int8-dynamic-for-inference", ORT_INT8_FILES["int8-dynamic"],
                 lambda p: onnxruntime_int8.quantize_int8_dynamic(source, str(p)))
    conv.attempt("int8-static-for-inference", ORT_INT8_FILES["int8-static"],
                 lambda p: onnxruntime_int8.quantize_int8_static(source, str(p), calibration), calibration=described)


def convert_digits(conv: Converter, ctx: Context) -> None:
    """Run both ONNX exports of the digits model (PyTorch's, Keras' in its NHWC layout) and quantize the
    PyTorch one to INT8 (dynamic, and static calibrated on the digits), running each."""
    from reportgen.workloads.quantize import onnxruntime_int8

    data = conv.data
    x_eval, x_calib = data["x_eval"], data["x_calib"]

    def run(path: Path, channels_last: bool = False) -> np.ndarray:
        session = predict_onnxruntime.load_session(str(path), ctx.threads)
        return predict_onnxruntime.predict(session, x_eval.transpose(0, 2, 3, 1).copy() if channels_last else x_eval)

    for source, variant in ((DIGITS_ONNX, "from-torch"), (DIGITS_KERAS_ONNX, "from-keras")):
        path = ctx.artifacts / source
        if path.exists():  # the Keras export keeps Keras' NHWC input layout
            conv.save_logits("onnxruntime", variant,
                             lambda p=path, v=variant: run(p, catalog.find("onnxruntime", v).input_layout == "nhwc"))
    source = str(ctx.artifacts / DIGITS_ONNX)
    conv.attempt("int8-dynamic", DIGITS_ORT_INT8["int8-dynamic"],
                 lambda p: onnxruntime_int8.quantize_int8_dynamic(source, str(p)),
                 ("onnxruntime", lambda _, p: run(p)))
    conv.attempt("int8-static", DIGITS_ORT_INT8["int8-static"],
                 lambda p: onnxruntime_int8.quantize_int8_static(source, str(p), x_calib),
                 ("onnxruntime", lambda _, p: run(p)))
