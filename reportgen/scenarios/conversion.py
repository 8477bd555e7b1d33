"""Conversion: every export and quantization of one trained ResNet-18, timed and checked.

Four subprocesses, in order:

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

from reportgen import catalog, hardware
from reportgen.artifacts import DIGITS_ONNX, DIGITS_ORT_INT8
from reportgen.results import make_record
from reportgen.runner import Context, Task

FOLDER = "conversion"
TRAINED = f"{FOLDER}/trained.npz"  # torchvision state_dict of the trained model
DATA = f"{FOLDER}/data.npz"  # x_eval, y_eval (NCHW) and x_calib, all from the digits
REFERENCE = f"{FOLDER}/reference.npy"  # the trained PyTorch model's logits on x_eval
TORCH_ONNX = DIGITS_ONNX
KERAS_ONNX = f"{FOLDER}/resnet18-from-keras.onnx"
LOGITS = f"{FOLDER}/logits"  # <runtime>-<variant>.npy per candidate
NUM_CLASSES = 10
IMAGE_SIZE = 32
DIGITS_MODEL = "resnet18, 10 classes, 32x32, trained on digits"
NO_IR = "needs the OpenVINO IR, whose conversion failed (see its record)"

TASKS = [
    Task(key="conversion/torch", module=__name__, scenario="conversion", framework="torch", variant="exports",
         label="Conversion: train on digits, PyTorch exports + INT8", produces=(TRAINED, DATA, REFERENCE, TORCH_ONNX),
         kind="conversion"),
    Task(key="conversion/tensorflow", module=__name__, scenario="conversion", framework="tensorflow",
         variant="exports", label="Conversion: Keras -> ONNX, SavedModel, TFLite (+ INT8)",
         needs=(TRAINED, DATA), produces=(KERAS_ONNX,), kind="conversion"),
    Task(key="conversion/onnxruntime", module=__name__, scenario="conversion", framework="onnxruntime",
         variant="exports", label="Conversion: ONNX Runtime runs + INT8 quantization", needs=(DATA, TORCH_ONNX),
         kind="conversion"),
    Task(key="conversion/openvino", module=__name__, scenario="conversion", framework="openvino", variant="exports",
         label="Conversion: OpenVINO IR (from ONNX, from PyTorch) + NNCF INT8", needs=(TRAINED, DATA, TORCH_ONNX),
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

    def __init__(self, task: Task, ctx: Context, folder: str = FOLDER, model: str = DIGITS_MODEL) -> None:
        self.task, self.ctx, self.model = task, ctx, model
        self.folder = ctx.artifacts / folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.records: list[dict[str, Any]] = []

    @property
    def data(self) -> dict[str, np.ndarray]:
        """The evaluation and calibration images the torch task saved."""
        with np.load(self.ctx.artifacts / DATA) as data:
            return {k: data[k] for k in data.files}

    def attempt(self, variant: str, output: str, convert: Callable[[Path], Any],
                run: tuple[str, Callable[[Any, Path], np.ndarray]] | None = None, **settings: Any) -> Any:
        """Convert into ``output`` (timed), then optionally run the result on the evaluation images.

        ``variant`` names a conversion of this task's framework in the catalog (which says its converter and
        precision). ``run`` is ``(runtime, fn)``; ``fn(converted, path)`` returns logits, saved for the
        catalog's parity candidate ``(runtime, variant)``. Returns what ``convert`` returned, or None.
        """
        entry = catalog.conversion(self.task.framework, variant)
        path = self.folder / output
        settings.update(converter=entry.converter, file=output, model=self.model)
        start = time.perf_counter()
        try:
            converted = convert(path)
        except Exception as exc:  # a failed conversion is a result: record it and go on
            self._record(variant, {"convert_ok": 0, "convert_s": time.perf_counter() - start}, settings,
                         f"conversion failed: {type(exc).__name__}: {exc}")
            return None
        metrics = {"convert_ok": 1, "convert_s": time.perf_counter() - start}
        if path.exists():  # a compiled function (torch.compile) leaves no file
            metrics["model_size_mb"] = size_mb(path)
        reason = None
        if run is not None:
            runtime, fn = run
            try:
                (self.ctx.artifacts / LOGITS).mkdir(parents=True, exist_ok=True)
                np.save(self.ctx.artifacts / LOGITS / catalog.logits_file(runtime, variant), fn(converted, path))
            except Exception as exc:
                reason = f"converted, but running it in {runtime} failed: {type(exc).__name__}: {exc}"
        self._record(variant, metrics, settings, reason)
        return converted

    def save_logits(self, runtime: str, name: str, compute: Callable[[], np.ndarray]) -> None:
        """Save the logits of parity candidate ``(runtime, name)``, computed without a conversion (the same
        weights run at another precision); a failure becomes a failed parity record and the rest goes on."""
        try:
            logits = np.asarray(compute(), dtype=np.float32)
            (self.ctx.artifacts / LOGITS).mkdir(parents=True, exist_ok=True)
            np.save(self.ctx.artifacts / LOGITS / catalog.logits_file(runtime, name), logits)
        except Exception as exc:
            self.records.append(make_record(
                "parity", runtime, name, precision=catalog.candidate(runtime, name).precision, status="failed",
                reason=f"could not run it: {type(exc).__name__}: {exc}"[:800]))

    def skip(self, variant: str, output: str, reason: str) -> None:
        """Record a conversion that cannot be tried here (its converter is not installed), with the reason."""
        entry = catalog.conversion(self.task.framework, variant)
        self._record(variant, {}, {"converter": entry.converter, "file": output, "model": self.model}, reason,
                     "skipped")

    def _record(self, variant: str, metrics: dict[str, float], settings: dict[str, Any], reason: str | None,
                status: str = "failed") -> None:
        self.records.append(make_record(
            "conversion", self.task.framework, variant, device="cpu",
            precision=catalog.conversion(self.task.framework, variant).precision,
            status=status if reason else "ok", reason=reason.strip()[:800] if reason else None,
            metrics=metrics, settings=settings,
        ))


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    return {"torch": _torch, "tensorflow": _tensorflow, "onnxruntime": _onnxruntime,
            "openvino": _openvino}[task.framework](task, ctx)


def has_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions: the bf16 candidates run only where the bf16 variants do."""
    return hardware.lacks_cpu_flags(catalog.BF16_FLAGS) is None


