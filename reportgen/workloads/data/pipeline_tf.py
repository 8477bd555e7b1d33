"""The TensorFlow input pipeline: ``tf.data`` applying the shared augmentation plan, batched and prefetched."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from reportgen.workloads.data import augment
from reportgen.workloads.data.augment import steps_per_epoch

__all__ = ["WITHOUT_AUTOTUNER", "normalise", "steps_per_epoch", "training_dataset", "validation_dataset"]

# --8<-- [start:dataset]
# TensorFlow 2.21: deleting an iterator whose autotuner is running waits for the tuner's next wake-up, which
# comes up to a minute apart once a run is long (measured: `model.fit` returning 35 s after its last
# epoch). Without the tuner, AUTOTUNE keeps its starting values; this pipeline ran as fast or faster.
WITHOUT_AUTOTUNER = tf.data.Options()
WITHOUT_AUTOTUNER.autotune.enabled = False


def training_dataset(data, image_size: int, batch_size: int, epochs: int, seed: int = 0,
                     shard: tuple[int, int] = (0, 1)) -> tf.data.Dataset:
    """Every epoch's batches in one ``tf.data.Dataset``: pad + random crop + flip, normalised.

    The crops, flips and order come from the shared plan (the PyTorch ``Dataset`` follows the same
    one). ``shard=(index, count)`` keeps every ``count``-th image of the order, for one worker.
    """
    images = tf.constant(data.train_images)  # (n, h, w, 3) uint8
    labels = tf.constant(data.train_labels)
    size, padding = data.train_images.shape[1], augment.padding_for(data.train_images.shape[1])
    mean, std = tf.constant(data.mean, tf.float32), tf.constant(data.std, tf.float32)
    plans = [augment.epoch_plan(len(data.train_labels), epoch, seed, padding) for epoch in range(epochs)]
    index, count = shard
    order = np.stack([augment.shard(p.order, index, count) for p in plans])
    columns = (order, *(np.stack([getattr(p, k)[order[e]] for e, p in enumerate(plans)])
                        for k in ("top", "left", "flip")))

    def crop_and_flip(i, top, left, flip):
        image = tf.image.pad_to_bounding_box(images[i], padding, padding, size + 2 * padding, size + 2 * padding)
        image = tf.image.crop_to_bounding_box(image, top, left, size, size)
        image = tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)
        return normalise(image, mean, std, image_size), labels[i]

    def one_epoch(*plan):
        return (tf.data.Dataset.from_tensor_slices(plan)
                .map(crop_and_flip, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .batch(batch_size))

    dataset = tf.data.Dataset.from_tensor_slices(columns).flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)
    return dataset.with_options(WITHOUT_AUTOTUNER)
# --8<-- [end:dataset]


def normalise(image: tf.Tensor, mean: tf.Tensor, std: tf.Tensor, image_size: int) -> tf.Tensor:
    """uint8 pixels -> ``(x / 255 - mean) / std``, resized (bilinear) when the model wants another size."""
    image = (tf.cast(image, tf.float32) / 255.0 - mean) / std
    if image.shape[-2] != image_size:
        image = tf.image.resize(image, (image_size, image_size), method="bilinear", antialias=False)
    return image


# --8<-- [start:validation]
def validation_dataset(data, image_size: int, batch_size: int = 256) -> tf.data.Dataset:
    """The validation images, normalised, in order, no augmentation."""
    mean, std = tf.constant(data.mean, tf.float32), tf.constant(data.std, tf.float32)
    return (tf.data.Dataset.from_tensor_slices((data.val_images, data.val_labels))
            .map(lambda x, y: (normalise(x, mean, std, image_size), y), num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(WITHOUT_AUTOTUNER))
# --8<-- [end:validation]
