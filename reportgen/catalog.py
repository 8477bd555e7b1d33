"""The catalog: every runtime, variant, conversion and parity candidate the report knows, declared once.

Everything else reads it: the planner (which tasks a ``--frameworks`` choice runs), the backends (which
module runs a runtime), preparation, conversion and parity (what each file is, its precision), training,
and every page (labels, families, the reference, which accuracy record belongs to a timed variant). No
code derives a precision, a runtime or a role from a name or a file name.

A new runtime is one backend module plus entries here. Plugins add entries the same way: a module named
in ``REPORTGEN_PLUGINS`` (comma-separated, importable in the parent and in every measuring child) is
imported when the catalog loads and calls :func:`register_runtime` and :func:`register_variant`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from reportgen.artifacts import (
    DIGITS_ONNX,
    DIGITS_ORT_INT8,
    KERAS_ONNX_FILE,
    ONNX_FILE,
    OPENVINO_FILES,
    ORT_INT8_FILES,
    REFERENCE_OUTPUTS,
    TFLITE_FILES,
    WEIGHTS_FILE,
)
from reportgen.hardware import BF16_FLAGS

REFERENCE = "reference"  # the role of the variant every other is compared with
CANDIDATE = "candidate"
PLUGINS_ENV = "REPORTGEN_PLUGINS"


@dataclass(frozen=True)
class Runtime:
    """Something that runs the model: its backend module, the packages it needs and where it belongs."""

    name: str  # the record's ``framework``
    display: str  # what readers see
    family: str  # the ``--frameworks`` name that selects it (TFLite comes with TensorFlow)
    backend: str | None  # module with ``make_backend(variant, threads, device)``; None: not an inference backend
    packages: tuple[str, ...] = ()  # one of them must be importable
    extra: str = ""  # the pip extra that installs it
    cuda_packages: tuple[str, ...] = ()  # distributions of which one must be installed to run on a CUDA GPU
    requires: tuple[str, ...] = ()  # modules that must all be importable as well (Keras beside its backend)
    keras_backend: str | None = None  # the KERAS_BACKEND its processes set before Keras is imported (None: no Keras)


@dataclass(frozen=True)
class Variant:
    """One way of running ResNet-18 for inference that the report times."""

    runtime: str
    name: str  # the record's ``variant``
    label: str
    source: str  # the model it comes from: "pytorch" or "keras"
    mode: str  # eager, graph, compiled, exported, quantized
    precision: str = "fp32"
    role: str = CANDIDATE
    model_file: str | None = None  # the exported file it loads (reportgen.artifacts); None: built from the weights
    input_layout: str = "nchw"  # "nhwc" for a model exported from Keras that kept its channels-last input
    made_by: str = "prepare/torch"  # the task that writes the files it needs
    cuda_only: bool = False
    cpu_only: bool = False
    cpu_flags: tuple[str, ...] = ()  # on a CPU it runs only where one of these flags is listed (else: skipped)
    accuracy: tuple[str, str] | None = None  # (runtime, name) of the parity candidate made by the same recipe
    conversion: tuple[str, str] | None = None  # (framework, name) of the conversion record that made model_file

    @property
    def family(self) -> str:
        """The family whose environment and ``--frameworks`` name this variant's runtime belongs to."""
        return RUNTIMES[self.runtime].family

    @property
    def needs(self) -> tuple[str, ...]:
        """The artifact files a measurement of this variant reads."""
        return (REFERENCE_OUTPUTS, self.model_file) if self.model_file else (WEIGHTS_FILE, REFERENCE_OUTPUTS)


@dataclass(frozen=True)
class TrainingVariant:
    """One way of training ResNet-18 with the shared recipe (the reference role: each framework's plain loop)."""

    framework: str
    name: str
    label: str
    precision: str = "fp32"
    role: str = CANDIDATE
    cuda_only: bool = False
    cpu_flags: tuple[str, ...] = ()  # on a CPU it runs only where one of these flags is listed (else: skipped)
    makes_initial_weights: bool = False  # runs first and saves the untrained weights every other variant starts from


