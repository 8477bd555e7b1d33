"""Topic 5, Keras: evaluate a classifier on a labelled set, and answer a request with the top-k
classes and their confidences."""

import keras
import numpy as np
from keras import layers

from reportgen.workloads.models.resnet_keras import build_resnet18

CLASSES = ("airplane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# The same ImageNet channel statistics as on the PyTorch side
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


# --8<-- [start:preprocess]
def with_preprocessing(model: keras.Model, image_size: int = 32) -> keras.Model:
    """Raw uint8 images of any size in, logits out: preprocessing is part of the model."""
    images = keras.Input((None, None, 3), dtype="uint8")
    x = layers.Resizing(image_size, image_size)(images)  # bilinear; casts to float32
    x = layers.Rescaling(1 / 255)(x)
    x = layers.Normalization(mean=MEAN, variance=np.square(STD))(x)
    return keras.Model(images, model(x))
# --8<-- [end:preprocess]


# --8<-- [start:evaluate]
def compile_for_evaluation(model: keras.Model, k: int = 5) -> None:
    """Declare loss and metrics once; ``evaluate`` runs the loop, as a compiled graph."""
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),  # logits in
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="top1"),
                 keras.metrics.SparseTopKCategoricalAccuracy(k=k, name=f"top{k}")],
    )
# --8<-- [end:evaluate]


# --8<-- [start:predict]
Answer = list[dict[str, str | float]]


def classify(model: keras.Model, images: np.ndarray, k: int = 3) -> list[Answer]:
    """For each raw image, its ``k`` most likely classes, most likely first."""
    logits = model(images, training=False)  # one batch: call the model itself
    probabilities = keras.ops.softmax(logits, axis=-1)  # logits -> confidences
    confidences, indices = keras.ops.top_k(probabilities, k=k)
    indices = keras.ops.convert_to_numpy(indices)
    confidences = keras.ops.convert_to_numpy(confidences)
    return [
        [{"label": CLASSES[i], "confidence": round(float(c), 4)}
         for i, c in zip(row, conf, strict=True)]
        for row, conf in zip(indices, confidences, strict=True)
    ]
# --8<-- [end:predict]


def main() -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # random weights: chance-level numbers
    model = with_preprocessing(build_resnet18(len(CLASSES), input_shape=(32, 32, 3)))
    raw = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, len(CLASSES), size=64)
    compile_for_evaluation(model)
    # --8<-- [start:run-evaluate]
    metrics = model.evaluate(raw, labels, batch_size=16, return_dict=True, verbose=0)
    # --8<-- [end:run-evaluate]
    print(f"evaluate: {metrics}")
    answers = classify(model, raw[:1])
    print(f"classify: {answers[0]}")
    assert 0 <= metrics["top1"] <= metrics["top5"] <= 1 and metrics["loss"] > 0
    confidences = [answer["confidence"] for answer in answers[0]]
    assert confidences == sorted(confidences, reverse=True) and sum(confidences) <= 1.0001
    firsts = [answer[0]["label"] for answer in classify(model, raw, k=1)]
    top1 = np.mean([first == CLASSES[label] for first, label in zip(firsts, labels, strict=True)])
    assert abs(top1 - metrics["top1"]) < 1e-6  # the service's first answer is the top-1
    assert classify(model, rng.integers(0, 256, size=(1, 48, 40, 3), dtype=np.uint8))  # any size


if __name__ == "__main__":
    main()
