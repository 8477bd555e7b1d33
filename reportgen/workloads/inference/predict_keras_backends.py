"""Batch inference with the Keras ResNet-18 on Keras's JAX and PyTorch backends.

The model code is the TensorFlow run's (``resnet_keras.py``, pure Keras 3); only how a batch is predicted fast is
each backend's own. Set ``KERAS_BACKEND`` before the first ``import keras``: the backend is fixed from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from reportgen.workloads.models.resnet_keras import build_resnet18, load_torch_state


# --8<-- [start:backend]
def backend() -> str:
    """The backend this process's Keras runs on: ``KERAS_BACKEND`` as it was when Keras was first imported."""
    return keras.backend.backend()  # "tensorflow", "jax" or "torch"
# --8<-- [end:backend]


def load_model(state: dict[str, np.ndarray], num_classes: int, image_size: int) -> keras.Model:
    """ResNet-18 (channels-last) carrying the same weights as the PyTorch model, on this process's backend."""
    model = build_resnet18(num_classes, input_shape=(image_size, image_size, 3))
    load_torch_state(model, state)
    return model


# --8<-- [start:jax]
def jax_predict(model: keras.Model) -> Callable[[Any], Any]:
    """The forward pass as one XLA program: ``jax.jit`` over Keras's stateless call, the weights passed in.

    JAX compiles pure functions, so the model's state is an argument rather than something the call reads;
    the first call of each input shape traces and compiles, later calls run the compiled program.
    """
    import jax

    @jax.jit
    def forward(trainable, non_trainable, images):
        logits, _ = model.stateless_call(trainable, non_trainable, images, training=False)
        return logits

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    return lambda images: forward(trainable, non_trainable, images)
# --8<-- [end:jax]


# --8<-- [start:torch]
def torch_predict(model: keras.Model) -> Callable[[Any], Any]:
    """The forward pass on PyTorch tensors, eagerly, as Keras's PyTorch backend runs it: op by op, without the
    autograd bookkeeping (Keras's weights are ``torch.nn.Parameter`` s that would otherwise record a graph)."""
    import torch

    @torch.inference_mode()
    def forward(images: torch.Tensor) -> torch.Tensor:
        return model(images, training=False)

    return forward
# --8<-- [end:torch]
