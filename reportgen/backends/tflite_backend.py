"""TFLite inference (XNNPACK on CPU) of the Keras model, in float32 and INT8."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from reportgen import catalog
from reportgen.workloads.inference import predict_tflite


class TFLiteBackend:
    """The LiteRT (or tf.lite) interpreter on one of the run's .tflite files, with its threads set."""

    def __init__(self, variant: str, threads: int, device: str) -> None:
        self.variant, self.threads = catalog.find("tflite", variant), threads
        self.interpreter: Any = None

    def thread_settings(self) -> dict[str, Any]:
        return {"tflite.num_threads": self.threads, "interpreter": predict_tflite.INTERPRETER}

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        path = os.path.join(artifacts, self.variant.model_file)
        self.interpreter = predict_tflite.load_interpreter(path, self.threads)

    def to_input(self, images_nchw: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(images_nchw.transpose(0, 2, 3, 1))

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return predict_tflite.predict(self.interpreter, inputs)

    def sync(self, outputs: np.ndarray) -> None:
        pass  # invoke() returns when the work is done

    def to_numpy(self, outputs: np.ndarray) -> np.ndarray:
        return outputs

    def peak_gpu_mem_mb(self) -> float | None:
        return None


def make_backend(variant: str, threads: int, device: str) -> TFLiteBackend:
    """The backend of a TFLite variant (:class:`reportgen.backends.Backend`)."""
    return TFLiteBackend(variant, threads, device)
