"""Prepare the inference benchmark's model in every format a runtime loads, from one set of weights.

One task per framework; each framework's backend module does its part (``export_inference_model``):

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

from typing import Any

from reportgen.artifacts import (
    KERAS_ONNX_FILE,
    ONNX_FILE,
    OPENVINO_FILES,
    ORT_INT8_FILES,
    REFERENCE_OUTPUTS,
    TFLITE_FILES,
    WEIGHTS_FILE,
)
from reportgen.backends import framework_module
from reportgen.process.runner import Context, Task
from reportgen.scenarios.conversion import Converter
from reportgen.store.records import TaskKey

TASKS = [
    Task(key=str(TaskKey("prepare", "torch")), module=__name__, scenario="conversion",
         framework="torch", variant="prepare",
         label="Reference model: PyTorch weights, MACs, ONNX export",
         produces=(WEIGHTS_FILE, REFERENCE_OUTPUTS, ONNX_FILE), kind="conversion"),
    Task(key=str(TaskKey("prepare", "tensorflow")), module=__name__, scenario="conversion",
         framework="tensorflow", variant="prepare",
         label="Inference model: Keras -> ONNX and TFLite", needs=(WEIGHTS_FILE,),
         produces=(KERAS_ONNX_FILE, *TFLITE_FILES.values()), kind="conversion"),
    Task(key=str(TaskKey("prepare", "onnxruntime")), module=__name__, scenario="conversion",
         framework="onnxruntime",
         variant="prepare", label="Inference model: ONNX Runtime INT8", needs=(ONNX_FILE,),
         produces=tuple(ORT_INT8_FILES.values()), kind="conversion"),
    Task(key=str(TaskKey("prepare", "openvino")), module=__name__, scenario="conversion",
         framework="openvino", variant="prepare",
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
    """The framework's files of the timed inference model, made before any variant is timed."""
    ctx.artifacts.mkdir(parents=True, exist_ok=True)
    conv = Converter(task, ctx, model=_model(ctx))
    framework_module(task.framework).export_inference_model(conv, ctx)
    return conv.records
