"""Topic 6, TensorFlow: what ``tf.function`` traces, when it traces again, and how Python code
behaves inside it."""

import tensorflow as tf

traces = 0


# --8<-- [start:function]
@tf.function
def scale(x: tf.Tensor) -> tf.Tensor:
    global traces
    traces += 1  # a Python side effect: runs while tracing, not on every call
    tf.print("runs on every call")  # a graph op: runs on every call
    if tf.reduce_sum(x) > 0:  # AutoGraph makes this a tf.cond: both branches in the graph
        return x * 2
    return x - 1


@tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])  # any length: one trace
def scale_any_length(x: tf.Tensor) -> tf.Tensor:
    return scale.python_function(x)  # the undecorated function, traced into this graph
# --8<-- [end:function]


def main() -> None:
    # --8<-- [start:traces]
    x = tf.ones(8)
    scale(x), scale(-x), scale(2 * x)  # same shape and dtype: one trace, tf.cond branches
    assert traces == 1
    scale(tf.ones(9))  # a new shape: traced again, and again for every further length
    assert traces == 2  # (reduce_retracing=True would relax the length at the 2nd shape)
    scale_any_length(tf.ones(3)), scale_any_length(tf.ones(4))
    assert traces == 3 and scale_any_length.experimental_get_tracing_count() == 1
    # --8<-- [end:traces]
    tf.debugging.assert_equal(scale(-x), -2 * tf.ones(8))
    print(f"tf.function: {traces} traces for 7 calls in graph mode")
    # --8<-- [start:eager]
    tf.config.run_functions_eagerly(True)  # debugging: every tf.function runs as Python
    scale(x)
    tf.config.run_functions_eagerly(False)
    # --8<-- [end:eager]
    assert traces == 4  # run eagerly, the Python body ran once more


if __name__ == "__main__":
    main()
