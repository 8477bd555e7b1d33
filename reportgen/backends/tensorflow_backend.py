"""TensorFlow/Keras inference: eager, tf.function graph, XLA, and mixed precision (fp16 on CUDA, bf16)."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.inference import predict_keras  # noqa: E402


def onednn_enabled() -> bool:
    """Whether this TensorFlow process runs its oneDNN CPU kernels (``TF_ENABLE_ONEDNN_OPTS``; TensorFlow's
    own default turns them off on CPUs without AVX-512, where its fallback kernels train far slower)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # the private probe moved: fall back to what was asked for
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "") in ("1", "true", "True")


class TensorFlowBackend:
    def __init__(self, variant: str, threads: int, device: str) -> None:
        # settable only before TensorFlow starts its runtime: in a process shared by several variants, the first
        # one sets them (every member of a shared task has the same thread count and device)
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        if tf.config.threading.get_inter_op_parallelism_threads() != 1:
            tf.config.threading.set_inter_op_parallelism_threads(1)
        if device == "cpu" and tf.config.get_visible_devices("GPU"):
            tf.config.set_visible_devices([], "GPU")
        self.variant, self.device = variant, device
        self.predict_fn: Any = None

    def thread_settings(self) -> dict[str, Any]:
        return {"tf.intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "tf.inter_op": tf.config.threading.get_inter_op_parallelism_threads(), "tf.onednn": onednn_enabled()}

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        policy = {"mixed-fp16": "mixed_float16", "mixed-bf16": "mixed_bfloat16"}.get(self.variant)
        if policy:
            predict_keras.use_mixed_precision(policy)
        else:  # the policy is global: a process shared by several variants must not inherit the last one's
            tf.keras.mixed_precision.set_global_policy("float32")
        model = predict_keras.load_model(state, num_classes, image_size)
        mode = "graph" if policy else self.variant
        self.predict_fn = predict_keras.make_predict(model, mode)

    def to_input(self, images_nchw: np.ndarray) -> tf.Tensor:
        # Keras convolutions are channels-last: NCHW -> NHWC.
        return tf.constant(np.ascontiguousarray(images_nchw.transpose(0, 2, 3, 1)))

    def predict(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.predict_fn(inputs)

    def sync(self, outputs: tf.Tensor) -> None:
        outputs.numpy()  # materialise: waits for the device to finish

    def to_numpy(self, outputs: tf.Tensor) -> np.ndarray:
        return np.asarray(outputs.numpy(), dtype=np.float32)

    def peak_gpu_mem_mb(self) -> float | None:
        if self.device != "cuda":
            return None
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def make_backend(variant: str, threads: int, device: str) -> TensorFlowBackend:
    return TensorFlowBackend(variant, threads, device)
