"""PyTorch inference: eager, channels-last, torch.compile, and AMP (fp16 on CUDA, bf16 on CUDA or CPU)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from benchmarks.inference import predict_torch


class TorchBackend:
    def __init__(self, variant: str, threads: int, device: str) -> None:
        torch.set_num_threads(threads)
        if torch.get_num_interop_threads() != 1:  # settable once per process (a shared one set it already)
            torch.set_num_interop_threads(1)
        self.variant, self.device = variant, device
        self.model: Any = None
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def thread_settings(self) -> dict[str, Any]:
        return {"torch.intra_op": torch.get_num_threads(), "torch.inter_op": torch.get_num_interop_threads()}

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        model = predict_torch.load_model(state, num_classes, self.device)
        if self.variant == "channels-last":
            model = predict_torch.to_channels_last(model)
        if self.variant == "compile":
            model = predict_torch.compile_model(model)
        self.model = model

    def to_input(self, images_nchw: np.ndarray) -> torch.Tensor:
        images = torch.from_numpy(images_nchw).to(self.device)
        return images.to(memory_format=torch.channels_last) if self.variant == "channels-last" else images

    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.variant.startswith("amp-"):
            dtype = torch.float16 if self.variant == "amp-fp16" else torch.bfloat16
            return predict_torch.predict_mixed(self.model, inputs, dtype)
        return predict_torch.predict(self.model, inputs)

    def sync(self, outputs: torch.Tensor) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()

    def to_numpy(self, outputs: torch.Tensor) -> np.ndarray:
        return outputs.float().cpu().numpy()

    def peak_gpu_mem_mb(self) -> float | None:
        return torch.cuda.max_memory_allocated() / 2**20 if self.device == "cuda" else None


def make_backend(variant: str, threads: int, device: str) -> TorchBackend:
    return TorchBackend(variant, threads, device)
