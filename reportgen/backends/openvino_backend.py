"""OpenVINO inference on the CPU: the PyTorch model's ONNX export as IR (fp32, or bf16 where the CPU has it), and
its NNCF INT8 version."""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

import numpy as np
import openvino as ov

from benchmarks.inference import predict_openvino
from reportgen import catalog

PRECISION_HINTS = {"fp32": "f32", "int8": "f32", "bf16": "bf16"}  # INT8: the layers left in float run in f32
RECORDED = ("PERFORMANCE_HINT", "NUM_STREAMS", "INFERENCE_NUM_THREADS", "INFERENCE_PRECISION_HINT",
            "ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING", "SCHEDULING_CORE_TYPE")


class OpenVinoBackend:
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
    return OpenVinoBackend(variant, threads, device)
