"""Prepare the inference benchmark's model in every format a runtime loads, from one set of weights.

- **torch** (the reference): builds torchvision's ResNet-18 from the run's seed and saves its weights
  (``weights.npz``, torchvision key names) and its logits on the fixed check batch; counts parameters
  and MACs; exports ONNX.
- **tensorflow**: loads the same weights into the Keras ResNet-18 and exports ONNX (tf2onnx) and TFLite
  (float32, INT8 dynamic range, INT8 full integer).
- **onnxruntime**: quantizes the PyTorch ONNX file to INT8 (static QDQ and dynamic).
- **openvino**: converts the PyTorch ONNX file to OpenVINO IR (fp32 weights) and quantizes that to INT8 with
  NNCF, calibrated on the same images as ONNX Runtime's static INT8.

Each export is a ``conversion`` record (the catalog's conversions of the ``inference`` model); one that
fails is recorded and the variants that need its file are skipped with that reason.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from reportgen.artifacts import (
    KERAS_ONNX_FILE,
    ONNX_FILE,
    OPENVINO_FILES,
    ORT_INT8_FILES,
    REFERENCE_OUTPUTS,
    TFLITE_FILES,
    WEIGHTS_FILE,
)
from reportgen.inputs import check_images, images
from reportgen.results import make_record
from reportgen.runner import Context, Task
from reportgen.scenarios.conversion import NO_IR, Converter

CALIBRATION_IMAGES = 8  # real images of the run's data set; the accuracy change is measured on the digits model

TASKS = [
    Task(key="prepare/torch", module=__name__, scenario="conversion", framework="torch", variant="prepare",
         label="Reference model: PyTorch weights, MACs, ONNX export",
         produces=(WEIGHTS_FILE, REFERENCE_OUTPUTS, ONNX_FILE), kind="conversion"),
    Task(key="prepare/tensorflow", module=__name__, scenario="conversion", framework="tensorflow", variant="prepare",
         label="Inference model: Keras -> ONNX and TFLite", needs=(WEIGHTS_FILE,),
         produces=(KERAS_ONNX_FILE, *TFLITE_FILES.values()), kind="conversion"),
    Task(key="prepare/onnxruntime", module=__name__, scenario="conversion", framework="onnxruntime",
         variant="prepare", label="Inference model: ONNX Runtime INT8", needs=(ONNX_FILE,),
         produces=tuple(ORT_INT8_FILES.values()), kind="conversion"),
    Task(key="prepare/openvino", module=__name__, scenario="conversion", framework="openvino", variant="prepare",
         label="Inference model: OpenVINO IR + NNCF INT8", needs=(ONNX_FILE,),
         produces=tuple(OPENVINO_FILES.values()), kind="conversion"),
]


def plan(frameworks: list[str]) -> list[Task]:
    """The preparing tasks of the frameworks asked for (the torch one makes the weights all others use)."""
    return [t for t in TASKS if t.framework in frameworks or t.framework == "torch"]


def _model(ctx: Context) -> str:
    s = ctx.profile["inference"]
    return f"resnet18, {s['num_classes']} classes, {s['image_size']}x{s['image_size']} (the inference model)"


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    ctx.artifacts.mkdir(parents=True, exist_ok=True)
    conv = Converter(task, ctx, folder=".", model=_model(ctx))
    {"torch": _torch, "tensorflow": _tensorflow, "onnxruntime": _onnxruntime,
     "openvino": _openvino}[task.framework](conv, ctx)
    return conv.records


def _torch(conv: Converter, ctx: Context) -> None:
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.export.from_torch import export_onnx
    from benchmarks.models.resnet_torch import build_resnet18, state_dict_numpy

    torch.set_num_threads(ctx.threads)
    settings = ctx.profile["inference"]
    size, classes = settings["image_size"], settings["num_classes"]
    model = build_resnet18(classes, seed=ctx.seed).eval()
    np.savez(ctx.artifacts / WEIGHTS_FILE, **state_dict_numpy(model))
    with torch.inference_mode():
        np.save(ctx.artifacts / REFERENCE_OUTPUTS, model(torch.from_numpy(check_images(ctx.seed, size))).numpy())
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.zeros(1, 3, size, size))  # counts the multiply-adds of every conv and matmul it runs
    conv.records.append(make_record(
        "model", "torch", "resnet18", device=ctx.device,
        metrics={"params_trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
                 "params_total": sum(t.numel() for k, t in model.state_dict().items() if "num_batches" not in k),
                 "macs": counter.get_total_flops() / 2},
        settings={"num_classes": classes, "image_size": size,
                  "macs_method": "torch.utils.flop_counter.FlopCounterMode / 2"},
    ))
    conv.attempt("onnx-for-inference", ONNX_FILE,
                 lambda p: export_onnx(model, str(p), size))


def _tensorflow(conv: Converter, ctx: Context) -> None:
    import numpy as np
    import tensorflow as tf

    from benchmarks.export import from_keras
    from benchmarks.inference.predict_keras import load_model

    tf.config.threading.set_intra_op_parallelism_threads(ctx.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    settings = ctx.profile["inference"]
    size = settings["image_size"]
    with np.load(ctx.artifacts / WEIGHTS_FILE) as npz:
        model = load_model({k: npz[k] for k in npz.files}, settings["num_classes"], size)
    calibration, described = calibration_images(ctx)
    calibration = calibration.transpose(0, 2, 3, 1).copy()  # Keras takes NHWC
    conv.attempt("onnx-for-inference", KERAS_ONNX_FILE,
                 lambda p: from_keras.export_onnx(model, str(p)))
    for quantize, file, name in (("none", "fp32", "tflite-for-inference"),
                                 ("dynamic", "int8-dynamic", "tflite-int8-dynamic-for-inference"),
                                 ("full", "int8-full", "tflite-int8-full-for-inference")):
        conv.attempt(name, TFLITE_FILES[file],
                     lambda p, q=quantize: from_keras.export_tflite(model, str(p), q, calibration),
                     **({"calibration": described} if quantize == "full" else {}))


def calibration_images(ctx: Context) -> tuple[np.ndarray, str]:
    """The images every static INT8 quantization of the inference model is calibrated on (NCHW float32), and
    what they are: the first training images of the run's data set, resized to the inference size and
    standardised per channel (the timed inputs are standard-normal, so the scales match); random images
    only where the data set cannot be loaded here (the reason is recorded)."""
    from PIL import Image

    from benchmarks.data.datasets import DatasetError, load_dataset

    size, training = ctx.profile["inference"]["image_size"], ctx.profile["training"]
    try:
        data = load_dataset(training["dataset"], training["image_size"], seed=ctx.seed, max_train=CALIBRATION_IMAGES)
    except DatasetError as exc:
        return (images(ctx.seed + 3, CALIBRATION_IMAGES, size),
                f"{CALIBRATION_IMAGES} random images: the data set could not be loaded ({exc})")
    picked = data.train_images[:CALIBRATION_IMAGES]
    resized = np.stack([np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))
                        for image in picked]).astype(np.float32) / 255.0
    standard = (resized - resized.mean(axis=(0, 1, 2))) / (resized.std(axis=(0, 1, 2)) + 1e-6)
    return (np.ascontiguousarray(standard.transpose(0, 3, 1, 2), dtype=np.float32),
            f"{len(picked)} training images of {data.name}, resized to {size}x{size} and standardised")


def _onnxruntime(conv: Converter, ctx: Context) -> None:
    from benchmarks.quantize import onnxruntime_int8

    calibration, described = calibration_images(ctx)
    source = str(ctx.artifacts / ONNX_FILE)
    conv.attempt("int8-dynamic-for-inference", ORT_INT8_FILES["int8-dynamic"],
                 lambda p: onnxruntime_int8.quantize_int8_dynamic(source, str(p)))
    conv.attempt("int8-static-for-inference", ORT_INT8_FILES["int8-static"],
                 lambda p: onnxruntime_int8.quantize_int8_static(source, str(p), calibration), calibration=described)


def _openvino(conv: Converter, ctx: Context) -> None:
    from benchmarks.export import to_openvino

    source, fp32 = str(ctx.artifacts / ONNX_FILE), OPENVINO_FILES["fp32"]
    converted = conv.attempt("ir-for-inference", fp32, lambda p: to_openvino.convert_onnx(source, str(p)))
    if missing := nncf_missing() or (None if converted is not None else NO_IR):
        conv.skip("int8-for-inference", OPENVINO_FILES["int8"], missing)
        return
    from benchmarks.quantize import openvino_int8

    calibration, described = calibration_images(ctx)  # the same images as ONNX Runtime's static INT8
    conv.attempt("int8-for-inference", OPENVINO_FILES["int8"],
                 lambda p: openvino_int8.quantize_int8(str(ctx.artifacts / fp32), str(p), calibration),
                 calibration=described)


def nncf_missing() -> str | None:
    """Why NNCF cannot quantize here (not installed), or None."""
    if importlib.util.find_spec("nncf") is None:
        return "nncf is not installed (pip install 'reportgen[openvino]')"
    return None
