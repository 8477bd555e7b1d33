"""The training recipe both frameworks follow, and what one epoch of training reports."""

from __future__ import annotations

from dataclasses import dataclass

# how SGD applies momentum and weight decay, in both frameworks (Keras: train_keras.SGDLikePyTorch)
SGD_RULE = "PyTorch's: v = m*v + g + wd*w; w -= lr*v"


@dataclass(frozen=True)
class Recipe:
    """Optimizer, schedule, batch size and epochs: identical in PyTorch and Keras."""

    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "sgd"  # "sgd" (with momentum) or "adam"
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    # "cosine" (to zero, per step), "step" (x0.1 at 50% and 75% of the steps) or "constant"
    schedule: str = "cosine"

    def milestones(self, total_steps: int) -> list[int]:
        """The steps at which the "step" schedule divides the learning rate by ten."""
        return [total_steps // 2, total_steps * 3 // 4]


@dataclass
class EpochResult:
    """One epoch: training loss/accuracy (running, with augmentation), validation loss/top-1, time."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_top1: float
    train_time_s: float  # training steps only, validation excluded
    images: int


@dataclass
class History:
    """A whole training run: the loss of the very first batch (before any update), then every epoch."""

    initial_loss: float
    epochs: list[EpochResult]
