"""Batch inference with TensorFlow/Keras, compiled into a graph with ``tf.function``."""

import numpy as np
import tensorflow as tf

from benchmarks.models.resnet_keras import build_resnet18, load_torch_state


def load_model(state: dict[str, np.ndarray], num_classes: int, image_size: int) -> tf.keras.Model:
    """ResNet-18 (channels-last) carrying the same weights as the PyTorch model."""
    model = build_resnet18(num_classes, input_shape=(image_size, image_size, 3))
    load_torch_state(model, state)
    return model


def make_predict(model: tf.keras.Model):
    """A graph-compiled predict function; ``training=False`` makes BatchNorm use its moving statistics.

    Calling the model inside ``tf.function`` avoids the per-call overhead of ``model.predict``, which is
    built for iterating over whole data sets rather than serving one batch.
    """

    @tf.function(reduce_retracing=True)
    def predict(images: tf.Tensor) -> tf.Tensor:
        return model(images, training=False)

    return predict
