"""ResNet-18 in Keras 3, layer for layer identical to torchvision's ``resnet18``.

Every weight-bearing layer is named after its torchvision state_dict prefix,
with ``_`` for ``.`` (``conv1``, ``layer2_0_downsample_0``, ``fc``, ...), so
weights move between the two frameworks by name. (Not the dots themselves:
Keras's PyTorch backend registers each weight as a ``torch.nn.Parameter``
named after its Keras path, and PyTorch forbids ``.`` in those names.)
The same model runs on every Keras backend. Images are channels-last (NHWC).

PyTorch pads convolutions symmetrically, while Keras ``padding="same"`` puts
the extra row and column on the bottom/right for stride 2. To match exactly,
every convolution is an explicit ``ZeroPadding2D`` followed by a ``"valid"``
convolution.
"""

import keras
import numpy as np
from keras import layers

# Keras variable name -> torchvision parameter or buffer name.
_TORCH_NAMES = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
# Axis order from PyTorch to Keras layout, by rank: conv kernel
# (out, in, kh, kw) -> (kh, kw, in, out); dense kernel (out, in) -> (in, out);
# vectors (biases and BN parameters) are unchanged.
_TO_KERAS_AXES = {4: (2, 3, 1, 0), 2: (1, 0), 1: (0,)}


# --8<-- [start:conv-bn]
def _conv_bn(
    x: keras.KerasTensor, filters: int, kernel_size: int, stride: int, conv: str, bn: str
) -> keras.KerasTensor:
    """Bias-free convolution with PyTorch-style symmetric padding, then BN."""
    padding = kernel_size // 2
    if padding:
        x = layers.ZeroPadding2D(padding, name=f"{conv}_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, padding="valid", use_bias=False, name=conv)(x)
    # momentum=0.9 in Keras is momentum=0.1 in PyTorch. (PyTorch updates the
    # running variance with the unbiased batch variance, Keras with the biased.)
    return layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=bn)(x)
# --8<-- [end:conv-bn]


# --8<-- [start:block]
def _basic_block(x: keras.KerasTensor, filters: int, stride: int, name: str) -> keras.KerasTensor:
    """Two 3x3 conv-BN layers plus the identity (or 1x1 projection) shortcut."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, stride, f"{name}_downsample_0", f"{name}_downsample_1")
    x = _conv_bn(x, filters, 3, stride, f"{name}_conv1", f"{name}_bn1")
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = _conv_bn(x, filters, 3, 1, f"{name}_conv2", f"{name}_bn2")
    x = layers.Add(name=f"{name}_add")([x, shortcut])
    return layers.ReLU(name=f"{name}_relu2")(x)
# --8<-- [end:block]


# --8<-- [start:build]
def build_resnet18(num_classes: int = 1000, input_shape: tuple[int, int, int] = (224, 224, 3)) -> keras.Model:
    """Return a ResNet-18 that outputs logits (no softmax)."""
    inputs = keras.Input(input_shape, name="images")
    x = _conv_bn(inputs, 64, 7, 2, "conv1", "bn1")
    x = layers.ReLU(name="relu")(x)
    # Zero padding is only equivalent to PyTorch's -inf max-pool padding
    # because the input follows a ReLU, so every value is >= 0.
    x = layers.ZeroPadding2D(1, name="maxpool_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    for stage, filters in enumerate([64, 128, 256, 512], start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _basic_block(x, filters, stride, f"layer{stage}_{block}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    # float32 logits under a mixed-precision policy too, so that softmax and the loss see full precision
    outputs = layers.Dense(num_classes, dtype="float32", name="fc")(x)
    return keras.Model(inputs, outputs, name="resnet18")
# --8<-- [end:build]


def _torch_keys(model: keras.Model) -> dict[str, keras.Variable]:
    """Map each torchvision state_dict key to the Keras variable holding it."""
    return {
        f"{layer.name.replace('_', '.')}.{_TORCH_NAMES[variable.name]}": variable
        for layer in model.layers
        for variable in layer.weights
    }


# --8<-- [start:transfer]
def load_torch_state(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy torchvision state_dict arrays (see ``state_dict_numpy``) into ``model``."""
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    variables = _torch_keys(model)
    missing = sorted(variables.keys() - state.keys())
    unused = sorted(state.keys() - variables.keys())
    if missing or unused:
        raise ValueError(f"state mismatch: missing {missing}, unused {unused}")
    for key, variable in variables.items():
        value = np.asarray(state[key])
        value = value.transpose(_TO_KERAS_AXES[value.ndim])
        if value.shape != variable.shape:
            raise ValueError(f"{key}: shape {value.shape} != {variable.shape}")
        variable.assign(value)
# --8<-- [end:transfer]


def torch_state(model: keras.Model) -> dict[str, np.ndarray]:
    """Return the weights of ``model`` as torchvision state_dict arrays."""
    state = {}
    for key, variable in _torch_keys(model).items():
        value = variable.numpy()
        state[key] = value.transpose(np.argsort(_TO_KERAS_AXES[value.ndim]))
    return state
