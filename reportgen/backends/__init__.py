"""One small module per runtime: set threads, load the shared weights, run a batch, sync the device.

Backends wrap the idiomatic workloads in ``benchmarks/`` with what the harness needs around them. Each is
imported only inside its own measuring subprocess, so importing one never loads another framework.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Protocol

import numpy as np

# framework -> (backend module, the package that must be importable, the pip extra that installs it)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "torch": ("reportgen.backends.torch_backend", "torch", "torch"),
    "tensorflow": ("reportgen.backends.tensorflow_backend", "tensorflow", "tensorflow"),
    "onnxruntime": ("reportgen.backends.onnxruntime_backend", "onnxruntime", "onnxruntime"),
}


class Backend(Protocol):
    """What a measuring subprocess needs from a runtime."""

    framework: str
    variant: str

    def thread_settings(self) -> dict[str, Any]: ...
    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None: ...
    def to_input(self, images_nchw: np.ndarray) -> Any: ...
    def predict(self, inputs: Any) -> Any: ...
    def sync(self, outputs: Any) -> None: ...
    def to_numpy(self, outputs: Any) -> np.ndarray: ...
    def peak_gpu_mem_mb(self) -> float | None: ...


def missing_reason(framework: str) -> str | None:
    """Why ``framework`` cannot run here (not installed), or None when it can."""
    _, package, extra = BACKENDS[framework]
    if importlib.util.find_spec(package) is None:
        return f"{package} is not installed (pip install 'reportgen[{extra}]')"
    return None


def load_backend(framework: str, threads: int, device: str) -> Backend:
    """Import the framework's backend module (this is where the framework itself is imported)."""
    module = importlib.import_module(BACKENDS[framework][0])
    return module.make_backend(threads, device)
