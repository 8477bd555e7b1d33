"""One small module per runtime: set threads, load the shared weights, run a batch, sync the device.

Backends wrap the idiomatic workloads in ``benchmarks/`` with what the harness needs around them. Each is
imported only inside its own measuring subprocess, so importing one never loads another framework.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Protocol

import numpy as np

# runtime -> (backend module, packages of which one must be importable, the pip extra that installs it)
BACKENDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "torch": ("reportgen.backends.torch_backend", ("torch",), "torch"),
    "tensorflow": ("reportgen.backends.tensorflow_backend", ("tensorflow",), "tensorflow"),
    "onnxruntime": ("reportgen.backends.onnxruntime_backend", ("onnxruntime",), "onnxruntime"),
    "tflite": ("reportgen.backends.tflite_backend", ("ai_edge_litert", "tensorflow"), "tensorflow"),
}


class Backend(Protocol):
    """What a measuring subprocess needs from a runtime."""

    def thread_settings(self) -> dict[str, Any]: ...
    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None: ...
    def to_input(self, images_nchw: np.ndarray) -> Any: ...
    def predict(self, inputs: Any) -> Any: ...
    def sync(self, outputs: Any) -> None: ...
    def to_numpy(self, outputs: Any) -> np.ndarray: ...
    def peak_gpu_mem_mb(self) -> float | None: ...


def missing_reason(runtime: str) -> str | None:
    """Why ``runtime`` cannot run here (not installed), or None when it can (or is not a backend)."""
    if runtime not in BACKENDS:
        return None
    _, packages, extra = BACKENDS[runtime]
    if not any(importlib.util.find_spec(p) for p in packages):
        return f"{' or '.join(packages)} is not installed (pip install 'reportgen[{extra}]')"
    return None


def load_backend(runtime: str, variant: str, threads: int, device: str) -> Backend:
    """Import the runtime's backend module (this is where the framework itself is imported)."""
    module = importlib.import_module(BACKENDS[runtime][0])
    return module.make_backend(variant, threads, device)
