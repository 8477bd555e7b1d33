"""One seeded augmentation plan that both frameworks follow, so they see the same images in the same order.

Each framework normally draws its own random crops, flips and shuffle order, so two runs with "the same
seed" still train on different batches. Here the random draws are made once, by NumPy, for each epoch:
the order of the images, the crop offset of each image (after padding) and whether it is flipped. The
PyTorch ``Dataset`` and the ``tf.data`` pipeline then only *apply* the plan with their own operations
(pad, crop, flip, normalise), which are exact on uint8 pixels, so both produce identical tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# --8<-- [start:plan]
@dataclass(frozen=True)
class EpochPlan:
    """The order and the per-image augmentation of one epoch (indexed by image, not by position)."""

    order: np.ndarray  # (n,) int64: image indices in the order they are visited
    top: np.ndarray  # (n,) int32: crop offset from the top of the padded image
    left: np.ndarray  # (n,) int32: crop offset from the left of the padded image
    flip: np.ndarray  # (n,) bool: mirror left-right


def padding_for(image_size: int) -> int:
    """Padding before the random crop: 4 pixels at 32x32, as in the classic CIFAR recipe, scaled with size."""
    return max(1, image_size // 8)


def epoch_plan(n: int, epoch: int, seed: int, padding: int) -> EpochPlan:
    """The plan of ``epoch`` for ``n`` images; the same (seed, epoch) always gives the same plan."""
    rng = np.random.default_rng([seed, epoch])
    return EpochPlan(
        order=rng.permutation(n).astype(np.int64),
        top=rng.integers(0, 2 * padding + 1, size=n).astype(np.int32),
        left=rng.integers(0, 2 * padding + 1, size=n).astype(np.int32),
        flip=rng.random(n) < 0.5,
    )
# --8<-- [end:plan]


# --8<-- [start:shard]
def shard(order: np.ndarray, index: int, count: int) -> np.ndarray:
    """Worker ``index`` of ``count``: every ``count``-th image of ``order``, all shards the same length.

    Equal lengths matter: data-parallel workers step in lockstep, so one extra batch on one worker would
    leave the others waiting for it forever. Up to ``count - 1`` images per epoch are left out.
    """
    return order[: len(order) - len(order) % count][index::count]
# --8<-- [end:shard]


def steps_per_epoch(data, batch_size: int, shard_count: int = 1) -> int:
    """Batches per epoch and worker, counting the last partial batch (as the PyTorch DataLoader does)."""
    return -(-(len(data.train_labels) // shard_count) // batch_size)
