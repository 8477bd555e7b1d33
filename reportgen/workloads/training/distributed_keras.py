r"""Data-parallel training with ``tf.distribute.MultiWorkerMirroredStrategy``: one process per worker.

Each worker runs this file with its own ``TF_CONFIG`` (the cluster's addresses and its own index):

    TF_CONFIG='{"cluster": {"worker": ["localhost:12345", "localhost:12346"]},
                "task": {"type": "worker", "index": 0}}' \
        python -m reportgen.workloads.training.distributed_keras job.json

The training step is a custom loop (``strategy.run`` + ``GradientTape``) rather than ``model.fit``:
with Keras 3 in TensorFlow 2.21, ``fit`` under ``MultiWorkerMirroredStrategy`` fails ("Attempt to
convert a value (PerReplica...) to a Tensor", keras-team/keras#20585). Each worker reads its shard of
every epoch from the shared plan with ``batch_size / workers`` images per step; gradients are summed
across workers by an all-reduce, so the weights stay identical.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from reportgen.workloads.data.datasets import load_dataset  # noqa: E402
from reportgen.workloads.data.pipeline_tf import steps_per_epoch, training_dataset, validation_dataset  # noqa: E402
from reportgen.workloads.models.resnet_keras import build_resnet18, load_torch_state  # noqa: E402
from reportgen.workloads.training.recipe import Recipe  # noqa: E402
from reportgen.workloads.training.train_keras import make_optimizer  # noqa: E402


def main(job_path: str) -> None:
    """One worker of the multi-worker run: train as the job file says, write the history (rank 0)."""
    job = json.loads(open(job_path, encoding="utf-8").read())
    recipe, size = Recipe(**job["recipe"]), job["image_size"]
    data = load_dataset(job["dataset"], size, seed=job["seed"], max_train=job["max_train_images"])
    # --8<-- [start:strategy]
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    workers = strategy.num_replicas_in_sync
    steps = steps_per_epoch(data, recipe.batch_size // workers, shard_count=workers)
    with strategy.scope():  # variables created here are mirrored on every worker
        model = build_resnet18(job["num_classes"], input_shape=(size, size, 3))
        with np.load(job["initial_weights"]) as state:
            load_torch_state(model, dict(state))
        optimizer = make_optimizer(recipe, recipe.epochs * steps)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")

    def shard(context: tf.distribute.InputContext) -> tf.data.Dataset:
        return training_dataset(data, size, recipe.batch_size // workers, recipe.epochs, seed=job["seed"],
                                shard=(context.input_pipeline_id, context.num_input_pipelines))

    batches = iter(strategy.distribute_datasets_from_function(shard))

    @tf.function
    def train_step(iterator):
        def step(images, labels):
            with tf.GradientTape() as tape:
                logits = model(images, training=True)
                loss = tf.nn.compute_average_loss(loss_fn(labels, logits))  # divided by the global batch size
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            return loss, tf.reduce_sum(tf.cast(tf.argmax(logits, 1) == labels, tf.float32))

        loss, correct = strategy.run(step, args=next(iterator))
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None))
    # --8<-- [end:strategy]

    epochs, initial_loss, images = [], None, len(data.train_labels) // workers * workers
    for epoch in range(recipe.epochs):
        start, loss_sum, correct_sum = time.perf_counter(), 0.0, 0.0
        for _ in range(steps):
            loss, correct = (float(t) for t in train_step(batches))  # float() waits for the step
            initial_loss = loss if initial_loss is None else initial_loss
            loss_sum, correct_sum = loss_sum + loss, correct_sum + correct
        train_time = time.perf_counter() - start
        val_loss, val_top1 = evaluate(model, validation_dataset(data, size))
        epochs.append({"epoch": epoch, "train_loss": loss_sum / steps, "train_accuracy": correct_sum / images,
                       "val_loss": val_loss, "val_top1": val_top1, "train_time_s": train_time, "images": images})
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    if task["index"] == 0:
        with open(job["output"], "w", encoding="utf-8") as out:
            json.dump({"world_size": workers, "backend": "MultiWorkerMirroredStrategy (gRPC, ring all-reduce)",
                       "initial_loss": initial_loss, "epochs": epochs}, out)


# --8<-- [start:evaluate]
def evaluate(model: keras.Model, dataset: tf.data.Dataset) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy of ``model`` (inference mode) over ``dataset``."""
    loss_sum, correct, seen = 0.0, 0, 0
    for images, labels in dataset:
        logits = model(images, training=False)
        loss_sum += float(tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)))
        correct += int(tf.reduce_sum(tf.cast(tf.argmax(logits, 1) == labels, tf.int32)))
        seen += len(labels)
    return loss_sum / seen, correct / seen
# --8<-- [end:evaluate]


if __name__ == "__main__":
    main(sys.argv[1])
