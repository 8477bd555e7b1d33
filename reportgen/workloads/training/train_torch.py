"""Training ResNet-18 in PyTorch: the explicit loop, written out step by step."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from reportgen.workloads.data.pipeline_torch import make_loaders
from reportgen.workloads.training.recipe import EpochResult, History, Recipe


# --8<-- [start:optimizer]
def make_optimizer(model: nn.Module, recipe: Recipe, total_steps: int):
    """The optimizer and a per-step learning-rate schedule of ``recipe``."""
    if recipe.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=recipe.learning_rate, momentum=recipe.momentum,
                                    weight_decay=recipe.weight_decay)
    if recipe.schedule == "step":
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, recipe.milestones(total_steps), gamma=0.1)
    elif recipe.schedule == "constant":
        scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)
    else:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return optimizer, scheduler
# --8<-- [end:optimizer]


# --8<-- [start:evaluate]
@torch.no_grad()
def evaluate(model: nn.Module, loader, device: str) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy over ``loader``, in evaluation mode."""
    model.eval()
    loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
    for images, labels in loader:
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        logits = model(images).float()
        loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum")
        correct += (logits.argmax(1) == labels).sum()
        seen += len(labels)
    return loss_sum.item() / seen, correct.item() / seen
# --8<-- [end:evaluate]


def train(model: nn.Module, data, recipe: Recipe, image_size: int, device: str = "cpu", compile: bool = False,
          amp: torch.dtype | None = None, seed: int = 0, rank: int = 0, world_size: int = 1,
          on_epoch: Callable[[EpochResult], None] | None = None) -> History:
    """Train ``model`` on an :class:`~reportgen.workloads.data.datasets.ImageSet` following ``recipe``.

    ``compile`` wraps the model in ``torch.compile`` for the training steps; ``amp`` trains under autocast in
    that type: ``torch.float16`` with a gradient scaler (CUDA), ``torch.bfloat16`` without one (CUDA, or a CPU
    with bfloat16 instructions), and validates under the same autocast. The first batch's loss is reported before
    any update, so two frameworks that start from the same weights can be compared at step zero. Under
    ``DistributedDataParallel`` pass the wrapped model with ``rank`` and ``world_size``: each rank then trains
    on its shard of every epoch with ``recipe.batch_size // world_size`` images per step.
    """
    train_loader, val_loader = make_loaders(data, image_size, recipe.batch_size // world_size, seed=seed,
                                            rank=rank, world_size=world_size)
    model = model.to(device)
    step_model = torch.compile(model) if compile else model
    optimizer, scheduler = make_optimizer(model, recipe, recipe.epochs * len(train_loader))
    loss_fn = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler(device, enabled=amp == torch.float16)  # bfloat16 has float32's range: no scaling
    history = History(initial_loss=float("nan"), epochs=[])
    # --8<-- [start:loop]
    for epoch in range(recipe.epochs):
        train_loader.dataset.set_epoch(epoch)
        model.train()
        loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
        start = time.perf_counter()
        for images, labels in train_loader:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            with torch.autocast(device_type=device, dtype=amp, enabled=amp is not None):
                logits = step_model(images)
                loss = loss_fn(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if not seen and not epoch:
                history.initial_loss = loss.item()
            loss_sum += loss.detach() * len(labels)
            correct += (logits.argmax(1) == labels).sum()
            seen += len(labels)
        train_loss, train_accuracy = loss_sum.item() / seen, correct.item() / seen  # .item() waits for the GPU
        train_time = time.perf_counter() - start
        # validation runs the module eagerly: a compiled one would compile twice more (eval mode, short last batch)
        with torch.autocast(device_type=device, dtype=amp, enabled=amp is not None):
            val_loss, val_top1 = evaluate(model, val_loader, device)
        # --8<-- [end:loop]
        result = EpochResult(epoch, train_loss, train_accuracy, val_loss, val_top1, train_time, seen)
        history.epochs.append(result)
        if on_epoch:
            on_epoch(result)
    return history


@torch.inference_mode()
def predict_logits(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits of ``model`` in evaluation mode for every image (NCHW float32)."""
    model.eval()
    return np.concatenate([model(torch.from_numpy(images[i:i + batch_size])).numpy()
                           for i in range(0, len(images), batch_size)])