@dataclass(frozen=True)
class Conversion:
    """One export or quantization: made by ``framework``'s task, stored as a ``conversion`` record."""

    framework: str
    name: str  # the record's ``variant``
    converter: str  # the API that converts
    precision: str
    source: str  # "pytorch" or "keras"
    model: str  # "inference": the timed model of the inference benchmark; "digits": the trained model
    check: tuple[str, str] | None = None  # (runtime, name) of the parity candidate that checks what it made


@dataclass(frozen=True)
class Candidate:
    """A model whose logits on the held-out digits are compared with the trained PyTorch model's."""

    runtime: str  # the record's ``framework``: what ran it
    name: str  # the record's ``variant``
    precision: str
    source: str


@dataclass(frozen=True)
class BrowserVariant:
    """A model file of the trained digits model that ONNX Runtime Web runs in a browser (the Try-it page, and the
    browser measured as a runtime beside Python ONNX Runtime on the very same file)."""

    name: str  # the record's ``variant`` (framework ``onnxruntime-web``)
    label: str  # what the Try-it page's model picker shows
    precision: str
    model_file: str  # reportgen.artifacts: the file the conversion scenario left
    conversion: tuple[str, str]  # (framework, name) of the conversion record that made it
    python: str  # the ``variant`` of the Python ONNX Runtime record timed on the same file in the same task


RUNTIMES: dict[str, Runtime] = {}
VARIANTS: list[Variant] = []


def register_runtime(runtime: Runtime) -> None:
    """Add a runtime (a plugin's, say); its name must be new."""
    if runtime.name in RUNTIMES:
        raise ValueError(f"runtime {runtime.name!r} is in the catalog already")
    RUNTIMES[runtime.name] = runtime


def register_variant(variant: Variant) -> None:
    """Add an inference variant of a registered runtime; (runtime, name) must be new."""
    if variant.runtime not in RUNTIMES:
        raise ValueError(f"variant {variant.name!r}: unknown runtime {variant.runtime!r}")
    if any((v.runtime, v.name) == (variant.runtime, variant.name) for v in VARIANTS):
        raise ValueError(f"variant {variant.runtime}/{variant.name} is in the catalog already")
    VARIANTS.append(variant)


for _runtime in (
    Runtime("torch", "PyTorch", "torch", "reportgen.backends.torch_backend", ("torch",), "torch"),
    Runtime("tensorflow", "TensorFlow/Keras", "tensorflow", "reportgen.backends.tensorflow_backend",
            ("tensorflow",), "tensorflow", keras_backend="tensorflow"),
    # The same Keras 3 model on its other backends: each a family of its own (its own --frameworks name, processes
    # and environment, reportgen.process.envs.EXTRAS), since a process's Keras backend is fixed at import
    Runtime("keras-jax", "Keras (JAX)", "keras-jax", "reportgen.backends.keras_jax_backend", ("jax",), "jax",
            cuda_packages=("jax-cuda13-plugin", "jax-cuda12-plugin"), requires=("keras",), keras_backend="jax"),
    Runtime("keras-torch", "Keras (PyTorch)", "keras-torch", "reportgen.backends.keras_torch_backend", ("torch",),
            "keras", requires=("keras",), keras_backend="torch"),
    # the `onnxruntime` wheel runs on the CPU only; its CUDA provider comes with the `onnxruntime-gpu` wheel
    Runtime("onnxruntime", "ONNX Runtime", "onnxruntime", "reportgen.backends.onnxruntime_backend",
            ("onnxruntime",), "onnxruntime", cuda_packages=("onnxruntime-gpu",)),
    Runtime("tflite", "TFLite", "tensorflow", "reportgen.backends.tflite_backend", ("ai_edge_litert", "tensorflow"),
            "tensorflow"),
    Runtime("openvino", "OpenVINO", "openvino", "reportgen.backends.openvino_backend", ("openvino",), "openvino"),
    # ONNX Runtime compiled to WebAssembly, run in headless Chromium: it comes with the onnxruntime family (as TFLite
    # comes with TensorFlow) because it is the same runtime on the same ONNX files, and its check compares it with
    # Python ONNX Runtime, which it needs. It also needs Chromium, Playwright and the npm package (`npm ci`):
    # without them its task is skipped with that reason (reportgen.web.browser_missing).
    Runtime("onnxruntime-web", "ONNX Runtime Web", "onnxruntime", None, ("onnxruntime",), "onnxruntime"),
):
    register_runtime(_runtime)

