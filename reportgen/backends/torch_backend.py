"""PyTorch eager inference."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from benchmarks.inference import predict_torch


class TorchBackend:
    framework = "torch"
    variant = "eager"

    def __init__(self, threads: int, device: str) -> None:
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        self.device = device
        self.model: torch.nn.Module | None = None
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def thread_settings(self) -> dict[str, Any]:
        return {"torch.intra_op": torch.get_num_threads(), "torch.inter_op": torch.get_num_interop_threads()}

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        self.model = predict_torch.load_model(state, num_classes, self.device)

    def to_input(self, images_nchw: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(images_nchw).to(self.device)

    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        return predict_torch.predict(self.model, inputs)

    def sync(self, outputs: torch.Tensor) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()

    def to_numpy(self, outputs: torch.Tensor) -> np.ndarray:
        return outputs.cpu().numpy()

    def peak_gpu_mem_mb(self) -> float | None:
        return torch.cuda.max_memory_allocated() / 2**20 if self.device == "cuda" else None


def make_backend(threads: int, device: str) -> TorchBackend:
    return TorchBackend(threads, device)
