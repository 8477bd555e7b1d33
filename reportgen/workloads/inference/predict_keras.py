"""Batch inference with TensorFlow/Keras: eager calls, a ``tf.function`` graph, and XLA."""

import numpy as np
import tensorflow as tf

from reportgen.workloads.models.resnet_keras import build_resnet18, load_torch_state


def load_model(state: dict[str, np.ndarray], num_classes: int, image_size: int) -> tf.keras.Model:
    """ResNet-18 (channels-last) carrying the same weights as the PyTorch model."""
    model = build_resnet18(num_classes, input_shape=(image_size, image_size, 3))
    load_torch_state(model, state)
    return model


# --8<-- [start:mixed]
def use_mixed_precision(policy: str = "mixed_float16") -> None:
    """Compute in float16 (GPU) or bfloat16 (``"mixed_bfloat16"``: GPU, or a CPU with bfloat16 instructions)
    with float32 variables; call before building the model."""
    tf.keras.mixed_precision.set_global_policy(policy)
# --8<-- [end:mixed]


# --8<-- [start:predict]
def make_predict(model: tf.keras.Model, mode: str = "graph"):
    """A predict function; ``training=False`` makes BatchNorm use its moving statistics.

    ``eager`` calls the model op by op from Python; ``graph`` traces it once into a TensorFlow graph;
    ``xla`` also compiles that graph with XLA, fusing operations into fewer kernels. All three avoid
    ``model.predict``, which is built for looping over a whole data set rather than one batch.
    """
    if mode == "eager":
        return lambda images: model(images, training=False)

    @tf.function(jit_compile=mode == "xla", reduce_retracing=True)
    def predict(images: tf.Tensor) -> tf.Tensor:
        return model(images, training=False)

    return predict
# --8<-- [end:predict]