def _torch(task: Task, ctx: Context) -> list[dict[str, Any]]:
    import torch

    from benchmarks.data.datasets import load_dataset
    from benchmarks.data.pipeline_torch import AugmentedImages, make_loaders
    from benchmarks.export import from_torch
    from benchmarks.models.resnet_torch import build_resnet18, state_dict_numpy
    from benchmarks.quantize.torch_int8 import quantize_int8
    from benchmarks.training.recipe import Recipe
    from benchmarks.training.train_torch import predict_logits, train

    torch.set_num_threads(ctx.threads)
    settings = ctx.profile["conversion"]
    data = load_dataset("digits", seed=ctx.seed)
    _, val_loader = make_loaders(data, IMAGE_SIZE, batch_size=1)
    x_eval = torch.cat([images for images, _ in val_loader]).numpy()
    y_eval = data.val_labels
    plain = AugmentedImages(data.train_images, data.train_labels, data.mean, data.std, IMAGE_SIZE)
    x_calib = torch.stack([plain[i][0] for i in range(settings["calibration_images"])]).numpy()
    model = build_resnet18(NUM_CLASSES, seed=ctx.seed)
    recipe = Recipe(epochs=settings["train_epochs"], batch_size=settings["train_batch_size"],
                    learning_rate=settings["learning_rate"])
    history = train(model, data, recipe, IMAGE_SIZE, seed=ctx.seed)
    model.eval()
    state = state_dict_numpy(model)
    (ctx.artifacts / FOLDER).mkdir(parents=True, exist_ok=True)
    np.savez(ctx.artifacts / TRAINED, **state)
    np.savez(ctx.artifacts / DATA, x_eval=x_eval, y_eval=y_eval, x_calib=x_calib)
    reference = predict_logits(model, x_eval)
    np.save(ctx.artifacts / REFERENCE, reference)
    top1 = float((reference.argmax(1) == y_eval).mean())

    conv = Converter(task, ctx)
    conv.records.append(make_record(
        "training", "torch", catalog.DIGITS_REFERENCE, batch_size=recipe.batch_size,
        metrics={"final_top1": top1, "epoch_time_s": float(np.mean([e.train_time_s for e in history.epochs]))},
        settings={"purpose": "the model every conversion starts from", "epochs": recipe.epochs,
                  "losses": [e.train_loss for e in history.epochs], "train_images": len(data.train_labels),
                  "eval_images": len(y_eval), "augmentation": "random crop (padding 4) + horizontal flip"},
    ))

    def run_torch(module: torch.nn.Module, path: Path) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(x_eval)).numpy()

    conv.attempt("onnx", Path(TORCH_ONNX).name,
                 lambda p: from_torch.export_onnx(model, str(p), IMAGE_SIZE))
    conv.attempt("torchscript", "resnet18.torchscript.pt",
                 lambda p: from_torch.export_torchscript(model, str(p), IMAGE_SIZE), ("torch", run_torch))
    conv.attempt("torch.export", "resnet18.pt2",
                 lambda p: from_torch.export_program(model, str(p), IMAGE_SIZE), ("torch", run_torch))

    def quantize(path: Path) -> torch.nn.Module:
        quantized = quantize_int8(state, NUM_CLASSES, x_calib)
        torch.save(quantized.state_dict(), path)
        return quantized

    conv.attempt("int8", "resnet18-int8.pt", quantize, ("torch", run_torch))
    if has_bf16():
        from benchmarks.inference.predict_torch import predict_mixed

        conv.save_logits("torch", "amp-bf16",
                         lambda: predict_mixed(model, torch.from_numpy(x_eval), torch.bfloat16).float().numpy())
    return conv.records


