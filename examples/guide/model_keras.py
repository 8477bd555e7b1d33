"""Topic 2, Keras: the ResNet basic block as a subclassed layer, checked against the functional
one the benchmark uses."""

import tempfile
from pathlib import Path

import keras
import numpy as np
from keras import layers

from reportgen.workloads.models.resnet_keras import _basic_block


# --8<-- [start:block]
@keras.saving.register_keras_serializable(package="guide")
class BasicBlock(layers.Layer):
    """Two 3x3 conv-BN layers plus a shortcut; a 1x1 projection when the shape changes."""

    def __init__(self, filters: int, stride: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)  # no input channels: they come with the first input
        self.filters, self.stride = filters, stride
        # Symmetric padding, as in PyTorch ("same" pads stride 2 on one side only)
        self.pad1 = layers.ZeroPadding2D(1)
        self.conv1 = layers.Conv2D(filters, 3, strides=stride, use_bias=False)
        self.bn1 = layers.BatchNormalization(epsilon=1e-5, momentum=0.9)
        self.pad2 = layers.ZeroPadding2D(1)
        self.conv2 = layers.Conv2D(filters, 3, use_bias=False)
        self.bn2 = layers.BatchNormalization(epsilon=1e-5, momentum=0.9)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Runs once, when the input shape is known."""
        self.downsample = None
        if self.stride != 1 or input_shape[-1] != self.filters:
            self.downsample = keras.Sequential([
                layers.Conv2D(self.filters, 1, strides=self.stride, use_bias=False),
                layers.BatchNormalization(epsilon=1e-5, momentum=0.9),
            ])

    def call(self, x: keras.KerasTensor, training: bool | None = None):
        shortcut = x if self.downsample is None else self.downsample(x, training=training)
        out = keras.ops.relu(self.bn1(self.conv1(self.pad1(x)), training=training))
        out = self.bn2(self.conv2(self.pad2(out)), training=training)
        return keras.ops.relu(out + shortcut)

    def get_config(self) -> dict:
        """What model.save() records to rebuild the layer."""
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}
# --8<-- [end:block]


def main() -> None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 64))  # NHWC
    functional = keras.Model(inputs, _basic_block(inputs, 128, 2, "block"))  # the benchmark's
    subclassed = keras.Sequential([inputs, BasicBlock(128, stride=2)])
    block = subclassed.layers[0]
    ours = {"conv1": block.conv1, "bn1": block.bn1, "conv2": block.conv2, "bn2": block.bn2,
            "downsample.0": block.downsample.layers[0], "downsample.1": block.downsample.layers[1]}
    for name, layer in ours.items():
        layer.set_weights(functional.get_layer(f"block_{name.replace('.', '_')}").get_weights())
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 64)).astype("float32")
    expected = functional(x, training=False)
    np.testing.assert_allclose(subclassed(x, training=False), expected, atol=1e-5)
    with tempfile.TemporaryDirectory() as tmp:
        # --8<-- [start:save]
        path = Path(tmp) / "block.keras"
        subclassed.save(path)  # architecture (from get_config) and weights in one file
        restored = keras.saving.load_model(path)  # finds BasicBlock by its registered name
        # --8<-- [end:save]
        np.testing.assert_allclose(restored(x, training=False), expected, atol=1e-5)
    trainable = sum(int(np.prod(w.shape)) for w in subclassed.trainable_weights)
    assert subclassed.output_shape == (None, 8, 8, 128)
    print(f"BasicBlock(128, stride 2): {trainable:,} trainable parameters, "
          "output equal to the functional block")


if __name__ == "__main__":
    main()
