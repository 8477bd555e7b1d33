"""The handwritten digits that ship with scikit-learn, as 32x32 RGB images (no download needed)."""

import numpy as np
from sklearn.datasets import load_digits

MEAN, STD = 0.3053, 0.3760  # mean and std of all pixels of the 1,797 digits, scaled to [0, 1]


def load_digits_32(val_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, ...]:
    """``(x_train, y_train, x_val, y_val)``: NCHW float32 images, normalised, and int64 labels.

    Each 8x8 grey digit is scaled up 4x (every pixel becomes a 4x4 block) and repeated over three
    channels, so an ImageNet-style ResNet-18 can take it unchanged. The split is seeded and stratified
    by nothing but the shuffle, which is enough for ten balanced classes.
    """
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    images = images.repeat(4, axis=1).repeat(4, axis=2)  # (n, 32, 32)
    images = (images - MEAN) / STD
    x = np.repeat(images[:, None], 3, axis=1)  # (n, 3, 32, 32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(len(x) * val_fraction)
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]
