"""The inputs every framework sees: seeded random images, identical in every process, and the real images the
inference model's static INT8 quantizations are calibrated on."""

from __future__ import annotations

from typing import Any

import numpy as np

CHECK_BATCH = 4  # images in the fixed batch whose logits are compared across frameworks
CALIBRATION_IMAGES = 8  # real images of the run's data set; the accuracy change is measured on the digits model


def images(seed: int, batch: int, size: int) -> np.ndarray:
    """Seeded standard-normal NCHW float32 images: the same array in every process for the same seed."""
    return np.random.default_rng(seed).standard_normal((batch, 3, size, size), dtype=np.float32)


def check_images(seed: int, size: int) -> np.ndarray:
    """The fixed batch whose logits every runtime saves for the parity comparison."""
    return images(seed, CHECK_BATCH, size)


def calibration_images(profile: dict[str, Any], seed: int) -> tuple[np.ndarray, str]:
    """The images every static INT8 quantization of the inference model is calibrated on (NCHW float32), and
    what they are: the first training images of the run's data set, resized to the inference size and
    standardised per channel (the timed inputs are standard-normal, so the scales match); random images
    only where the data set cannot be loaded here (the reason is recorded)."""
    from PIL import Image

    from reportgen.workloads.data.datasets import DatasetError, load_dataset

    size, training = profile["inference"]["image_size"], profile["training"]
    try:
        data = load_dataset(training["dataset"], training["image_size"], seed=seed, max_train=CALIBRATION_IMAGES)
    except DatasetError as exc:
        return (images(seed + 3, CALIBRATION_IMAGES, size),
                f"{CALIBRATION_IMAGES} random images: the data set could not be loaded ({exc})")
    picked = data.train_images[:CALIBRATION_IMAGES]
    resized = np.stack([np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))
                        for image in picked]).astype(np.float32) / 255.0
    standard = (resized - resized.mean(axis=(0, 1, 2))) / (resized.std(axis=(0, 1, 2)) + 1e-6)
    return (np.ascontiguousarray(standard.transpose(0, 3, 1, 2), dtype=np.float32),
            f"{len(picked)} training images of {data.name}, resized to {size}x{size} and standardised")
