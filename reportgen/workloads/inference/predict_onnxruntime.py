"""Batch inference with ONNX Runtime."""

import numpy as np
import onnxruntime as ort


# --8<-- [start:session]
def load_session(path: str, threads: int, provider: str = "CPUExecutionProvider") -> ort.InferenceSession:
    """An inference session with all graph optimizations on and an explicit thread count."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=[provider])
    # ONNX Runtime silently falls back to the CPU when a provider cannot load: refuse to measure that.
    if session.get_providers()[0] != provider:
        raise RuntimeError(f"{provider} requested but {session.get_providers()[0]} is running")
    return session
# --8<-- [end:session]


# --8<-- [start:predict]
def predict(session: ort.InferenceSession, images: np.ndarray) -> np.ndarray:
    """Logits for a batch of NCHW images."""
    (logits,) = session.run(None, {session.get_inputs()[0].name: images})
    return logits
# --8<-- [end:predict]
