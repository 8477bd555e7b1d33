"""Topic 7, Keras: mixed-precision training with a dtype policy."""

import keras
import numpy as np
from keras import layers


def small_cnn(num_classes: int = 10) -> keras.Model:
    """A small stand-in for ResNet-18, to keep the example fast; the policy applies to any model."""
    images = keras.Input((32, 32, 3))
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="conv1")(images)
    x = layers.GlobalAveragePooling2D()(layers.ReLU()(layers.BatchNormalization()(x)))
    return keras.Model(images, layers.Dense(num_classes)(x))


# --8<-- [start:policy]
def build_mixed(policy: str = "mixed_bfloat16") -> keras.Model:
    """Layers that compute in bfloat16 (or float16) and keep float32 variables."""
    keras.mixed_precision.set_global_policy(policy)  # for layers created from now on
    base = small_cnn()  # or build_resnet18(...): any model built after the policy is set
    # float32 logits, so that softmax and the loss run in full precision
    logits = layers.Activation("linear", dtype="float32")(base.output)
    model = keras.Model(base.input, logits)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # with "mixed_float16", compile() has wrapped the optimizer in a LossScaleOptimizer
    return model
# --8<-- [end:policy]


def main() -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images, labels = rng.normal(size=(16, 32, 32, 3)).astype("float32"), rng.integers(0, 10, 16)
    try:
        for policy, compute in (("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")):
            model = build_mixed(policy)
            history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
            conv = model.get_layer("conv1")
            assert conv.compute_dtype == compute and conv.kernel.dtype == "float32"
            assert model.outputs[0].dtype == "float32"
            scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
            assert scaled == (policy == "mixed_float16")
            assert np.isfinite(history.history["loss"]).all()
            print(f"{policy}: conv1 computes in {conv.compute_dtype}, loss scaling {scaled}")
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the policy is global: reset it


if __name__ == "__main__":
    main()
