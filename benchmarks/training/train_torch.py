"""Training ResNet-18 in PyTorch: an explicit loop over a DataLoader."""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def train(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    batch_size: int = 64,
    lr: float = 0.05,
    seed: int = 0,
) -> list[float]:
    """Train with SGD (momentum 0.9, weight decay 5e-4) and a cosine schedule; return each epoch's mean loss."""
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(torch.from_numpy(images), torch.from_numpy(labels)),
                        batch_size=batch_size, shuffle=True, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    loss_fn = nn.CrossEntropyLoss()
    history = []
    model.train()
    for _ in range(epochs):
        total, seen = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(x)
            seen += len(x)
        history.append(total / seen)
    return history


@torch.inference_mode()
def predict_logits(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits of ``model`` in evaluation mode for every image."""
    model.eval()
    return np.concatenate([model(torch.from_numpy(images[i:i + batch_size])).numpy()
                           for i in range(0, len(images), batch_size)])