_ORT, _TFL, _OV = "prepare/onnxruntime", "prepare/tensorflow", "prepare/openvino"
for _variant in (
    Variant("torch", "eager", "PyTorch eager", "pytorch", "eager", role=REFERENCE),
    Variant("torch", "channels-last", "PyTorch channels_last", "pytorch", "eager"),
    Variant("torch", "compile", "PyTorch torch.compile", "pytorch", "compiled"),
    Variant("torch", "amp-fp16", "PyTorch AMP fp16", "pytorch", "eager", "fp16", cuda_only=True),
    Variant("torch", "amp-bf16", "PyTorch AMP bf16", "pytorch", "eager", "bf16", cpu_flags=BF16_FLAGS,
            accuracy=("torch", "amp-bf16")),
    Variant("tensorflow", "eager", "TensorFlow eager", "keras", "eager"),
    Variant("tensorflow", "graph", "TensorFlow tf.function", "keras", "graph"),
    Variant("tensorflow", "xla", "TensorFlow XLA", "keras", "compiled"),
    Variant("tensorflow", "mixed-fp16", "TensorFlow mixed fp16", "keras", "graph", "fp16", cuda_only=True),
    Variant("tensorflow", "mixed-bf16", "TensorFlow mixed bf16", "keras", "graph", "bf16", cpu_flags=BF16_FLAGS,
            accuracy=("tensorflow", "mixed-bf16")),
    # Keras on JAX: its predict jit-compiled into one XLA program; Keras on PyTorch: eager, as Keras runs it by default
    Variant("keras-jax", "jit", "Keras (JAX) jit", "keras", "compiled"),
    Variant("keras-torch", "eager", "Keras (PyTorch) eager", "keras", "eager"),
    Variant("onnxruntime", "from-torch", "ONNX Runtime (PyTorch export)", "pytorch", "exported",
            model_file=ONNX_FILE, accuracy=("onnxruntime", "from-torch"),
            conversion=("torch", "onnx-for-inference")),
    Variant("onnxruntime", "from-keras", "ONNX Runtime (Keras export)", "keras", "exported",
            model_file=KERAS_ONNX_FILE, input_layout="nhwc", made_by=_TFL, accuracy=("onnxruntime", "from-keras"),
            conversion=("tensorflow", "onnx-for-inference")),
    Variant("onnxruntime", "int8-static", "ONNX Runtime INT8 static", "pytorch", "quantized", "int8",
            model_file=ORT_INT8_FILES["int8-static"], made_by=_ORT, cpu_only=True,
            accuracy=("onnxruntime", "int8-static"), conversion=("onnxruntime", "int8-static-for-inference")),
    Variant("onnxruntime", "int8-dynamic", "ONNX Runtime INT8 dynamic", "pytorch", "quantized", "int8",
            model_file=ORT_INT8_FILES["int8-dynamic"], made_by=_ORT, cpu_only=True,
            accuracy=("onnxruntime", "int8-dynamic"), conversion=("onnxruntime", "int8-dynamic-for-inference")),
    Variant("tflite", "fp32", "TFLite fp32", "keras", "exported", model_file=TFLITE_FILES["fp32"],
            made_by=_TFL, cpu_only=True, accuracy=("tflite", "tflite"),
            conversion=("tensorflow", "tflite-for-inference")),
    Variant("tflite", "int8-dynamic", "TFLite INT8 dynamic range", "keras", "quantized", "int8",
            model_file=TFLITE_FILES["int8-dynamic"], made_by=_TFL, cpu_only=True,
            accuracy=("tflite", "tflite-int8-dynamic"), conversion=("tensorflow", "tflite-int8-dynamic-for-inference")),
    Variant("tflite", "int8-full", "TFLite INT8 full integer", "keras", "quantized", "int8",
            model_file=TFLITE_FILES["int8-full"], made_by=_TFL, cpu_only=True,
            accuracy=("tflite", "tflite-int8-full"), conversion=("tensorflow", "tflite-int8-full-for-inference")),
    Variant("openvino", "fp32", "OpenVINO fp32", "pytorch", "exported", model_file=OPENVINO_FILES["fp32"],
            made_by=_OV, cpu_only=True, accuracy=("openvino", "ir"), conversion=("openvino", "ir-for-inference")),
    Variant("openvino", "int8", "OpenVINO INT8 (NNCF)", "pytorch", "quantized", "int8",
            model_file=OPENVINO_FILES["int8"], made_by=_OV, cpu_only=True, accuracy=("openvino", "int8"),
            conversion=("openvino", "int8-for-inference")),
    # the fp32 file run at OpenVINO's bf16 inference precision (its default on CPUs with bf16): no file of its own
    Variant("openvino", "bf16", "OpenVINO bf16", "pytorch", "exported", "bf16", model_file=OPENVINO_FILES["fp32"],
            made_by=_OV, cpu_only=True, cpu_flags=BF16_FLAGS, accuracy=("openvino", "bf16")),
):
    register_variant(_variant)

