"""The machine's compute roof: single-precision GEMM GFLOP/s with each library that has a fast GEMM.

Measured once per run with NumPy, PyTorch and ONNX Runtime where installed (the fastest differs by
machine), each library in its own subprocess so that one that hangs or fails to import loses only its own
roof. One GEMM shape understates a roof (on a Zen 5 core ONNX Runtime's batch-1 ResNet-18 outran a 2048²
SGEMM), so each library times several shapes and keeps its best; the Inference page divides each fp32
variant's achieved GFLOP/s by the best of all, at the thread count the roof was measured with.
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

SIZES = (1024, 2048, 3072)  # square SGEMM shapes; the roof is the fastest
TIMING = TimingSettings(warmup=2, min_count=5, min_time_s=0.5, max_time_s=5.0)

VARIANT = "sgemm"


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

    n = a.shape[0]
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
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
                 variant=VARIANT, label=f"Machine: SGEMM roof ({library})")
            for library in LIBRARIES if importlib.util.find_spec(library) is not None]


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    rng = np.random.default_rng(ctx.seed)
    per_size: dict[str, float] = {}
    best: tuple[float, list[float]] = (0.0, [])
    for size in SIZES:
        a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
        samples = timer.time_loop(LIBRARIES[task.framework](a, b, ctx.threads), TIMING)
        gflops = 2 * size**3 / float(np.median(samples)) / 1e9
        per_size[str(size)] = gflops
        best = max(best, (gflops, samples))
    return [make_record("machine", task.framework, task.variant, device="cpu", metrics={"gemm_gflops": best[0]},
                        samples={"seconds": best[1]},
                        settings={"threads": ctx.threads, "precision": "fp32", "gflops_per_size": per_size,
                                  "method": "median of timed calls per square size; the best size is the roof"})]