def _tensorflow(task: Task, ctx: Context) -> list[dict[str, Any]]:
    import tensorflow as tf

    from benchmarks.export import from_keras
    from benchmarks.inference import predict_tflite
    from benchmarks.models.resnet_keras import build_resnet18, load_torch_state

    tf.config.threading.set_intra_op_parallelism_threads(ctx.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    conv = Converter(task, ctx)
    data = conv.data
    x_eval = data["x_eval"].transpose(0, 2, 3, 1).copy()  # Keras is channels-last
    x_calib = data["x_calib"].transpose(0, 2, 3, 1).copy()

    big = build_resnet18(1000, (224, 224, 3))
    conv.records.append(make_record(
        "model", "tensorflow", "resnet18",
        metrics={"params_trainable": sum(int(np.prod(w.shape)) for w in big.trainable_weights),
                 "params_total": big.count_params()},
        settings={"num_classes": 1000, "note": "params_total includes the BatchNorm moving statistics"},
    ))
    del big

    model = build_resnet18(NUM_CLASSES, (IMAGE_SIZE, IMAGE_SIZE, 3))
    with np.load(ctx.artifacts / TRAINED) as npz:
        load_torch_state(model, {k: npz[k] for k in npz.files})
    np.save(ctx.artifacts / LOGITS / catalog.logits_file("tensorflow", "keras"), model.predict(x_eval, verbose=0))

    def run_savedmodel(_: Any, path: Path) -> np.ndarray:
        loaded = tf.saved_model.load(str(path))  # keep a reference: its variables live as long as it does
        return loaded.serve(tf.constant(x_eval)).numpy()

    def run_tflite(_: Any, path: Path) -> np.ndarray:
        return predict_tflite.predict(predict_tflite.load_interpreter(str(path), ctx.threads), x_eval)

    conv.attempt("onnx", Path(KERAS_ONNX).name,
                 lambda p: from_keras.export_onnx(model, str(p)))
    conv.attempt("savedmodel", "resnet18-savedmodel",
                 lambda p: from_keras.export_savedmodel(model, str(p)), ("tensorflow", run_savedmodel))
    interpreter = predict_tflite.INTERPRETER
    conv.attempt("tflite", "resnet18.tflite", lambda p: from_keras.export_tflite(model, str(p)),
                 ("tflite", run_tflite), interpreter=interpreter)
    conv.attempt("tflite-int8-dynamic", "resnet18-int8-dynamic.tflite",
                 lambda p: from_keras.export_tflite(model, str(p), "dynamic"), ("tflite", run_tflite),
                 interpreter=interpreter)
    conv.attempt("tflite-int8-full", "resnet18-int8-full.tflite",
                 lambda p: from_keras.export_tflite(model, str(p), "full", x_calib), ("tflite", run_tflite),
                 interpreter=interpreter)

    def run_mixed_bf16() -> np.ndarray:
        from benchmarks.inference.predict_keras import use_mixed_precision

        use_mixed_precision("mixed_bfloat16")  # global: for the model built next, reset below
        try:
            mixed = build_resnet18(NUM_CLASSES, (IMAGE_SIZE, IMAGE_SIZE, 3))
            with np.load(ctx.artifacts / TRAINED) as npz:
                load_torch_state(mixed, {k: npz[k] for k in npz.files})
            return mixed.predict(x_eval, verbose=0)
        finally:
            tf.keras.mixed_precision.set_global_policy("float32")

    if has_bf16():
        conv.save_logits("tensorflow", "mixed-bf16", run_mixed_bf16)
    return conv.records


def _onnxruntime(task: Task, ctx: Context) -> list[dict[str, Any]]:
    from benchmarks.inference import predict_onnxruntime
    from benchmarks.quantize import onnxruntime_int8

    conv = Converter(task, ctx)
    data = conv.data
    x_eval, x_calib = data["x_eval"], data["x_calib"]

    def run(path: Path, channels_last: bool = False) -> np.ndarray:
        session = predict_onnxruntime.load_session(str(path), ctx.threads)
        return predict_onnxruntime.predict(session, x_eval.transpose(0, 2, 3, 1).copy() if channels_last else x_eval)

    for source, variant in ((TORCH_ONNX, "from-torch"), (KERAS_ONNX, "from-keras")):
        path = ctx.artifacts / source
        if path.exists():  # the Keras export keeps Keras' NHWC input layout
            try:
                np.save(ctx.artifacts / LOGITS / catalog.logits_file("onnxruntime", variant),
                        run(path, catalog.find("onnxruntime", variant).input_layout == "nhwc"))
            except Exception as exc:
                conv.records.append(make_record(
                    "parity", "onnxruntime", variant, status="failed",
                    reason=f"ONNX Runtime could not run {path.name}: {type(exc).__name__}: {exc}"[:800]))
    source = str(ctx.artifacts / TORCH_ONNX)
    conv.attempt("int8-dynamic", Path(DIGITS_ORT_INT8["int8-dynamic"]).name,
                 lambda p: onnxruntime_int8.quantize_int8_dynamic(source, str(p)),
                 ("onnxruntime", lambda _, p: run(p)))
    conv.attempt("int8-static", Path(DIGITS_ORT_INT8["int8-static"]).name,
                 lambda p: onnxruntime_int8.quantize_int8_static(source, str(p), x_calib),
                 ("onnxruntime", lambda _, p: run(p)))
    return conv.records


def _openvino(task: Task, ctx: Context) -> list[dict[str, Any]]:
    import torch

    from benchmarks.export import to_openvino
    from benchmarks.inference import predict_openvino
    from benchmarks.models.resnet_torch import build_resnet18, load_state_numpy
    from reportgen.scenarios.prepare import nncf_missing

    torch.set_num_threads(ctx.threads)
    conv = Converter(task, ctx)
    data = conv.data
    x_eval, x_calib = data["x_eval"], data["x_calib"]

    def run(path: Path, precision: str = "f32") -> np.ndarray:
        compiled = predict_openvino.compile_model(str(path), ctx.threads, precision)
        actual = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        if actual != precision:  # a silent fallback would check the wrong precision
            raise RuntimeError(f"inference precision {precision} requested but the CPU plugin runs {actual}")
        return predict_openvino.predict(compiled.create_infer_request(), x_eval)

    ir = conv.folder / "resnet18-openvino.xml"
    conv.attempt("ir", ir.name, lambda p: to_openvino.convert_onnx(str(ctx.artifacts / TORCH_ONNX), str(p)),
                 ("openvino", lambda _, p: run(p)))
    if ir.exists() and has_bf16():  # the same IR at OpenVINO's bf16 inference precision
        conv.save_logits("openvino", "bf16", lambda: run(ir, "bf16"))

    model = build_resnet18(NUM_CLASSES, seed=ctx.seed)
    with np.load(ctx.artifacts / TRAINED) as npz:
        load_state_numpy(model, {k: npz[k] for k in npz.files})
    model.eval()
    conv.attempt("ir-from-torch", "resnet18-openvino-from-torch.xml",
                 lambda p: to_openvino.convert_torch(model, str(p), IMAGE_SIZE), ("openvino", lambda _, p: run(p)))
    if missing := nncf_missing() or (None if ir.exists() else NO_IR):
        conv.skip("int8", "resnet18-openvino-int8.xml", missing)
    else:
        from benchmarks.quantize import openvino_int8

        conv.attempt("int8", "resnet18-openvino-int8.xml",
                     lambda p: openvino_int8.quantize_int8(str(ir), str(p), x_calib), ("openvino", lambda _, p: run(p)))

    def compile_openvino(_: Path) -> torch.nn.Module:
        import openvino.torch  # noqa: F401  (registers the "openvino" backend of torch.compile)

        compiled = torch.compile(model, backend="openvino")
        with torch.inference_mode():
            compiled(torch.from_numpy(x_eval[:2]))  # compiles on the first call
        return compiled

    def run_compiled(compiled: torch.nn.Module, _: Path) -> np.ndarray:
        with torch.inference_mode():
            return compiled(torch.from_numpy(x_eval)).numpy()

    conv.attempt("torch.compile", "none (a compiled function)", compile_openvino, ("openvino", run_compiled))
    return conv.records
