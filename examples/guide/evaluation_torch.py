"""Topic 5, PyTorch: evaluate a classifier on a labelled set, and answer a request with the top-k
classes and their confidences."""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import v2

from reportgen.workloads.models.resnet_torch import build_resnet18

CLASSES = ("airplane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# The ImageNet channel statistics that torchvision's pretrained weights expect
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# --8<-- [start:preprocess]
preprocess = v2.Compose([
    v2.ToImage(),  # HWC uint8 array -> CHW uint8 tensor
    v2.Resize((32, 32), antialias=True),
    v2.ToDtype(torch.float32, scale=True),  # 0..255 -> 0..1
    v2.Normalize(MEAN, STD),
])
# --8<-- [end:preprocess]


# --8<-- [start:evaluate]
@torch.inference_mode()  # no autograd graph is recorded: less memory, less time
def evaluate(model: nn.Module, loader: DataLoader, k: int = 5) -> dict[str, float]:
    """Mean cross-entropy, top-1 and top-k accuracy over every batch of ``loader``."""
    model.eval()  # BatchNorm uses its running statistics, Dropout is off
    loss = top1 = topk = seen = 0.0
    for images, labels in loader:
        logits = model(images)
        loss += F.cross_entropy(logits, labels, reduction="sum").item()
        best = logits.topk(k, dim=1).indices  # (batch, k), most likely class first
        top1 += (best[:, 0] == labels).sum().item()
        topk += (best == labels[:, None]).any(dim=1).sum().item()
        seen += len(labels)
    return {"loss": loss / seen, "top1": top1 / seen, f"top{k}": topk / seen}
# --8<-- [end:evaluate]


# --8<-- [start:predict]
Answer = list[dict[str, str | float]]


@torch.inference_mode()
def classify(model: nn.Module, images: list[np.ndarray], k: int = 3) -> list[Answer]:
    """For each raw HWC uint8 image, its ``k`` most likely classes, most likely first."""
    model.eval()
    batch = torch.stack([preprocess(image) for image in images])
    probabilities = model(batch).softmax(dim=1)  # logits -> confidences that sum to 1
    confidences, indices = probabilities.topk(k, dim=1)
    return [
        [{"label": CLASSES[i], "confidence": round(c, 4)}
         for i, c in zip(row.tolist(), conf.tolist(), strict=True)]
        for row, conf in zip(indices, confidences, strict=True)
    ]
# --8<-- [end:predict]


def main() -> None:
    rng = np.random.default_rng(0)
    model = build_resnet18(num_classes=len(CLASSES))  # random weights: chance-level numbers
    raw = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    labels = torch.from_numpy(rng.integers(0, len(CLASSES), size=64))
    images = torch.stack([preprocess(image) for image in raw])
    metrics = evaluate(model, DataLoader(TensorDataset(images, labels), batch_size=16))
    print(f"evaluate: {metrics}")
    other_size = rng.integers(0, 256, size=(48, 40, 3), dtype=np.uint8)
    answers = classify(model, [raw[0], other_size])
    print(f"classify: {answers[0]}")
    assert 0 <= metrics["top1"] <= metrics["top5"] <= 1 and metrics["loss"] > 0
    confidences = [answer["confidence"] for answer in answers[0]]
    assert confidences == sorted(confidences, reverse=True) and sum(confidences) <= 1.0001
    firsts = [answer[0]["label"] for answer in classify(model, list(raw), k=1)]
    top1 = np.mean([first == CLASSES[label] for first, label in zip(firsts, labels, strict=True)])
    assert abs(top1 - metrics["top1"]) < 1e-9  # the service's first answer is the top-1


if __name__ == "__main__":
    main()
