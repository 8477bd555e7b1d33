"""TensorFlow/Keras inference through a ``tf.function`` graph."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.inference import predict_keras  # noqa: E402


class TensorFlowBackend:
    framework = "tensorflow"
    variant = "graph"

    def __init__(self, threads: int, device: str) -> None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        if device == "cpu":
            tf.config.set_visible_devices([], "GPU")
        self.device = device
        self.predict_fn: Any = None

    def thread_settings(self) -> dict[str, Any]:
        return {"tf.intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "tf.inter_op": tf.config.threading.get_inter_op_parallelism_threads()}

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        model = predict_keras.load_model(state, num_classes, image_size)
        self.predict_fn = predict_keras.make_predict(model)

    def to_input(self, images_nchw: np.ndarray) -> tf.Tensor:
        # Keras convolutions are channels-last: NCHW -> NHWC.
        return tf.constant(np.ascontiguousarray(images_nchw.transpose(0, 2, 3, 1)))

    def predict(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.predict_fn(inputs)

    def sync(self, outputs: tf.Tensor) -> None:
        outputs.numpy()  # materialise: waits for the device to finish

    def to_numpy(self, outputs: tf.Tensor) -> np.ndarray:
        return outputs.numpy()

    def peak_gpu_mem_mb(self) -> float | None:
        if self.device != "cuda":
            return None
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def make_backend(threads: int, device: str) -> TensorFlowBackend:
    return TensorFlowBackend(threads, device)
