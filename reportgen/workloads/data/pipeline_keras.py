"""The input pipeline of Keras on JAX and on PyTorch: a ``keras.utils.PyDataset`` in NumPy, on the shared plan.

``model.fit`` reads a ``tf.data.Dataset`` on every backend, but only where TensorFlow is installed; the JAX and
PyTorch environments hold no TensorFlow. A ``PyDataset`` needs nothing but NumPy: it applies the same plan as the
``tf.data`` pipeline and the PyTorch ``Dataset`` (order, crops, flips; exact on uint8 pixels), so ``fit`` sees the
same batches in the same order on every backend.
"""

from __future__ import annotations

import keras
import numpy as np

from reportgen.workloads.data import augment


# --8<-- [start:dataset]
class PlannedBatches(keras.utils.PyDataset):
    """Every epoch's batches back to back, as the ``tf.data`` pipeline holds them: pad + crop + flip, normalised.

    Batch ``i`` is step ``i % steps`` of epoch ``i // steps``; ``fit(steps_per_epoch=steps)`` reads on where the
    last epoch stopped. Batches are made in the training loop's thread (``workers=1``): at 32x32 a batch costs well
    under a millisecond, a training step tens of them.
    """

    def __init__(self, data, image_size: int, batch_size: int, epochs: int, seed: int = 0) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.data, self.image_size, self.batch_size = data, image_size, batch_size
        self.padding = augment.padding_for(data.train_images.shape[1])
        self.plans = [augment.epoch_plan(len(data.train_labels), e, seed, self.padding) for e in range(epochs)]
        self.steps = augment.steps_per_epoch(data, batch_size)

    def __len__(self) -> int:
        return len(self.plans) * self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        plan, step = self.plans[index // self.steps], index % self.steps
        chosen = plan.order[step * self.batch_size:(step + 1) * self.batch_size]
        size, pad = self.data.train_images.shape[1], self.padding
        padded = np.pad(self.data.train_images[chosen], ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        images = np.stack([image[top:top + size, left:left + size] for image, top, left
                           in zip(padded, plan.top[chosen], plan.left[chosen], strict=True)])
        images = np.where(plan.flip[chosen][:, None, None, None], images[:, :, ::-1], images)
        return normalise(images, self.data, self.image_size), self.data.train_labels[chosen]
# --8<-- [end:dataset]


class ValidationBatches(keras.utils.PyDataset):
    """The validation images, normalised, in order, no augmentation."""

    def __init__(self, data, image_size: int, batch_size: int = 256) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.data, self.image_size, self.batch_size = data, image_size, batch_size

    def __len__(self) -> int:
        return -(-len(self.data.val_labels) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return normalise(self.data.val_images[batch], self.data, self.image_size), self.data.val_labels[batch]


def training_dataset(data, image_size: int, batch_size: int, epochs: int, seed: int = 0) -> PlannedBatches:
    """The training batches of every epoch (the ``tf.data`` pipeline's counterpart, same arguments)."""
    return PlannedBatches(data, image_size, batch_size, epochs, seed=seed)


def validation_dataset(data, image_size: int, batch_size: int = 256) -> ValidationBatches:
    """The validation batches (the ``tf.data`` pipeline's counterpart)."""
    return ValidationBatches(data, image_size, batch_size)


def normalise(images: np.ndarray, data, image_size: int) -> np.ndarray:
    """uint8 NHWC pixels -> ``(x / 255 - mean) / std`` in float32, as the ``tf.data`` pipeline computes it; resized
    (bilinear, half-pixel centres, no antialiasing: ``tf.image.resize``'s rule) when the model wants another size."""
    mean, std = data.mean.astype(np.float32), data.std.astype(np.float32)
    images = (images.astype(np.float32) / np.float32(255.0) - mean) / std
    if images.shape[1] != image_size:
        rows, cols = (_bilinear_weights(n, image_size) for n in images.shape[1:3])
        images = np.einsum("oh,nhwc,pw->nopc", rows, images, cols).astype(np.float32)
    return images


def _bilinear_weights(size: int, out: int) -> np.ndarray:
    """The (out, size) matrix of bilinear interpolation weights with half-pixel centres, edges clamped."""
    centres = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, size - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, size - 1)
    weights = np.zeros((out, size), dtype=np.float64)
    np.add.at(weights, (np.arange(out), low), 1 - (centres - low))
    np.add.at(weights, (np.arange(out), high), centres - low)
    return weights.astype(np.float32)
