"""What Keras's JAX and PyTorch backends share in a measuring process: the model, its input and its output.

Imported by :mod:`.keras_jax_backend` and :mod:`.keras_torch_backend` after they have set ``KERAS_BACKEND``
(:func:`reportgen.backends.use_keras_backend`); importing this module imports Keras.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from reportgen.workloads.inference import predict_keras_backends


class KerasBackend:
    """One inference variant of the Keras ResNet-18 on this process's Keras backend; subclasses make the predict
    function (:meth:`make_predict`) and say how the device is synchronised and its memory read."""

    def __init__(self, variant: str, device: str) -> None:
        self.variant, self.device = variant, device
        self.predict_fn: Callable[[Any], Any] | None = None

    def make_predict(self, model: keras.Model) -> Callable[[Any], Any]:
        """The backend's fast path for ``model`` (see ``predict_keras_backends``)."""
        raise NotImplementedError

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        """Build the Keras ResNet-18 with the reference weights (moved by layer name) and its predict function."""
        model = predict_keras_backends.load_model(state, num_classes, image_size)
        self.predict_fn = self.make_predict(model)

    def to_input(self, images_nchw: np.ndarray) -> Any:
        """A backend tensor on Keras's device, channels-last as the Keras model takes it."""
        return keras.ops.convert_to_tensor(np.ascontiguousarray(images_nchw.transpose(0, 2, 3, 1)))

    def predict(self, inputs: Any) -> Any:
        """Logits of one batch (not waited for: see ``sync``)."""
        assert self.predict_fn is not None, "load() first"
        return self.predict_fn(inputs)

    def to_numpy(self, outputs: Any) -> np.ndarray:
        """The logits as a float32 NumPy array."""
        return np.asarray(keras.ops.convert_to_numpy(outputs), dtype=np.float32)
