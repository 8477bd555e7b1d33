"""What every data source returns: an :class:`ImageSet` of uint8 NHWC images with a seeded split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DatasetError(Exception):
    """A data set that cannot be loaded: the message is one line and names the file or folder."""


@dataclass(frozen=True)
class ImageSet:
    """Train and validation images (uint8, NHWC) with int64 labels and the class names."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    classes: tuple[str, ...]
    source: str  # where the images came from, for the report

    @property
    def image_size(self) -> int:
        """Height and width of the images, in pixels."""
        return int(self.train_images.shape[1])

    @property
    def mean(self) -> np.ndarray:
        """Per-channel mean of the training images, scaled to [0, 1]."""
        return self.train_images.reshape(-1, 3).mean(axis=0) / 255.0

    @property
    def std(self) -> np.ndarray:
        """Per-channel standard deviation of the training images, scaled to [0, 1]."""
        return self.train_images.reshape(-1, 3).std(axis=0) / 255.0


def split(images: np.ndarray, labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """A seeded shuffle split into ``(train_images, train_labels, val_images, val_labels)``."""
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = max(1, int(round(len(images) * val_fraction)))
    val, train = order[:n_val], order[n_val:]
    return images[train], labels[train], images[val], labels[val]
