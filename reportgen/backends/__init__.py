"""One small module per runtime: set threads, load the shared weights, run a batch, sync the device.

Backends wrap the idiomatic workloads in ``benchmarks/`` with what the harness needs around them. Each is
imported only inside its own measuring subprocess, so importing one never loads another framework.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Protocol

import numpy as np

from reportgen import catalog


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
    """Why ``runtime`` cannot run here (not installed), or None when it can (or is not in the catalog)."""
    entry = catalog.RUNTIMES.get(runtime)
    if entry is None or not entry.packages:
        return None
    if not any(importlib.util.find_spec(p) for p in entry.packages):
        extra = f" (pip install 'reportgen[{entry.extra}]')" if entry.extra else ""
        return f"{' or '.join(entry.packages)} is not installed{extra}"
    return None


def load_backend(runtime: str, variant: str, threads: int, device: str) -> Backend:
    """Import the runtime's backend module (this is where the framework itself is imported)."""
    if catalog.find(runtime, variant) is None:
        raise ValueError(f"variant {runtime}/{variant} is not in the catalog")
    module = importlib.import_module(catalog.RUNTIMES[runtime].backend)
    return module.make_backend(variant, threads, device)
