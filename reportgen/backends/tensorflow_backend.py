"""TensorFlow/Keras: inference (eager, tf.function graph, XLA, and mixed precision: fp16 on CUDA, bf16), and
the Keras exports (ONNX, SavedModel, TFLite float32 and INT8) of the inference and the digits models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from reportgen import catalog  # noqa: E402
from reportgen.artifacts import (  # noqa: E402
    DIGITS_CLASSES,
    DIGITS_IMAGE_SIZE,
    DIGITS_KERAS_ONNX,
    DIGITS_LOGITS,
    DIGITS_SAVEDMODEL,
    DIGITS_TFLITE,
    DIGITS_WEIGHTS,
    KERAS_ONNX_FILE,
    TFLITE_FILES,
    WEIGHTS_FILE,
)
from reportgen.hardware import has_bf16  # noqa: E402
from reportgen.inputs import calibration_images  # noqa: E402
from reportgen.store.records import Setting
from reportgen.store.results import make_record  # noqa: E402
from reportgen.workloads.inference import predict_keras  # noqa: E402

if TYPE_CHECKING:
    from reportgen.process.runner import Context
    from reportgen.scenarios.conversion import Converter


def onednn_enabled() -> bool:
    """Whether this TensorFlow process runs its oneDNN CPU kernels (``TF_ENABLE_ONEDNN_OPTS``; TensorFlow's
    own default turns them off on CPUs without AVX-512, where its fallback kernels train far slower)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # the private probe moved: fall back to what was asked for
        from reportgen.process.runner import onednn_requested

        return onednn_requested(os.environ)


def use_device(device: str) -> None:
    """Make TensorFlow run where the run measures: hide the GPUs in a CPU run; in a CUDA run refuse to go on
    when TensorFlow sees no GPU, where it would run on the CPU without a word (a wheel without CUDA support)."""
    if device == "cpu" and tf.config.get_visible_devices("GPU"):
        tf.config.set_visible_devices([], "GPU")
    if device == "cuda" and not tf.config.list_physical_devices("GPU"):
        from reportgen.process import envs

        fix = envs.install_hint("'tensorflow[and-cuda]'", "tensorflow")
        raise RuntimeError(f"--device cuda, but TensorFlow sees no GPU (it would run on the CPU): install its CUDA "
                           f"support ({fix})")


class TensorFlowBackend:
    """The Keras ResNet-18 with the reference weights, called eagerly, as a tf.function or XLA-compiled."""

    def __init__(self, variant: str, threads: int, device: str) -> None:
        # settable only before TensorFlow starts its runtime: in a process shared by several variants, the first
        # one sets them (every member of a shared task has the same thread count and device)
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        if tf.config.threading.get_inter_op_parallelism_threads() != 1:
            tf.config.threading.set_inter_op_parallelism_threads(1)
        use_device(device)
        self.variant, self.device = variant, device
        self.predict_fn: Any = None

    def thread_settings(self) -> dict[str, Any]:
        settings = {"tf.intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "tf.inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
                    "tf.onednn": onednn_enabled()}
        if self.device == "cuda":  # TensorFlow runs fp32 convolutions and matmuls on TF32 tensor cores by default
            settings["tf32"] = tf.config.experimental.tensor_float_32_execution_enabled()
        return settings

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
    """The backend of a TensorFlow/Keras variant (:class:`reportgen.backends.Backend`)."""
    return TensorFlowBackend(variant, threads, device)


def _set_threads(threads: int) -> None:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def export_inference_model(conv: Converter, ctx: Context) -> None:
    """Load the reference weights into the Keras ResNet-18 and export ONNX (tf2onnx) and TFLite (float32, INT8
    dynamic range, INT8 full integer calibrated on the run's own images)."""
    from reportgen.workloads.export import from_keras

    _set_threads(ctx.threads)
    settings = ctx.profile["inference"]
    with np.load(ctx.artifacts / WEIGHTS_FILE) as npz:
        model = predict_keras.load_model({k: npz[k] for k in npz.files}, settings["num_classes"],
                                         settings["image_size"])
    calibration, described = calibration_images(ctx.profile, ctx.seed)
    calibration = calibration.transpose(0, 2, 3, 1).copy()  # Keras takes NHWC
    conv.attempt("onnx-for-inference", KERAS_ONNX_FILE, lambda p: from_keras.export_onnx(model, str(p)))
    for quantize, file, name in (("none", "fp32", "tflite-for-inference"),
                                 ("dynamic", "int8-dynamic", "tflite-int8-dynamic-for-inference"),
                                 ("full", "int8-full", "tflite-int8-full-for-inference")):
        conv.attempt(name, TFLITE_FILES[file],
                     lambda p, q=quantize: from_keras.export_tflite(model, str(p), q, calibration),
                     **({"calibration": described} if quantize == "full" else {}))


