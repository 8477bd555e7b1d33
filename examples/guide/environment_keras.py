"""Topic 1, TensorFlow/Keras: which build is installed, which devices it sees, how many threads
it uses."""

import keras
import tensorflow as tf


# --8<-- [start:threads]
def configure(threads: int) -> None:
    """Fixed once TensorFlow has started: call this before any op runs."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)  # inside one op
    tf.config.threading.set_inter_op_parallelism_threads(1)  # ops side by side
    for gpu in tf.config.list_physical_devices("GPU"):
        # TensorFlow reserves nearly all GPU memory up front; grow on demand instead
        tf.config.experimental.set_memory_growth(gpu, True)
# --8<-- [end:threads]


# --8<-- [start:versions]
def describe() -> dict[str, object]:
    """Versions, build and devices as TensorFlow and Keras see them."""
    build = tf.sysconfig.get_build_info()
    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,  # Keras 3: a separate package since TF 2.16
        "keras_backend": keras.backend.backend(),  # unless KERAS_BACKEND says otherwise
        "built_with_cuda": tf.test.is_built_with_cuda(),
        "cuda_version": build.get("cuda_version"),  # absent in a CPU-only build
        "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
    }
# --8<-- [end:versions]


# --8<-- [start:device]
def run_on_cpu(images: tf.Tensor) -> tf.Tensor:
    """Ops go to a GPU when there is one; ``tf.device`` overrides that for a block."""
    with tf.device("/CPU:0"):
        return tf.reduce_mean(images, axis=0)
# --8<-- [end:device]


def main() -> None:
    configure(threads=1)  # one thread keeps the examples steady on a shared machine
    info = describe()
    print(info)
    assert info["threads"] == 1 and info["keras"].startswith("3.")
    assert run_on_cpu(tf.ones((3, 4))).device.endswith("CPU:0")


if __name__ == "__main__":
    main()