# The browser runs the trained digits model (10 classes, 32x32), never the timed 224x224 model: its times are
# compared with Python ONNX Runtime on the same file, not with the inference benchmark.
BROWSER: tuple[BrowserVariant, ...] = (
    BrowserVariant("fp32", "fp32 (ONNX export of the trained PyTorch model)", "fp32", DIGITS_ONNX, ("torch", "onnx"),
                   "digits-fp32"),
    BrowserVariant("int8-static", "INT8 (ONNX Runtime static quantization, QDQ)", "int8",
                   DIGITS_ORT_INT8["int8-static"], ("onnxruntime", "int8-static"), "digits-int8-static"),
)
BROWSER_RUNTIME = "onnxruntime-web"
BROWSER_DEVICES = ("browser-wasm", "browser-webgpu")  # the record's ``device``: which backend ran in the page

TRAINING: tuple[TrainingVariant, ...] = (
    TrainingVariant("torch", "eager", "PyTorch eager loop", role=REFERENCE, makes_initial_weights=True),
    TrainingVariant("torch", "compile", "PyTorch loop + torch.compile"),
    TrainingVariant("torch", "amp-fp16", "PyTorch AMP fp16", "fp16", cuda_only=True),
    TrainingVariant("torch", "amp-bf16", "PyTorch autocast bf16", "bf16", cpu_flags=BF16_FLAGS),
    TrainingVariant("tensorflow", "graph", "Keras fit (graph)", role=REFERENCE),
    TrainingVariant("tensorflow", "xla", "Keras fit + XLA"),
    TrainingVariant("tensorflow", "mixed-fp16", "Keras mixed_float16", "fp16", cuda_only=True),
    TrainingVariant("tensorflow", "mixed-bf16", "Keras mixed_bfloat16", "bf16", cpu_flags=BF16_FLAGS),
    # the same model.fit on Keras's other backends: JAX compiles the step with XLA (its default), PyTorch runs eagerly
    TrainingVariant("keras-jax", "fit", "Keras fit on JAX (jit)"),
    TrainingVariant("keras-torch", "fit", "Keras fit on PyTorch (eager)"),
)
DIGITS_REFERENCE = "digits-reference"  # the training record of the model every conversion starts from

