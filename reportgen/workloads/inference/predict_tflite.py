"""Batch inference with a TFLite model, through the LiteRT interpreter where it is installed."""

import numpy as np

try:  # LiteRT is the successor of tf.lite.Interpreter, which TF 2.21 marks as deprecated
    from ai_edge_litert.interpreter import Interpreter

    INTERPRETER = "ai_edge_litert"
except ImportError:
    from tensorflow.lite import Interpreter

    INTERPRETER = "tf.lite"


# --8<-- [start:interpreter]
def load_interpreter(path: str, threads: int) -> Interpreter:
    """An interpreter for the model file (XNNPACK runs the float and INT8 kernels on CPU)."""
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter
# --8<-- [end:interpreter]


# --8<-- [start:predict]
def predict(interpreter: Interpreter, images: np.ndarray) -> np.ndarray:
    """Logits for a batch of NHWC images; the input is resized to the batch on first use."""
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    if tuple(inp["shape"]) != images.shape:
        interpreter.resize_tensor_input(inp["index"], images.shape)
        interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], images)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"])
# --8<-- [end:predict]
