"""Conversion: every export and quantization of one trained ResNet-18, timed and checked.

Four subprocesses (two at a time where the profile's ``conversions_at_once`` allows); each framework's
backend module does its part (``convert_digits``), through a :class:`Converter` that times each
conversion and turns it into a record:

- **torch**: trains ResNet-18 on the bundled digits (32x32, seeded), saves its weights, the evaluation
  and calibration images and its own logits (the reference), then exports to ONNX, TorchScript and a
  ``torch.export`` program and quantizes to INT8 (eager, x86).
- **tensorflow**: loads the same weights into the Keras ResNet-18, then exports to ONNX (tf2onnx), a
  SavedModel and TFLite (float32, INT8 dynamic range, INT8 full integer).
- **onnxruntime**: runs both ONNX files and quantizes the PyTorch one to INT8 (dynamic and static).
- **openvino**: converts the PyTorch ONNX file and the PyTorch module to OpenVINO IR, quantizes the IR to INT8
  with NNCF, and tries ``torch.compile(backend="openvino")``.

On a CPU with bfloat16 instructions, PyTorch (autocast), Keras (``mixed_bfloat16``) and OpenVINO (bf16
inference precision) also run the trained model in bf16: parity candidates without a conversion.

Each conversion becomes a ``conversion`` record (``convert_ok``, ``convert_s``, ``model_size_mb``;
a failure is recorded with its error and the others go on). Each converted model that runs leaves its
logits on the evaluation images, which :mod:`reportgen.scenarios.parity` compares with the reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from reportgen import catalog
from reportgen.artifacts import (
    DIGITS_DATA,
    DIGITS_KERAS_ONNX,
    DIGITS_LOGITS,
    DIGITS_MODEL,
    DIGITS_ONNX,
    DIGITS_ORT_INT8,
    DIGITS_REFERENCE,
    DIGITS_WEIGHTS,
)
from reportgen.backends import framework_module
from reportgen.errors import failure_reason
from reportgen.process.runner import Context, Task
from reportgen.store.records import Setting, TaskKey
from reportgen.store.results import make_record

TASKS = [
    Task(key=str(TaskKey("conversion", "torch")), module=__name__, scenario="conversion",
         framework="torch", variant="exports",
         label="Conversion: train on digits, PyTorch exports + INT8",
         produces=(DIGITS_WEIGHTS, DIGITS_DATA, DIGITS_REFERENCE, DIGITS_ONNX),
         kind="conversion"),
    Task(key=str(TaskKey("conversion", "tensorflow")), module=__name__, scenario="conversion",
         framework="tensorflow",
         variant="exports", label="Conversion: Keras -> ONNX, SavedModel, TFLite (+ INT8)",
         needs=(DIGITS_WEIGHTS, DIGITS_DATA), produces=(DIGITS_KERAS_ONNX,), kind="conversion"),
    Task(key=str(TaskKey("conversion", "onnxruntime")), module=__name__, scenario="conversion",
         framework="onnxruntime",
         variant="exports", label="Conversion: ONNX Runtime runs + INT8 quantization", needs=(DIGITS_DATA, DIGITS_ONNX),
         reads=(DIGITS_KERAS_ONNX,), produces=tuple(DIGITS_ORT_INT8.values()),  # runs the Keras export too
         kind="conversion"),
    Task(key=str(TaskKey("conversion", "openvino")), module=__name__, scenario="conversion",
         framework="openvino", variant="exports",
         label="Conversion: OpenVINO IR (from ONNX, from PyTorch) + NNCF INT8",
         needs=(DIGITS_WEIGHTS, DIGITS_DATA, DIGITS_ONNX),
         kind="conversion"),
]


def plan(frameworks: list[str]) -> list[Task]:
    """The conversion tasks of the frameworks asked for (the torch one makes what the others need); none when
    no chosen framework has a conversion in the catalog."""
    if not set(frameworks) & {c.framework for c in catalog.CONVERSIONS}:
        return []
    return [t for t in TASKS if t.framework in frameworks or t.framework == "torch"]


def size_mb(path: Path) -> float:
    """Size of a model file, or of every file under a model directory, in MB (an OpenVINO ``.xml`` counts with
    the ``.bin`` of weights beside it)."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6
    weights = path.with_suffix(".bin") if path.suffix == ".xml" else None
    return (path.stat().st_size + (weights.stat().st_size if weights and weights.exists() else 0)) / 1e6


