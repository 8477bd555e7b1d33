"""ONNX Runtime inference of the models exported from PyTorch and from Keras, and their INT8 versions."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from benchmarks.inference import predict_onnxruntime
from reportgen import catalog

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


class OnnxRuntimeBackend:
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
    return OnnxRuntimeBackend(variant, threads, device)