def convert_digits(conv: Converter, ctx: Context) -> None:
    """Count the Keras model's parameters; load the trained digits weights into the Keras ResNet-18 and export
    ONNX (tf2onnx), a SavedModel and TFLite (float32, INT8 dynamic range, INT8 full integer), running each;
    on a CPU with bfloat16 instructions also run it under ``mixed_bfloat16``."""
    from reportgen.workloads.export import from_keras
    from reportgen.workloads.inference import predict_tflite
    from reportgen.workloads.models.resnet_keras import build_resnet18, load_torch_state

    _set_threads(ctx.threads)
    data = conv.data
    x_eval = data["x_eval"].transpose(0, 2, 3, 1).copy()  # Keras is channels-last
    x_calib = data["x_calib"].transpose(0, 2, 3, 1).copy()

    big = build_resnet18(1000, (224, 224, 3))
    conv.records.append(make_record(
        "model", "tensorflow", "resnet18",
        metrics={"params_trainable": sum(int(np.prod(w.shape)) for w in big.trainable_weights),
                 "params_total": big.count_params()},
        settings={Setting.NUM_CLASSES: 1000, Setting.NOTE: "params_total includes the BatchNorm moving statistics"},
    ))
    del big

    def trained(model: tf.keras.Model) -> tf.keras.Model:
        with np.load(ctx.artifacts / DIGITS_WEIGHTS) as npz:
            load_torch_state(model, {k: npz[k] for k in npz.files})
        return model

    shape = (DIGITS_IMAGE_SIZE, DIGITS_IMAGE_SIZE, 3)
    model = trained(build_resnet18(DIGITS_CLASSES, shape))
    keras_logits = conv.path(f"{DIGITS_LOGITS}/{catalog.logits_file('tensorflow', 'keras')}")
    np.save(keras_logits, model.predict(x_eval, verbose=0))

    def run_savedmodel(_: Any, path: Path) -> np.ndarray:
        loaded = tf.saved_model.load(str(path))  # keep a reference: its variables live as long as it does
        return loaded.serve(tf.constant(x_eval)).numpy()

    def run_tflite(_: Any, path: Path) -> np.ndarray:
        return predict_tflite.predict(predict_tflite.load_interpreter(str(path), ctx.threads), x_eval)

    conv.attempt("onnx", DIGITS_KERAS_ONNX, lambda p: from_keras.export_onnx(model, str(p)))
    conv.attempt("savedmodel", DIGITS_SAVEDMODEL,
                 lambda p: from_keras.export_savedmodel(model, str(p)), ("tensorflow", run_savedmodel))
    for variant, quantize in (("tflite", "none"), ("tflite-int8-dynamic", "dynamic"), ("tflite-int8-full", "full")):
        conv.attempt(variant, DIGITS_TFLITE[variant],
                     lambda p, q=quantize: from_keras.export_tflite(model, str(p), q, x_calib if q == "full" else None),
                     ("tflite", run_tflite), interpreter=predict_tflite.INTERPRETER)

    def run_mixed_bf16() -> np.ndarray:
        predict_keras.use_mixed_precision("mixed_bfloat16")  # global: for the model built next, reset below
        try:
            return trained(build_resnet18(DIGITS_CLASSES, shape)).predict(x_eval, verbose=0)
        finally:
            tf.keras.mixed_precision.set_global_policy("float32")

    if has_bf16():
        conv.save_logits("tensorflow", "mixed-bf16", run_mixed_bf16)
