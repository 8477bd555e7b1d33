"""ResNet-18 in PyTorch (torchvision), plus numpy state-dict helpers.

The numpy helpers are the framework-neutral exchange format used to move
weights between this model and the Keras port in ``resnet_keras``.
"""

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet18


# --8<-- [start:build]
def build_resnet18(num_classes: int = 1000, seed: int = 0) -> nn.Module:
    """Return a randomly initialised torchvision ResNet-18 (in training mode)."""
    torch.manual_seed(seed)
    return resnet18(weights=None, num_classes=num_classes)
# --8<-- [end:build]


def state_dict_numpy(model: nn.Module) -> dict[str, np.ndarray]:
    """Return every state_dict entry as a numpy array, except num_batches_tracked."""
    return {
        key: tensor.detach().cpu().numpy().copy()
        for key, tensor in model.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }


def load_state_numpy(model: nn.Module, state: dict[str, np.ndarray]) -> None:
    """Load numpy arrays into ``model`` strictly; num_batches_tracked may be absent."""
    tensors = {key: torch.tensor(np.asarray(value)) for key, value in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [key for key in missing if not key.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"state mismatch: missing {missing}, unexpected {unexpected}")
