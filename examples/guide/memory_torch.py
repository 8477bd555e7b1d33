"""Topic 8, PyTorch: gradient accumulation and activation checkpointing."""

import copy
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint
from torchvision.models import ResNet

from reportgen.workloads.models.resnet_torch import build_resnet18

Batch = tuple[torch.Tensor, torch.Tensor]


# --8<-- [start:accumulate]
def train_accumulated(model: nn.Module, batches: Iterable[Batch],
                      optimizer: torch.optim.Optimizer, steps: int) -> None:
    """One optimizer step per ``steps`` batches, with the gradient of their union."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    for i, (images, labels) in enumerate(batches, start=1):
        loss = F.cross_entropy(model(images), labels) / steps  # mean over the union
        loss.backward()  # backward() adds to .grad; it never overwrites it
        if i % steps == 0:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
# --8<-- [end:accumulate]


# --8<-- [start:checkpoint]
def forward_checkpointed(model: ResNet, images: torch.Tensor) -> torch.Tensor:
    """torchvision's ResNet forward, keeping only each stage's input for backward()."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(images))))
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = checkpoint(stage, x, use_reentrant=False)  # runs again during backward()
    return model.fc(torch.flatten(model.avgpool(x), 1))
# --8<-- [end:checkpoint]


# --8<-- [start:measure]
def saved_activation_bytes(model: nn.Module, forward: Callable[[], torch.Tensor]) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of ``forward()``, weights
    excluded; a tensor saved twice is counted once."""
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        forward().sum().backward()
    return sum(kept.values())
# --8<-- [end:measure]


def main() -> None:
    torch.manual_seed(0)
    images, labels = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))

    # Accumulating 2 micro-batches of 8 equals one step on 16 images, unless BatchNorm is involved
    for batch_norm in (False, True):
        norm = nn.BatchNorm2d(8) if batch_norm else nn.Identity()
        model = nn.Sequential(nn.Conv2d(3, 8, 3), norm, nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten(), nn.Linear(8, 10))
        large, accumulated = model, copy.deepcopy(model)
        train_accumulated(large, [(images, labels)], torch.optim.SGD(large.parameters(), lr=0.1),
                          steps=1)
        train_accumulated(accumulated, [(images[:8], labels[:8]), (images[8:], labels[8:])],
                          torch.optim.SGD(accumulated.parameters(), lr=0.1), steps=2)
        pairs = zip(large.parameters(), accumulated.parameters(), strict=True)
        same = all(torch.allclose(a, b, atol=1e-6) for a, b in pairs)
        assert same != batch_norm  # BatchNorm normalises each micro-batch with its own statistics
    print("accumulation: equal to the large batch without BatchNorm, different with it")

    # Checkpointing: the same gradients from fewer stored activations, but BatchNorm runs twice
    plain = build_resnet18(num_classes=10)
    checkpointed = copy.deepcopy(plain)
    kept_plain = saved_activation_bytes(plain, lambda: plain(images))
    kept_checkpointed = saved_activation_bytes(
        checkpointed, lambda: forward_checkpointed(checkpointed, images))
    for a, b in zip(plain.parameters(), checkpointed.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)
    assert 0.4 < kept_checkpointed / kept_plain < 0.6  # the stem before layer1 is not checkpointed
    print(f"checkpointing: {kept_plain / 2**20:.1f} MB of activations kept -> "
          f"{kept_checkpointed / 2**20:.1f} MB")
    bn_plain, bn_checkpointed = plain.layer1[0].bn1, checkpointed.layer1[0].bn1
    assert bn_plain.num_batches_tracked == 1 and bn_checkpointed.num_batches_tracked == 2
    # running_mean starts at 0 and moves by momentum 0.1: 0.1 * m after one update, 0.19 * m after two
    torch.testing.assert_close(bn_checkpointed.running_mean, 1.9 * bn_plain.running_mean)


if __name__ == "__main__":
    main()