class Converter:
    """Runs conversions one by one, turning each into a record and saving each result's logits."""

    def __init__(self, task: Task, ctx: Context, model: str = DIGITS_MODEL) -> None:
        self.task, self.ctx, self.model = task, ctx, model
        self.records: list[dict[str, Any]] = []

    @property
    def data(self) -> dict[str, np.ndarray]:
        """The digits' evaluation and calibration images the torch task saved."""
        with np.load(self.ctx.artifacts / DIGITS_DATA) as data:
            return {k: data[k] for k in data.files}

    def path(self, output: str) -> Path:
        """Where ``output`` (a name from :mod:`reportgen.artifacts`) lies in this run, its folder made."""
        path = self.ctx.artifacts / output
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def attempt(self, variant: str, output: str, convert: Callable[[Path], Any],
                run: tuple[str, Callable[[Any, Path], np.ndarray]] | None = None, **settings: Any) -> Any:
        """Convert into ``output`` (a path under the run's artifacts, named in :mod:`reportgen.artifacts`; timed),
        then optionally run the result on the evaluation images.

        ``variant`` names a conversion of this task's framework in the catalog (which says its converter and
        precision). ``run`` is ``(runtime, fn)``; ``fn(converted, path)`` returns logits, saved for the
        catalog's parity candidate ``(runtime, variant)``. Returns what ``convert`` returned, or None.
        """
        entry = catalog.conversion(self.task.framework, variant)
        path = self.path(output)
        settings.update(converter=entry.converter, file=path.name, model=self.model)
        start = time.perf_counter()
        try:
            converted = convert(path)
        except Exception as exc:  # a failed conversion is a result: record it and go on
            self._record(variant, {"convert_ok": 0, "convert_s": time.perf_counter() - start}, settings,
                         f"conversion failed: {failure_reason(exc)}")
            return None
        metrics = {"convert_ok": 1, "convert_s": time.perf_counter() - start}
        if path.exists():  # a compiled function (torch.compile) leaves no file
            metrics["model_size_mb"] = size_mb(path)
        reason = None
        if run is not None:
            runtime, fn = run
            try:
                np.save(self.path(f"{DIGITS_LOGITS}/{catalog.logits_file(runtime, variant)}"), fn(converted, path))
            except Exception as exc:
                reason = f"converted, but running it in {runtime} failed: {failure_reason(exc)}"
        self._record(variant, metrics, settings, reason)
        return converted

    def save_logits(self, runtime: str, name: str, compute: Callable[[], np.ndarray]) -> None:
        """Save the logits of parity candidate ``(runtime, name)``, computed without a conversion (the same
        weights run at another precision); a failure becomes a failed parity record and the rest goes on."""
        try:
            logits = np.asarray(compute(), dtype=np.float32)
            np.save(self.path(f"{DIGITS_LOGITS}/{catalog.logits_file(runtime, name)}"), logits)
        except Exception as exc:
            self.records.append(make_record(
                "parity", runtime, name, precision=catalog.candidate(runtime, name).precision, status="failed",
                reason=f"could not run it: {failure_reason(exc)}"))

    def skip(self, variant: str, output: str, reason: str) -> None:
        """Record a conversion that cannot be tried here (its converter is not installed), with the reason."""
        entry = catalog.conversion(self.task.framework, variant)
        settings = {Setting.CONVERTER: entry.converter, Setting.FILE: Path(output).name, Setting.MODEL: self.model}
        self._record(variant, {}, settings, reason, "skipped")

    def _record(self, variant: str, metrics: dict[str, float], settings: dict[str, Any], reason: str | None,
                status: str = "failed") -> None:
        self.records.append(make_record(
            "conversion", self.task.framework, variant, device="cpu",
            precision=catalog.conversion(self.task.framework, variant).precision,
            status=status if reason else "ok", reason=reason.strip()[:800] if reason else None,
            metrics=metrics, settings=settings,
        ))


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """The framework's exports and quantizations of the trained digits model, each run for parity."""
    conv = Converter(task, ctx)
    framework_module(task.framework).convert_digits(conv, ctx)
    return conv.records
