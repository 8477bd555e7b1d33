"""Keras 3 on JAX: the Keras ResNet-18 with its forward pass jit-compiled by XLA (runtime ``keras-jax``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from reportgen.backends import use_keras_backend

use_keras_backend("keras-jax")

import jax  # noqa: E402
import keras  # noqa: E402

from reportgen.backends.keras_common import KerasBackend  # noqa: E402
from reportgen.store.records import Setting  # noqa: E402
from reportgen.workloads.inference import predict_keras_backends  # noqa: E402

THREADS_BY = "CPU affinity (XLA sizes its CPU thread pool by the CPUs the process may use)"


def limit_cpus(threads: int) -> int:
    """Let this process use ``threads`` of the CPUs it may use (XLA has no thread-count setting of its own for its
    CPU client; it sizes its pool when the client starts, so this must come first); returns the CPUs it has."""
    if not hasattr(os, "sched_setaffinity"):
        return os.cpu_count() or 1
    allowed = sorted(os.sched_getaffinity(0))
    if 0 < threads < len(allowed):
        os.sched_setaffinity(0, allowed[:threads])
    return len(os.sched_getaffinity(0))


def use_device(device: str) -> None:
    """Run where the run measures: a CUDA run refuses a JAX that sees no GPU (it would run on the CPU without a
    word: a jax without its CUDA plugin); a CPU run's children have ``JAX_PLATFORMS=cpu``."""
    if device == "cuda" and jax.default_backend() != "gpu":
        from reportgen.process import envs

        fix = envs.install_hint("'jax[cuda13]'", "keras-jax")
        raise RuntimeError(f"--device cuda, but JAX runs on {jax.default_backend()} (no GPU): install its CUDA "
                           f"support ({fix})")


def setup(threads: int, device: str) -> int:
    """This process's CPUs and device for JAX, before it computes anything (inference and training alike); returns
    the CPUs XLA may use."""
    cpus = limit_cpus(threads)
    use_device(device)
    return cpus


class KerasJaxBackend(KerasBackend):
    """Keras on JAX: ``jax.jit`` over the model's stateless call (the first call compiles)."""

    def __init__(self, variant: str, threads: int, device: str) -> None:
        super().__init__(variant, device)
        self.cpus = setup(threads, device)

    def thread_settings(self) -> dict[str, Any]:
        """How many CPUs XLA may use, and on a GPU whether fp32 convolutions may use TF32 (JAX's default there)."""
        settings: dict[str, Any] = {"xla.cpus": self.cpus, "threads_by": THREADS_BY,
                                    Setting.KERAS_BACKEND: keras.backend.backend()}
        if self.device == "cuda":
            precision = jax.config.jax_default_matmul_precision
            settings |= {"tf32": precision in (None, "default", "tensorfloat32"),
                         "jax.default_matmul_precision": precision}
        return settings

    def make_predict(self, model: keras.Model) -> Callable[[Any], Any]:
        """The jit-compiled forward pass."""
        return predict_keras_backends.jax_predict(model)

    def sync(self, outputs: Any) -> None:
        """Wait for the computation (JAX dispatches asynchronously)."""
        outputs.block_until_ready()

    def peak_gpu_mem_mb(self) -> float | None:
        """Peak bytes the GPU's allocator held, in MB; None on a CPU."""
        if self.device != "cuda":
            return None
        stats = jax.local_devices()[0].memory_stats() or {}
        return stats["peak_bytes_in_use"] / 2**20 if "peak_bytes_in_use" in stats else None


def make_backend(variant: str, threads: int, device: str) -> KerasJaxBackend:
    """The inference backend of a ``keras-jax`` variant."""
    return KerasJaxBackend(variant, threads, device)
