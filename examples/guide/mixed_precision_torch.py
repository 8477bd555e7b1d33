"""Topic 7, PyTorch: mixed-precision training with ``torch.autocast`` and ``GradScaler``."""

import torch
from torch import nn
from torch.nn import functional as F


# --8<-- [start:precision]
def pick_precision() -> tuple[str, torch.dtype]:
    """bfloat16 where the hardware has it (CPUs, NVIDIA Ampere or later), else float16."""
    if torch.cuda.is_available():
        return "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return "cpu", torch.bfloat16
# --8<-- [end:precision]


# --8<-- [start:step]
def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
               device_type: str, dtype: torch.dtype) -> float:
    """One step: convolutions and matmuls in ``dtype``, loss and weights in float32."""
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=device_type, dtype=dtype):  # the forward pass only
        logits = model(images)  # in dtype
        loss = F.cross_entropy(logits, labels)  # autocast runs the loss in float32
    scaler.scale(loss).backward()  # float16: scale up so small gradients do not underflow
    scaler.step(optimizer)  # unscale the gradients; skip the step if any is inf or NaN
    scaler.update()  # lower the scale after a skipped step, raise it after many good ones
    return loss.item()
# --8<-- [end:step]


def small_cnn(num_classes: int = 10) -> nn.Module:
    """A small stand-in for ResNet-18, to keep the example fast; train_step() takes any model."""
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes))


def main() -> None:
    torch.manual_seed(0)
    images, labels = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    for dtype in (torch.bfloat16, torch.float16):  # float16 autocast runs on a CPU too
        model = small_cnn()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        # --8<-- [start:scaler]
        # bfloat16 has float32's range and needs no scaling: a disabled scaler passes through
        scaler = torch.amp.GradScaler("cpu", enabled=dtype == torch.float16)
        # --8<-- [end:scaler]
        losses = [train_step(model, images, labels, optimizer, scaler, "cpu", dtype)
                  for _ in range(3)]
        with torch.autocast("cpu", dtype=dtype):
            assert model(images).dtype == dtype
        assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32
        assert all(torch.isfinite(torch.tensor(losses)))
        print(f"{dtype}: losses {[round(v, 3) for v in losses]}, loss scale {scaler.get_scale()}")
    assert pick_precision()[1] in (torch.bfloat16, torch.float16)


if __name__ == "__main__":
    main()
