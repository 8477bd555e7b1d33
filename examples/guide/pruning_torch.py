"""Topic 11, PyTorch: global magnitude pruning with ``torch.nn.utils.prune``."""

import io
import zlib

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import prune

from reportgen.workloads.models.resnet_torch import build_resnet18


# --8<-- [start:prune]
def prune_convolutions(model: nn.Module, amount: float) -> None:
    """Zero the ``amount`` share of convolution weights with the smallest magnitude, with
    one threshold across all layers.

    Each convolution's ``weight`` becomes ``weight_orig * weight_mask``, recomputed before
    every forward pass, so the pruned weights stay zero while the model is fine-tuned.
    """
    convolutions = [(m, "weight") for m in model.modules() if isinstance(m, nn.Conv2d)]
    prune.global_unstructured(convolutions, prune.L1Unstructured, amount=amount)


def make_permanent(model: nn.Module) -> None:
    """Fold each mask into its weight and drop the mask (before saving or exporting)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and prune.is_pruned(module):
            prune.remove(module, "weight")
# --8<-- [end:prune]


def sparsity(model: nn.Module) -> float:
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


def compressed_mb(model: nn.Module) -> float:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(zlib.compress(buffer.getvalue(), 1)) / 2**20


def main() -> None:
    torch.manual_seed(0)
    model = build_resnet18(num_classes=10)
    before = compressed_mb(model)
    prune_convolutions(model, amount=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    for _ in range(2):  # fine-tune: the masks keep the pruned weights at zero
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    assert abs(sparsity(model) - 0.5) < 0.01
    make_permanent(model)
    assert not any(name.endswith(("_orig", "_mask")) for name in model.state_dict())
    after = compressed_mb(model)
    print(f"50% of conv weights zero; state_dict compressed {before:.1f} MB -> {after:.1f} MB (zlib)")
    assert after < 0.8 * before  # zeros only shrink a file that is compressed


if __name__ == "__main__":
    main()
