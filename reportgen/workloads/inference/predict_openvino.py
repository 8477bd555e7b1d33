"""Batch inference with OpenVINO on the CPU: a model compiled with explicit hints, and one infer request."""

import numpy as np
import openvino as ov


# --8<-- [start:compile]
def compile_model(path: str, threads: int, precision: str = "f32") -> ov.CompiledModel:
    """Compile an IR (or ONNX) file for the CPU, for the latency of one request at a time.

    ``precision`` is the inference precision: ``"f32"``, or ``"bf16"`` on CPUs with bfloat16 instructions,
    where OpenVINO picks bf16 by default unless told otherwise. An INT8 model runs its quantized layers in
    INT8 and the rest at this precision.
    """
    config = {
        "PERFORMANCE_HINT": "LATENCY",  # one stream: all threads work on each request
        "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": precision,
    }
    return ov.Core().compile_model(path, "CPU", config)
# --8<-- [end:compile]


# --8<-- [start:predict]
def predict(request: ov.InferRequest, images: np.ndarray) -> np.ndarray:
    """Logits for a batch of NCHW images (made with ``compiled.create_infer_request()``, reused per call)."""
    outputs = request.infer({0: images}, share_inputs=True)  # share_inputs: no copy of the input array
    return outputs[0]
# --8<-- [end:predict]
