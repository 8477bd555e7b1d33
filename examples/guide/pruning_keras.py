"""Topic 11, Keras: global magnitude pruning with a callback (tensorflow-model-optimization only
prunes Keras 2 models)."""

import io
import zlib

import keras
import numpy as np
from keras import layers

from reportgen.workloads.models.resnet_keras import build_resnet18


# --8<-- [start:prune]
class MagnitudePruning(keras.callbacks.Callback):
    """Zero the ``sparsity`` share of convolution weights with the smallest magnitude
    (one threshold across all layers) when training starts, and again after every
    batch, so that fine-tuning cannot revive them."""

    def __init__(self, sparsity: float) -> None:
        super().__init__()
        self.sparsity = sparsity
        self.masks: list[tuple[keras.Variable, np.ndarray]] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        kernels = [layer.kernel for layer in self.model.layers
                   if isinstance(layer, layers.Conv2D)]  # flat in a functional model
        magnitudes = np.concatenate([np.abs(k.numpy()).ravel() for k in kernels])
        threshold = np.quantile(magnitudes, self.sparsity)
        self.masks = [(kernel, (np.abs(kernel.numpy()) > threshold).astype("float32"))
                      for kernel in kernels]
        self.apply_masks()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.apply_masks()  # the optimizer step just moved the pruned weights off zero

    def apply_masks(self) -> None:
        for kernel, mask in self.masks:
            kernel.assign(kernel * mask)
# --8<-- [end:prune]


def sparsity(model: keras.Model) -> float:
    kernels = [layer.kernel.numpy() for layer in model.layers if isinstance(layer, layers.Conv2D)]
    return sum(int((k == 0).sum()) for k in kernels) / sum(k.size for k in kernels)


def compressed_mb(model: keras.Model) -> float:
    buffer = io.BytesIO()
    np.savez(buffer, *model.get_weights())
    return len(zlib.compress(buffer.getvalue(), 1)) / 2**20


def main() -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = build_resnet18(10, input_shape=(32, 32, 3))
    before = compressed_mb(model)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images, labels = rng.normal(size=(16, 32, 32, 3)).astype("float32"), rng.integers(0, 10, 16)
    # --8<-- [start:fit]
    pruning = MagnitudePruning(sparsity=0.5)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0, callbacks=[pruning])
    # --8<-- [end:fit]
    assert abs(sparsity(model) - 0.5) < 0.01
    after = compressed_mb(model)
    print(f"50% of conv weights zero; weights compressed {before:.1f} MB -> {after:.1f} MB (zlib)")
    assert after < 0.8 * before


if __name__ == "__main__":
    main()