_TFLITE_CONVERTER = "tf.lite.TFLiteConverter.from_keras_model"
_OV_FROM_ONNX = "openvino.convert_model (ONNX file) + save_model(compress_to_fp16=False)"
_NNCF = "nncf.quantize (OpenVINO model, PTQ)"
CONVERSIONS: tuple[Conversion, ...] = (
    # the timed models of the inference benchmark (1000 classes, the profile's image size)
    Conversion("torch", "onnx-for-inference", "torch.onnx.export(dynamo=True)", "fp32", "pytorch", "inference"),
    Conversion("tensorflow", "onnx-for-inference", "tf2onnx.convert.from_keras", "fp32", "keras", "inference"),
    Conversion("tensorflow", "tflite-for-inference", _TFLITE_CONVERTER, "fp32", "keras", "inference"),
    Conversion("tensorflow", "tflite-int8-dynamic-for-inference", _TFLITE_CONVERTER, "int8", "keras", "inference"),
    Conversion("tensorflow", "tflite-int8-full-for-inference", _TFLITE_CONVERTER, "int8", "keras", "inference"),
    Conversion("onnxruntime", "int8-dynamic-for-inference", "onnxruntime.quantization.quantize_dynamic", "int8",
               "pytorch", "inference"),
    Conversion("onnxruntime", "int8-static-for-inference", "onnxruntime.quantization.quantize_static (QDQ)", "int8",
               "pytorch", "inference"),
    Conversion("openvino", "ir-for-inference", _OV_FROM_ONNX, "fp32", "pytorch", "inference"),
    Conversion("openvino", "int8-for-inference", _NNCF, "int8", "pytorch", "inference"),
    # the model trained on the digits, whose accuracy each result is checked for (check: the parity candidate)
    *(Conversion(fw, name, converter, precision, source, "digits", check=check) for fw, name, converter, precision,
      source, check in (
        ("torch", "onnx", "torch.onnx.export(dynamo=True)", "fp32", "pytorch", ("onnxruntime", "from-torch")),
        ("torch", "torchscript", "torch.jit.trace", "fp32", "pytorch", ("torch", "torchscript")),
        ("torch", "torch.export", "torch.export.export", "fp32", "pytorch", ("torch", "torch.export")),
        ("torch", "int8", "torch.ao.quantization (eager, x86)", "int8", "pytorch", ("torch", "int8")),
        ("tensorflow", "onnx", "tf2onnx.convert.from_keras", "fp32", "keras", ("onnxruntime", "from-keras")),
        ("tensorflow", "savedmodel", "keras Model.export", "fp32", "keras", ("tensorflow", "savedmodel")),
        ("tensorflow", "tflite", _TFLITE_CONVERTER, "fp32", "keras", ("tflite", "tflite")),
        ("tensorflow", "tflite-int8-dynamic", _TFLITE_CONVERTER, "int8", "keras", ("tflite", "tflite-int8-dynamic")),
        ("tensorflow", "tflite-int8-full", _TFLITE_CONVERTER, "int8", "keras", ("tflite", "tflite-int8-full")),
        ("onnxruntime", "int8-dynamic", "onnxruntime.quantization.quantize_dynamic", "int8", "pytorch",
         ("onnxruntime", "int8-dynamic")),
        ("onnxruntime", "int8-static", "onnxruntime.quantization.quantize_static (QDQ)", "int8", "pytorch",
         ("onnxruntime", "int8-static")),
        ("openvino", "ir", _OV_FROM_ONNX, "fp32", "pytorch", ("openvino", "ir")),
        ("openvino", "ir-from-torch", "openvino.convert_model (PyTorch module, example_input)", "fp32", "pytorch",
         ("openvino", "ir-from-torch")),
        ("openvino", "int8", _NNCF, "int8", "pytorch", ("openvino", "int8")),
        ("openvino", "torch.compile", 'torch.compile(backend="openvino")', "fp32", "pytorch",
         ("openvino", "torch.compile")),
    )),
)

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("torch", "torchscript", "fp32", "pytorch"),
    Candidate("torch", "torch.export", "fp32", "pytorch"),
    Candidate("torch", "int8", "int8", "pytorch"),
    Candidate("tensorflow", "keras", "fp32", "keras"),
    Candidate("tensorflow", "savedmodel", "fp32", "keras"),
    Candidate("tflite", "tflite", "fp32", "keras"),
    Candidate("tflite", "tflite-int8-dynamic", "int8", "keras"),
    Candidate("tflite", "tflite-int8-full", "int8", "keras"),
    Candidate("onnxruntime", "from-torch", "fp32", "pytorch"),
    Candidate("onnxruntime", "from-keras", "fp32", "keras"),
    Candidate("onnxruntime", "int8-dynamic", "int8", "pytorch"),
    Candidate("onnxruntime", "int8-static", "int8", "pytorch"),
    Candidate("openvino", "ir", "fp32", "pytorch"),
    Candidate("openvino", "ir-from-torch", "fp32", "pytorch"),
    Candidate("openvino", "int8", "int8", "pytorch"),
    Candidate("openvino", "torch.compile", "fp32", "pytorch"),
    # bf16 computation of the trained model (no file: the same weights, run in bfloat16)
    Candidate("torch", "amp-bf16", "bf16", "pytorch"),
    Candidate("tensorflow", "mixed-bf16", "bf16", "keras"),
    Candidate("openvino", "bf16", "bf16", "pytorch"),
)


