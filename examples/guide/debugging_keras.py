"""Topic 12, TensorFlow: find the operation that made a NaN, profile, log to TensorBoard, and
debug a training step."""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from reportgen.workloads.models.resnet_keras import build_resnet18


# --8<-- [start:numerics]
def log_loss(probabilities: tf.Tensor) -> tf.Tensor:
    return -tf.reduce_mean(tf.math.log(probabilities))  # log(0) = -inf


def find_nan_source(probabilities: tf.Tensor) -> str:
    """Check the output of every op created from now on, eager or in a graph traced from
    now on: the first NaN or Inf fails, naming the op and the Python line that created it.
    Slow: for debugging only."""
    tf.debugging.enable_check_numerics()
    try:
        tf.function(log_loss)(probabilities)  # traced after enabling: every op is checked
    except tf.errors.InvalidArgumentError as error:
        return error.message  # '... Detected Infinity or NaN in output 0 of graph op "Log"'
    finally:
        tf.debugging.disable_check_numerics()
    return "no NaN or Inf"
# --8<-- [end:numerics]


def main() -> None:
    probabilities = tf.constant([0.5, 0.0])
    # without checks the Inf arrives silently
    assert np.isinf(tf.function(log_loss)(probabilities).numpy())
    message = find_nan_source(probabilities)
    assert 'graph op "Log"' in message and "log_loss" in message, message
    print(f"enable_check_numerics: {next(line for line in message.splitlines() if line.startswith('!!!'))}")
    # --8<-- [start:check]
    try:
        tf.debugging.check_numerics(tf.math.log(probabilities), message="log-probabilities")
    except tf.errors.InvalidArgumentError as error:  # one tensor, named in the message
        assert "log-probabilities" in error.message
    # --8<-- [end:check]

    model = build_resnet18(10, input_shape=(32, 32, 3))
    rng = np.random.default_rng(0)
    images, labels = rng.normal(size=(16, 32, 32, 3)).astype("float32"), rng.integers(0, 10, 16)
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        # --8<-- [start:profile]
        # writes logs/plugins/profile/<run>/<host>.xplane.pb
        with tf.profiler.experimental.Profile(str(logs)):
            model(images[:2], training=False)
        # --8<-- [end:profile]
        assert list(logs.glob("plugins/profile/*/*.xplane.pb"))
        # --8<-- [start:tensorboard]
        model.compile(optimizer="sgd",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      run_eagerly=True)  # the train step runs as Python: breakpoints work
        tensorboard = keras.callbacks.TensorBoard(log_dir=str(logs / "fit"))
        model.fit(images, labels, batch_size=8, verbose=0, callbacks=[tensorboard])
        writer = tf.summary.create_file_writer(str(logs / "custom"))  # values fit() does not log
        with writer.as_default():
            tf.summary.scalar("learning_rate", 0.01, step=0)
        writer.flush()  # then: tensorboard --logdir logs
        # --8<-- [end:tensorboard]
        assert list(logs.glob("fit/train/events.out.tfevents.*"))
        assert list(logs.glob("custom/events.out.*"))
    print("profile and TensorBoard event files written")


if __name__ == "__main__":
    main()
