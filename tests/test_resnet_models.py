"""ResNet-18 in PyTorch and Keras: same architecture, same numbers."""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np
import pytest

# imported by _frameworks when the first test here runs, not at collection: every pytest worker collects this
# module, and importing both frameworks costs each worker about 10 s it may never need
torch: Any = None
keras: Any = None
resnet_torch: ModuleType
resnet_keras: ModuleType


@pytest.fixture(scope="module", autouse=True)
def _frameworks() -> None:
    global torch, keras, resnet_torch, resnet_keras
    import torch  # torch must be imported before tensorflow (segfaults otherwise)

    from reportgen.workloads.models import resnet_torch

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from reportgen.workloads.models import resnet_keras

NUM_CLASSES = 10
IMAGENET_TRAINABLE_PARAMS = 11_689_512
BN_MOVING_STATS = 9_600


@pytest.fixture(scope="module")
def torch_model() -> torch.nn.Module:
    """A small torch ResNet-18 whose BN layers are not the identity."""
    model = resnet_torch.build_resnet18(num_classes=NUM_CLASSES, seed=0)
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            for tensor in (module.weight.data, module.running_var):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            for tensor in (module.bias.data, module.running_mean):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)
    return model.eval()


def test_parameter_counts() -> None:
    torch_model = resnet_torch.build_resnet18()
    keras_model = resnet_keras.build_resnet18()
    torch_count = sum(p.numel() for p in torch_model.parameters() if p.requires_grad)
    keras_count = sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
    assert torch_count == IMAGENET_TRAINABLE_PARAMS
    assert keras_count == IMAGENET_TRAINABLE_PARAMS
    assert keras_model.count_params() == IMAGENET_TRAINABLE_PARAMS + BN_MOVING_STATS


@pytest.mark.parametrize("size", [(32, 32), (40, 40), (37, 45)])
def test_torch_to_keras_logits_match(torch_model: torch.nn.Module, size: tuple[int, int]) -> None:
    images = np.random.default_rng(0).standard_normal((4, *size, 3), np.float32)
    keras_model = resnet_keras.build_resnet18(NUM_CLASSES, (*size, 3))
    resnet_keras.load_torch_state(keras_model, resnet_torch.state_dict_numpy(torch_model))

    with torch.no_grad():
        expected = torch_model(torch.from_numpy(images.transpose(0, 3, 1, 2))).numpy()
    actual = keras.ops.convert_to_numpy(keras_model(images, training=False))

    assert actual.shape == (4, NUM_CLASSES)
    max_abs_diff = np.abs(actual - expected).max()
    print(f"{size}: max abs diff {max_abs_diff:.2e}")
    assert max_abs_diff <= 1e-4


def test_keras_to_torch_round_trip(torch_model: torch.nn.Module) -> None:
    original = resnet_torch.state_dict_numpy(torch_model)
    keras_model = resnet_keras.build_resnet18(NUM_CLASSES, (32, 32, 3))
    resnet_keras.load_torch_state(keras_model, original)

    fresh = resnet_torch.build_resnet18(num_classes=NUM_CLASSES, seed=1)
    resnet_torch.load_state_numpy(fresh, resnet_keras.torch_state(keras_model))
    restored = resnet_torch.state_dict_numpy(fresh)

    assert restored.keys() == original.keys()
    for key, value in original.items():
        np.testing.assert_array_equal(restored[key], value, err_msg=key)


def test_missing_key_is_named(torch_model: torch.nn.Module) -> None:
    state = resnet_torch.state_dict_numpy(torch_model)
    del state["layer3.1.bn2.running_var"]
    keras_model = resnet_keras.build_resnet18(NUM_CLASSES, (32, 32, 3))
    with pytest.raises(ValueError, match=r"layer3\.1\.bn2\.running_var"):
        resnet_keras.load_torch_state(keras_model, state)


def test_unused_key_is_named(torch_model: torch.nn.Module) -> None:
    state = resnet_torch.state_dict_numpy(torch_model)
    state["fc.extra"] = np.zeros(1, np.float32)
    keras_model = resnet_keras.build_resnet18(NUM_CLASSES, (32, 32, 3))
    with pytest.raises(ValueError, match=r"fc\.extra"):
        resnet_keras.load_torch_state(keras_model, state)
