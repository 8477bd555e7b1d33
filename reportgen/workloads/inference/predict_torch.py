"""Batch inference with PyTorch: eager, channels-last, compiled, and mixed precision."""

import numpy as np
import torch

from reportgen.workloads.models.resnet_torch import build_resnet18, load_state_numpy


def load_model(state: dict[str, np.ndarray], num_classes: int, device: str = "cpu") -> torch.nn.Module:
    """ResNet-18 with the given weights, in evaluation mode (BatchNorm uses its running statistics)."""
    model = build_resnet18(num_classes)
    load_state_numpy(model, state)
    return model.eval().to(device)


# --8<-- [start:channels-last]
def to_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """Store activations as NHWC in memory, the layout many CPU and GPU convolution kernels prefer.

    Inputs must be converted too: ``images.to(memory_format=torch.channels_last)``.
    """
    return model.to(memory_format=torch.channels_last)
# --8<-- [end:channels-last]


# --8<-- [start:compile]
def compile_model(model: torch.nn.Module) -> torch.nn.Module:
    """Compile with TorchInductor; the first call traces and generates code (it is timed on its own)."""
    return torch.compile(model)
# --8<-- [end:compile]


# --8<-- [start:predict]
@torch.inference_mode()  # no autograd bookkeeping: faster and leaner than no_grad
def predict(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Logits for a batch of NCHW images."""
    return model(images)
# --8<-- [end:predict]


# --8<-- [start:mixed]
@torch.inference_mode()
def predict_mixed(model: torch.nn.Module, images: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Logits computed in ``torch.float16`` (CUDA) or ``torch.bfloat16`` (CUDA, or a CPU with bfloat16
    instructions) where autocast deems it safe; the logits come back in that type."""
    with torch.autocast(device_type=images.device.type, dtype=dtype):
        return model(images)
# --8<-- [end:mixed]
