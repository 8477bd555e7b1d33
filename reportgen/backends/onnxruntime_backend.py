"""ONNX Runtime inference of the model exported from PyTorch."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from benchmarks.inference import predict_onnxruntime
from reportgen.artifacts import ONNX_FILE

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


class OnnxRuntimeBackend:
    framework = "onnxruntime"
    variant = "from-torch"

    def __init__(self, threads: int, device: str) -> None:
        self.threads = threads
        self.provider = PROVIDERS[device]
        self.session: Any = None

    def thread_settings(self) -> dict[str, Any]:
        return {"ort.intra_op": self.threads, "ort.inter_op": 1, "ort.provider": self.provider}

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        self.session = predict_onnxruntime.load_session(os.path.join(artifacts, ONNX_FILE), self.threads,
                                                        self.provider)

    def to_input(self, images_nchw: np.ndarray) -> np.ndarray:
        return images_nchw

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return predict_onnxruntime.predict(self.session, inputs)

    def sync(self, outputs: np.ndarray) -> None:
        pass  # session.run returns host memory: the work is finished when it returns

    def to_numpy(self, outputs: np.ndarray) -> np.ndarray:
        return outputs

    def peak_gpu_mem_mb(self) -> float | None:
        return None  # ORT exposes no peak counter; nvidia-smi sampling is the inference issue's job


def make_backend(threads: int, device: str) -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend(threads, device)
