"""The image data sets both frameworks train on, as framework-neutral NumPy arrays.

``load_dataset(spec)`` understands ``digits``, ``cifar10``, ``synthetic`` and ``folder:PATH``. Every
source returns an :class:`ImageSet`: uint8 images in NHWC order (height, width, RGB), int64 labels and
a seeded train/validation split. Normalisation and augmentation happen later, in each framework's input
pipeline, from the same seeded plan (see :mod:`reportgen.workloads.data.augment`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from reportgen.workloads.data.cifar10 import load_cifar10
from reportgen.workloads.data.folder import load_folder
from reportgen.workloads.data.imageset import DatasetError, ImageSet, split

__all__ = ["DATASETS", "DatasetError", "ImageSet", "digits", "load_dataset", "split", "synthetic"]

DATASETS = ("digits", "cifar10", "synthetic", "folder:PATH")


def digits(val_fraction: float = 0.2, seed: int = 0) -> ImageSet:
    """scikit-learn's 1,797 handwritten digits (no download), scaled 4x to 32x32 RGB."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images * (255.0 / 16.0)).round().astype(np.uint8)
    images = images.repeat(4, axis=1).repeat(4, axis=2)  # every 8x8 pixel becomes a 4x4 block
    images = np.repeat(images[..., None], 3, axis=3)  # grey -> RGB
    parts = split(images, data.target.astype(np.int64), val_fraction, seed)
    return ImageSet("digits", *parts, classes=tuple(str(d) for d in range(10)),
                    source="sklearn.datasets.load_digits, 8x8 scaled to 32x32")


def synthetic(image_size: int = 32, num_classes: int = 10, train: int = 1024, val: int = 256,
              seed: int = 0) -> ImageSet:
    """Random images and labels: nothing to learn, for pure-throughput runs at any resolution."""
    rng = np.random.default_rng(seed)
    shape = (train + val, image_size, image_size, 3)
    images = rng.integers(0, 256, size=shape, dtype=np.uint8)
    labels = rng.integers(0, num_classes, size=train + val).astype(np.int64)
    return ImageSet("synthetic", images[:train], labels[:train], images[train:], labels[train:],
                    classes=tuple(str(c) for c in range(num_classes)), source="random uint8 images")


def load_dataset(spec: str, image_size: int = 32, val_fraction: float = 0.2, seed: int = 0,
                 cache_dir: Path | None = None, max_train: int = 0) -> ImageSet:
    """The data set named by ``spec``: ``digits``, ``cifar10``, ``synthetic`` or ``folder:PATH``.

    ``image_size`` sets the size of synthetic images and of images read from a folder; digits and
    CIFAR-10 keep their native 32x32 (the input pipelines resize when a profile asks for more).
    ``max_train`` keeps only the first N training images (0: all), for short runs.
    """
    data = _load(spec, image_size, val_fraction, seed, cache_dir)
    if 0 < max_train < len(data.train_labels):
        data = replace(data, train_images=data.train_images[:max_train], train_labels=data.train_labels[:max_train])
    return data


def _load(spec: str, image_size: int, val_fraction: float, seed: int, cache_dir: Path | None) -> ImageSet:
    if spec == "digits":
        return digits(val_fraction, seed)
    if spec == "synthetic":
        return synthetic(image_size, seed=seed)
    if spec == "cifar10":
        return load_cifar10(cache_dir)
    if spec.startswith("folder:"):
        return load_folder(Path(spec.removeprefix("folder:")), image_size, val_fraction, seed)
    raise DatasetError(f"unknown data set {spec!r}; choose one of: {', '.join(DATASETS)}")
