"""Topic 13, Keras: an LSTM text classifier, trained for a few epochs on a tiny generated
corpus."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from examples.guide.text_data import make_corpus


# --8<-- [start:model]
def build_classifier(train_texts: list[str]) -> keras.Model:
    """Raw strings in, two logits out: tokenising is a layer that travels with the model."""
    vectorize = layers.TextVectorization()  # lower-case, strip punctuation, split
    vectorize.adapt(train_texts)  # the vocabulary; index 0 pads, 1 is an unknown word
    texts = keras.Input(shape=(), dtype="string")  # a batch of strings
    x = vectorize(texts)  # (batch, longest) word indices
    # mask_zero=True: a mask marks the padding for the layers that follow
    x = layers.Embedding(vectorize.vocabulary_size(), 32, mask_zero=True)(x)
    x = layers.LSTM(64)(x)  # skips masked steps: the output at each text's last word
    return keras.Model(texts, layers.Dense(2)(x))
# --8<-- [end:model]


def main() -> None:
    keras.utils.set_random_seed(0)
    train_texts, train_labels = make_corpus(512, seed=0)
    test_texts, test_labels = make_corpus(128, seed=1)
    model = build_classifier(train_texts)
    # --8<-- [start:train]
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    # Strings go in as a tf.Tensor (or a tf.data.Dataset): Keras 3 rejects NumPy string arrays
    model.fit(tf.constant(train_texts), tf.constant(train_labels), batch_size=32, epochs=4,
              verbose=0)
    # --8<-- [end:train]
    _, accuracy = model.evaluate(tf.constant(test_texts), tf.constant(test_labels), verbose=0)
    alone = model(tf.constant(test_texts[:1]), training=False)
    longer = "the hotel was really not very good at all"
    padded = model(tf.constant([test_texts[0], longer]), training=False)[:1]
    np.testing.assert_allclose(alone, padded, atol=1e-5)  # padding does not change a prediction
    print(f"LSTM after 4 epochs: held-out accuracy {accuracy:.2f}")
    assert accuracy > 0.8


if __name__ == "__main__":
    main()
