"""Keras 3 on PyTorch: the Keras ResNet-18 run eagerly on PyTorch's kernels (runtime ``keras-torch``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportgen.backends import use_keras_backend

use_keras_backend("keras-torch")

import keras  # noqa: E402
import torch  # noqa: E402

from reportgen.backends.keras_common import KerasBackend  # noqa: E402
from reportgen.store.records import Setting  # noqa: E402
from reportgen.workloads.inference import predict_keras_backends  # noqa: E402


def setup(threads: int, device: str) -> None:
    """PyTorch's thread pools and device in this process, before it computes anything (inference and training)."""
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != 1:  # settable once per process (a shared one set it already)
        torch.set_num_interop_threads(1)
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda, but this torch sees no GPU (it would run on the CPU)")
        torch.cuda.reset_peak_memory_stats()


class KerasTorchBackend(KerasBackend):
    """Keras on PyTorch, eager (``torch.inference_mode``)."""

    def __init__(self, variant: str, threads: int, device: str) -> None:
        super().__init__(variant, device)
        setup(threads, device)

    def thread_settings(self) -> dict[str, Any]:
        """PyTorch's thread pools, and on a GPU whether fp32 convolutions may use TF32 (cuDNN's default)."""
        settings: dict[str, Any] = {"torch.intra_op": torch.get_num_threads(),
                                    "torch.inter_op": torch.get_num_interop_threads(),
                                    Setting.KERAS_BACKEND: keras.backend.backend()}
        if self.device == "cuda":
            settings |= {"tf32": torch.backends.cudnn.allow_tf32,
                         "torch.matmul_precision": torch.get_float32_matmul_precision()}
        return settings

    def make_predict(self, model: keras.Model) -> Callable[[Any], Any]:
        """The eager forward pass."""
        return predict_keras_backends.torch_predict(model)

    def sync(self, outputs: Any) -> None:
        """Wait for the GPU's queue (nothing to wait for on a CPU)."""
        if self.device == "cuda":
            torch.cuda.synchronize()

    def peak_gpu_mem_mb(self) -> float | None:
        """Peak memory PyTorch's allocator held, in MB; None on a CPU."""
        return torch.cuda.max_memory_allocated() / 2**20 if self.device == "cuda" else None


def make_backend(variant: str, threads: int, device: str) -> KerasTorchBackend:
    """The inference backend of a ``keras-torch`` variant."""
    return KerasTorchBackend(variant, threads, device)
