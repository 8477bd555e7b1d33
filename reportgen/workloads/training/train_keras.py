"""Training ResNet-18 in Keras: ``model.compile`` + ``model.fit``, with callbacks for what we record.

The same code trains on every Keras backend (``KERAS_BACKEND``: TensorFlow, JAX or PyTorch); only the input
pipeline is chosen by backend (:func:`datasets`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras
from keras import ops

from reportgen.workloads.data.augment import steps_per_epoch
from reportgen.workloads.training.recipe import EpochResult, History, Recipe


# --8<-- [start:optimizer]
class SGDLikePyTorch(keras.optimizers.SGD):
    """SGD with momentum and weight decay as ``torch.optim.SGD`` applies them: ``v = m*v + g + wd*w``, then
    ``w -= lr*v``. Keras's own SGD steps ``v = m*v - lr*g; w += v`` and shrinks ``w`` by ``lr*wd`` apart from
    the gradient: under a decaying rate its velocity keeps the earlier, larger rates, and one recipe would be two
    optimizers."""

    def __init__(self, learning_rate, momentum: float, weight_decay: float) -> None:
        super().__init__(learning_rate, momentum=momentum)
        self.l2 = weight_decay

    def update_step(self, gradient, variable, learning_rate):
        """PyTorch's SGD step: weight decay joins the gradient before momentum."""
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.add(ops.cast(gradient, variable.dtype), ops.multiply(variable, self.l2))
        if not self.momentum:
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))
            return
        velocity = self.momentums[self._get_variable_index(variable)]
        self.assign(velocity, ops.add(ops.multiply(velocity, self.momentum), gradient))
        self.assign_sub(variable, ops.multiply(velocity, learning_rate))

    def get_config(self):
        """The config Keras saves, with the weight decay."""
        return {**super().get_config(), "weight_decay": self.l2}


def make_optimizer(recipe: Recipe, total_steps: int) -> keras.optimizers.Optimizer:
    """The optimizer of ``recipe`` with its per-step learning-rate schedule built in."""
    if recipe.schedule == "step":
        boundaries = recipe.milestones(total_steps)
        rates = [recipe.learning_rate * 0.1**i for i in range(len(boundaries) + 1)]
        learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, rates)
    elif recipe.schedule == "constant":
        learning_rate = recipe.learning_rate
    else:
        learning_rate = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=total_steps)
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=recipe.weight_decay)
    return SGDLikePyTorch(learning_rate, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
# --8<-- [end:optimizer]


# --8<-- [start:callback]
class EpochRecorder(keras.callbacks.Callback):
    """Times the training part of each epoch (validation excluded) and keeps the first batch's loss."""

    def __init__(self, images_per_epoch: int, on_epoch: Callable[[EpochResult], None] | None = None) -> None:
        super().__init__()
        self.images_per_epoch, self.on_epoch = images_per_epoch, on_epoch
        self.history = History(initial_loss=math.nan, epochs=[])

    def on_epoch_begin(self, epoch, logs=None):
        """Start the epoch's clock."""
        self.start, self.train_time = time.perf_counter(), None

    def on_train_batch_end(self, batch, logs=None):
        """Keep the first batch's loss, before any update."""
        if math.isnan(self.history.initial_loss):
            self.history.initial_loss = float(logs["loss"])  # batch 0: the loss before the first update

    def on_test_begin(self, logs=None):  # fit() validates after the epoch's last training step
        """Stop the clock: validation is not training time."""
        self.train_time = time.perf_counter() - self.start

    def on_epoch_end(self, epoch, logs=None):
        """Record the epoch: losses, accuracies, training seconds, images."""
        result = EpochResult(epoch, float(logs["loss"]), float(logs["accuracy"]), float(logs["val_loss"]),
                             float(logs["val_accuracy"]), self.train_time, self.images_per_epoch)
        self.history.epochs.append(result)
        if self.on_epoch:
            self.on_epoch(result)
# --8<-- [end:callback]


# --8<-- [start:datasets]
def datasets(data, image_size: int, batch_size: int, epochs: int, seed: int = 0):
    """The training and validation data ``fit`` reads: ``tf.data`` on TensorFlow; on JAX and PyTorch a
    ``keras.utils.PyDataset`` in NumPy (``tf.data`` works there too, but only with TensorFlow installed). Both
    follow the shared plan: the same batches in the same order on every backend."""
    if keras.backend.backend() == "tensorflow":
        from reportgen.workloads.data import pipeline_tf as pipeline
    else:
        from reportgen.workloads.data import pipeline_keras as pipeline
    return (pipeline.training_dataset(data, image_size, batch_size, epochs, seed=seed),
            pipeline.validation_dataset(data, image_size))
# --8<-- [end:datasets]


def train(model: keras.Model, data, recipe: Recipe, image_size: int, jit_compile: bool | str = False, seed: int = 0,
          on_epoch: Callable[[EpochResult], None] | None = None) -> History:
    """Train ``model`` on an :class:`~reportgen.workloads.data.datasets.ImageSet` following ``recipe``.

    ``jit_compile=True`` compiles each training step: with XLA on TensorFlow and JAX, with ``torch.compile`` on
    PyTorch; ``"auto"`` is Keras's default for the backend (XLA on JAX, eager on PyTorch). Mixed precision is a
    global Keras policy (``keras.mixed_precision.set_global_policy("mixed_float16")`` on a GPU,
    ``"mixed_bfloat16"`` on a GPU or a CPU with bfloat16 instructions), set before the model is built.
    """
    steps = steps_per_epoch(data, recipe.batch_size)
    recorder = EpochRecorder(len(data.train_labels), on_epoch)
    train_data, val_data = datasets(data, image_size, recipe.batch_size, recipe.epochs, seed=seed)
    # --8<-- [start:fit]
    model.compile(
        optimizer=make_optimizer(recipe, recipe.epochs * steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    model.fit(
        train_data,
        epochs=recipe.epochs,
        steps_per_epoch=steps,  # the dataset holds every epoch's batches back to back
        shuffle=False,  # the order is part of the data set's plan
        validation_data=val_data,
        callbacks=[recorder],
        verbose=0,
    )
    # --8<-- [end:fit]
    return recorder.history
