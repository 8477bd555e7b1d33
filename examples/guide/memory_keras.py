"""Topic 8, Keras: gradient accumulation and rematerialisation (activation checkpointing)."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers


# --8<-- [start:accumulate]
def compile_accumulating(model: keras.Model, steps: int) -> None:
    """The optimizer sums ``steps`` (>= 2) batches' gradients, then applies their mean."""
    model.compile(optimizer=keras.optimizers.SGD(0.1, gradient_accumulation_steps=steps),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
# --8<-- [end:accumulate]


# --8<-- [start:remat]
class Rematerialized(layers.Layer):
    """Runs ``inner`` without keeping its activations: backward() recomputes them."""

    def __init__(self, inner: layers.Layer, **kwargs) -> None:
        super().__init__(**kwargs)
        self.inner = inner

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.inner.build(input_shape)  # variables are created outside the remat function

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        # keras.remat is tf.recompute_grad on the TensorFlow backend
        return keras.remat(lambda t: self.inner(t, training=training))(x)
# --8<-- [end:remat]


def stage() -> keras.Sequential:
    return keras.Sequential([layers.Conv2D(16, 3, padding="same", use_bias=False),
                             layers.BatchNormalization(), layers.ReLU(),
                             layers.Conv2D(16, 3, padding="same", use_bias=False),
                             layers.BatchNormalization(), layers.ReLU()])


def small_model(remat: bool, batch_norm: bool = True) -> keras.Model:
    images = keras.Input((32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same")(images)
    if batch_norm:
        x = Rematerialized(stage())(x) if remat else stage()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, layers.Dense(10)(x))


def main() -> None:
    rng = np.random.default_rng(0)
    images, labels = rng.normal(size=(16, 32, 32, 3)).astype("float32"), rng.integers(0, 10, 16)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    # Accumulating 2 batches of 8 equals one step on 16 images (without BatchNorm, which would
    # see 8 images at a time)
    keras.utils.set_random_seed(0)
    large = small_model(remat=False, batch_norm=False)
    accumulated = keras.models.clone_model(large)
    accumulated.set_weights(large.get_weights())
    large.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    compile_accumulating(accumulated, steps=2)
    large.fit(images, labels, batch_size=16, shuffle=False, verbose=0)
    # --8<-- [start:fit]
    accumulated.fit(images, labels, batch_size=8, shuffle=False, verbose=0)  # 1 update
    # --8<-- [end:fit]
    for a, b in zip(large.get_weights(), accumulated.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    print("accumulation: 2 batches of 8 with gradient_accumulation_steps=2 equal 1 batch of 16")

    # Rematerialisation: the same gradients; BatchNorm inside runs twice, so its statistics move
    # twice
    keras.utils.set_random_seed(0)
    plain = small_model(remat=False)
    remat = small_model(remat=True)
    remat.set_weights(plain.get_weights())
    gradients = []
    for model in (plain, remat):
        with tf.GradientTape() as tape:
            value = loss(labels, model(images, training=True))
        gradients.append(tape.gradient(value, model.trainable_variables))
    for a, b in zip(*gradients, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    mean_plain, mean_remat = (next(v for v in m.non_trainable_variables if "moving_mean" in v.path)
                              for m in (plain, remat))
    # moving_mean starts at 0 and moves by 1 - momentum = 0.01: 0.01 * m after one update,
    # 0.0199 * m after two
    np.testing.assert_allclose(mean_remat.numpy(), 1.99 * mean_plain.numpy(), rtol=1e-4, atol=1e-7)
    remat.compile(optimizer="sgd", loss=loss)
    remat.fit(images, labels, batch_size=8, verbose=0)  # also inside fit's compiled train step
    print("rematerialisation: gradients equal; BatchNorm statistics updated twice per step")


if __name__ == "__main__":
    main()
