"""The machine's compute roof: single-precision GEMM GFLOP/s with each library that has a fast GEMM.

Measured once per run with NumPy, PyTorch and ONNX Runtime where installed (the fastest differs by
machine), each library in its own subprocess so that one that hangs or fails to import loses only its own
roof; the Inference page divides each variant's achieved GFLOP/s by the best.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from reportgen.config import TimingSettings
from reportgen.measure import timer
from reportgen.results import make_record
from reportgen.runner import Context, Task

SIZE = 2048
TIMING = TimingSettings(warmup=2, min_count=5, min_time_s=1.0, max_time_s=10.0)

VARIANT = f"sgemm-{SIZE}"


def _numpy(a: np.ndarray, b: np.ndarray, threads: int) -> Callable[[], Any]:
    return lambda: a @ b


def _torch(a: np.ndarray, b: np.ndarray, threads: int) -> Callable[[], Any]:
    import torch

    torch.set_num_threads(threads)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    return lambda: torch.mm(ta, tb)


def _onnxruntime(a: np.ndarray, b: np.ndarray, threads: int) -> Callable[[], Any]:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [SIZE, SIZE]) for n in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [SIZE, SIZE])])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(helper.make_model(graph).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"a": a, "b": b})


LIBRARIES: dict[str, Callable[[np.ndarray, np.ndarray, int], Callable[[], Any]]] = {
    "numpy": _numpy, "torch": _torch, "onnxruntime": _onnxruntime}


def plan() -> list[Task]:
    """One task per installed library with a fast GEMM."""
    return [Task(key=f"machine/gemm/{library}", module=__name__, scenario="machine", framework=library,
                 variant=VARIANT, label=f"Machine: SGEMM roof ({SIZE}x{SIZE}, {library})")
            for library in LIBRARIES if importlib.util.find_spec(library) is not None]


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    rng = np.random.default_rng(ctx.seed)
    a, b = (rng.standard_normal((SIZE, SIZE), dtype=np.float32) for _ in range(2))
    samples = timer.time_loop(LIBRARIES[task.framework](a, b, ctx.threads), TIMING)
    gflops = 2 * SIZE**3 / float(np.median(samples)) / 1e9
    return [make_record("machine", task.framework, task.variant, device="cpu", metrics={"gemm_gflops": gflops},
                        samples={"seconds": samples},
                        settings={"threads": ctx.threads, "size": SIZE, "method": "median of timed calls"})]
