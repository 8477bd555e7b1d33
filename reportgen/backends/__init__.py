"""One module per runtime: everything the harness does with that framework, end to end.

A backend wraps the idiomatic workloads in ``reportgen/workloads/`` with what the harness needs around them:
``make_backend`` (set threads, load the shared weights, run a batch, sync the device, peak device memory) for
every runtime, and for each framework that converts models (the ``--frameworks`` families torch, tensorflow,
onnxruntime and openvino) ``export_inference_model`` (its formats of the inference model) and
``convert_digits`` (its exports and quantizations of the trained digits model, each run for the parity
check). Each is imported only inside its own subprocess, so importing one never loads another framework.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from reportgen import catalog
from reportgen.process import envs


class Backend(Protocol):
    """What a measuring subprocess needs from a runtime."""

    def thread_settings(self) -> dict[str, Any]:
        """The thread settings the framework reports it runs with (recorded as each record's ``threads``)."""

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        """Build or load the model: the reference weights ``state`` by name, or a file in ``artifacts``."""

    def to_input(self, images_nchw: np.ndarray) -> Any:
        """The framework's input for a float32 NCHW batch (on its device, in its layout), made before timing."""

    def predict(self, inputs: Any) -> Any:
        """One call of the model: the timed work."""

    def sync(self, outputs: Any) -> None:
        """Wait until ``outputs`` exist (a GPU works asynchronously), so that a timed call ends with its work."""

    def to_numpy(self, outputs: Any) -> np.ndarray:
        """The logits as a float32 NumPy array, for the parity check."""

    def peak_gpu_mem_mb(self) -> float | None:
        """Peak GPU memory the process allocated, or None off a GPU."""


def missing_reason(runtime: str) -> str | None:
    """Why ``runtime`` cannot run here (not installed), or None when it can (or is not in the catalog)."""
    unavailable = envs.unavailable(runtime)
    if unavailable:
        return unavailable
    entry = catalog.RUNTIMES.get(runtime)
    if entry is None or not entry.packages:
        return None
    extra = f" (pip install 'reportgen[{entry.extra}]')" if entry.extra else ""
    if not any(envs.importable(p, runtime) for p in entry.packages):
        return f"{' or '.join(entry.packages)} is not installed{extra}"
    lacking = [m for m in entry.requires if not envs.importable(m, runtime)]
    if lacking:
        return f"{' and '.join(lacking)} {'is' if len(lacking) == 1 else 'are'} not installed{extra}"
    return None


def load_backend(runtime: str, variant: str, threads: int, device: str) -> Backend:
    """Import the runtime's backend module (this is where the framework itself is imported)."""
    if catalog.find(runtime, variant) is None:
        raise ValueError(f"variant {runtime}/{variant} is not in the catalog")
    return framework_module(runtime).make_backend(variant, threads, device)


def framework_module(runtime: str) -> ModuleType:
    """The backend module of ``runtime`` (a catalog runtime; importing it imports the framework)."""
    backend = catalog.RUNTIMES[runtime].backend
    if backend is None:
        raise ValueError(f"runtime {runtime} has no backend module")
    return importlib.import_module(backend)


def use_keras_backend(runtime: str) -> None:
    """Set ``KERAS_BACKEND`` to the catalog's backend of ``runtime`` before Keras is imported (the parent sets it
    in the child's environment already; this also covers a process started another way). A process whose Keras
    already runs another backend cannot switch: that is an error, not a measurement of the wrong backend."""
    wanted = catalog.keras_backend(runtime)
    if wanted is None:
        raise ValueError(f"runtime {runtime} runs no Keras")
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != wanted:
        raise RuntimeError(f"{runtime} needs Keras on {wanted}, but this process imported Keras on "
                           f"{loaded.backend.backend()} already (the backend is fixed at import)")
    os.environ["KERAS_BACKEND"] = wanted
