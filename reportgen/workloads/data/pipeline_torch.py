"""The PyTorch input pipeline: a ``Dataset`` that applies the shared augmentation plan, and its ``DataLoader``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from reportgen.workloads.data.augment import EpochPlan, epoch_plan, padding_for, shard


# --8<-- [start:dataset]
class AugmentedImages(Dataset):
    """uint8 NHWC images -> normalised float CHW tensors; pad + random crop + flip when ``augment``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: np.ndarray, std: np.ndarray,
                 image_size: int, augment: bool = False, seed: int = 0) -> None:
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2)  # NHWC -> NCHW, still uint8
        self.labels = torch.from_numpy(labels)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
        self.image_size, self.augment, self.seed = image_size, augment, seed
        self.padding = padding_for(self.images.shape[-1])
        self.plan: EpochPlan | None = None

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's order, crops and flips (the same plan the tf.data pipeline follows)."""
        self.plan = epoch_plan(len(self), epoch, self.seed, self.padding)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[index]
        if self.augment:
            assert self.plan is not None, "call set_epoch(epoch) before iterating"
            size = image.shape[-1]
            top, left = int(self.plan.top[index]), int(self.plan.left[index])
            image = F.pad(image, [self.padding] * 4)[:, top:top + size, left:left + size]
            if self.plan.flip[index]:
                image = image.flip(-1)
        image = (image.float() / 255.0 - self.mean) / self.std
        if image.shape[-1] != self.image_size:
            image = F.interpolate(image[None], size=self.image_size, mode="bilinear", antialias=False)[0]
        return image, self.labels[index]
# --8<-- [end:dataset]


class PlanOrder(Sampler[int]):
    """Visits the images in the order of the dataset's current epoch plan (instead of ``shuffle=True``)."""

    def __init__(self, dataset: AugmentedImages, rank: int = 0, world_size: int = 1) -> None:
        self.dataset, self.rank, self.world_size = dataset, rank, world_size

    def __iter__(self) -> Iterator[int]:
        assert self.dataset.plan is not None, "call set_epoch(epoch) before iterating"
        return iter(shard(self.dataset.plan.order, self.rank, self.world_size).tolist())

    def __len__(self) -> int:
        return len(self.dataset) // self.world_size


# --8<-- [start:loader]
def make_loaders(data, image_size: int, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, workers: int = 0) -> tuple[DataLoader, DataLoader]:
    """Training and validation ``DataLoader`` s of an :class:`~reportgen.workloads.data.datasets.ImageSet`.

    With ``world_size > 1`` each rank takes every ``world_size``-th image of the shared order, as
    ``DistributedSampler`` would (see :func:`~reportgen.workloads.data.augment.shard`); ``batch_size`` is then
    the per-rank batch.
    """
    train = AugmentedImages(data.train_images, data.train_labels, data.mean, data.std, image_size,
                            augment=True, seed=seed)
    val = AugmentedImages(data.val_images, data.val_labels, data.mean, data.std, image_size)
    pin = torch.cuda.is_available()
    train_loader = DataLoader(train, batch_size=batch_size, sampler=PlanOrder(train, rank, world_size),
                              num_workers=workers, pin_memory=pin, persistent_workers=workers > 0)
    val_loader = DataLoader(val, batch_size=256, num_workers=workers, pin_memory=pin)
    return train_loader, val_loader
# --8<-- [end:loader]
