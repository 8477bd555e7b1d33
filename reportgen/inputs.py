"""The inputs every framework sees: seeded random images, identical in every process."""

from __future__ import annotations

import numpy as np

CHECK_BATCH = 4  # images in the fixed batch whose logits are compared across frameworks


def images(seed: int, batch: int, size: int) -> np.ndarray:
    """Seeded standard-normal NCHW float32 images: the same array in every process for the same seed."""
    return np.random.default_rng(seed).standard_normal((batch, 3, size, size), dtype=np.float32)


def check_images(seed: int, size: int) -> np.ndarray:
    """The fixed batch whose logits every runtime saves for the parity comparison."""
    return images(seed, CHECK_BATCH, size)
