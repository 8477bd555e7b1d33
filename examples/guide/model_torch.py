"""Topic 2, PyTorch: the ResNet basic block as an ``nn.Module``, checked against torchvision's."""

import tempfile
from pathlib import Path

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock as TorchvisionBasicBlock


# --8<-- [start:block]
class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus a shortcut; a 1x1 projection when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()  # layers are created here, with every shape spelled out
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # plain Python, run on every call
        shortcut = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + shortcut)
# --8<-- [end:block]


def main() -> None:
    torch.manual_seed(0)
    # --8<-- [start:check]
    ours = BasicBlock(64, 128, stride=2)
    projection = nn.Sequential(nn.Conv2d(64, 128, 1, 2, bias=False), nn.BatchNorm2d(128))
    # torchvision.models.resnet.BasicBlock
    reference = TorchvisionBasicBlock(64, 128, stride=2, downsample=projection)
    ours.load_state_dict(reference.state_dict())  # strict: every name and shape must match
    ours.eval()  # BatchNorm: running statistics instead of batch statistics
    reference.eval()
    x = torch.randn(2, 64, 16, 16)  # NCHW
    torch.testing.assert_close(ours(x), reference(x))
    # --8<-- [end:check]
    with tempfile.TemporaryDirectory() as tmp:
        # --8<-- [start:save]
        path = Path(tmp) / "block.pt"
        torch.save(ours.state_dict(), path)  # tensors by name; the class stays in your code
        restored = BasicBlock(64, 128, stride=2)
        # weights_only=True (the default): unpickles tensors and plain data, never code
        restored.load_state_dict(torch.load(path, weights_only=True))
        # --8<-- [end:save]
        torch.testing.assert_close(restored.eval()(x), ours(x))
    assert ours(x).shape == (2, 128, 8, 8)
    trainable = sum(p.numel() for p in ours.parameters() if p.requires_grad)
    assert trainable == sum(p.numel() for p in reference.parameters())
    print(f"BasicBlock(64 -> 128, stride 2): {trainable:,} trainable parameters, "
          "output equal to torchvision's")


if __name__ == "__main__":
    main()
