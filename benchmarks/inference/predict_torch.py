"""Batch inference with PyTorch (eager mode)."""

import numpy as np
import torch

from benchmarks.models.resnet_torch import build_resnet18, load_state_numpy


def load_model(state: dict[str, np.ndarray], num_classes: int, device: str = "cpu") -> torch.nn.Module:
    """ResNet-18 with the given weights, in evaluation mode (BatchNorm uses its running statistics)."""
    model = build_resnet18(num_classes)
    load_state_numpy(model, state)
    return model.eval().to(device)


@torch.inference_mode()  # no autograd bookkeeping: faster and leaner than no_grad
def predict(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Logits for a batch of NCHW images."""
    return model(images)