def families() -> tuple[str, ...]:
    """The ``--frameworks`` names, in catalog order."""
    return tuple(dict.fromkeys(r.family for r in RUNTIMES.values()))


def runtimes_phrase() -> str:
    """Every runtime readers see, as one phrase ("A, B and C"): what titles and introductions name, so that no
    page keeps a list of its own."""
    names = [r.display for r in RUNTIMES.values()]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def keras_backend(name: str) -> str | None:
    """The Keras backend of a runtime, or of a family's processes (one per family: a shared process imports Keras
    once), or None where it runs no Keras."""
    if name in RUNTIMES:
        return RUNTIMES[name].keras_backend
    found = {r.keras_backend for r in RUNTIMES.values() if r.family == name and r.keras_backend}
    if len(found) > 1:
        raise ValueError(f"family {name!r} mixes Keras backends {sorted(found)}: its shared processes cannot")
    return found.pop() if found else None


def trainer_families() -> tuple[str, ...]:
    """The ``--frameworks`` names that train, in catalog order."""
    return tuple(dict.fromkeys(f for f in (family_of(v.framework) for v in TRAINING) if f))


def display(runtime: str) -> str:
    """What readers see for a runtime (an unknown one is shown as stored)."""
    return RUNTIMES[runtime].display if runtime in RUNTIMES else runtime


def family_of(runtime: str) -> str | None:
    """The family of ``runtime``, or None where the catalog does not know it."""
    return RUNTIMES[runtime].family if runtime in RUNTIMES else None


def find(runtime: str, name: str) -> Variant | None:
    """The inference variant a record was measured with, or None for one the catalog does not know."""
    return next((v for v in VARIANTS if (v.runtime, v.name) == (runtime, name)), None)


def reference() -> Variant:
    """The inference variant every other is compared with."""
    return next(v for v in VARIANTS if v.role == REFERENCE)


def selected(frameworks: list[str]) -> list[Variant]:
    """The inference variants a ``--frameworks`` choice runs, in catalog order."""
    return [v for v in VARIANTS if v.family in frameworks]


def conversion(framework: str, name: str) -> Conversion:
    """A declared conversion; an undeclared one is a programming error."""
    found = next((c for c in CONVERSIONS if (c.framework, c.name) == (framework, name)), None)
    if found is None:
        raise KeyError(f"conversion {framework}/{name} is not in the catalog")
    return found


def checked_by(framework: str, name: str) -> tuple[str, str] | None:
    """The parity candidate (runtime, name) that checks what a conversion record made, or None."""
    found = next((c for c in CONVERSIONS if (c.framework, c.name) == (framework, name)), None)
    return found.check if found else None


def candidate(runtime: str, name: str) -> Candidate:
    """The parity candidate ``runtime``/``name`` (a KeyError where the catalog has none)."""
    found = next((c for c in CANDIDATES if (c.runtime, c.name) == (runtime, name)), None)
    if found is None:
        raise KeyError(f"parity candidate {runtime}/{name} is not in the catalog")
    return found


def logits_file(runtime: str, name: str) -> str:
    """Where a parity candidate's logits are saved, relative to the conversion folder's logits folder."""
    candidate(runtime, name)
    return f"{runtime}-{name}.npy"


def training_variant(framework: str, name: str) -> TrainingVariant | None:
    """The training variant ``framework``/``name``, or None."""
    return next((v for v in TRAINING if (v.framework, v.name) == (framework, name)), None)


def training_references() -> tuple[TrainingVariant, ...]:
    """Each framework's reference training loop: the pair whose speed and accuracy the report compares."""
    return tuple(v for v in TRAINING if v.role == REFERENCE)


def _load_plugins() -> None:
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(module)


_load_plugins()
