"""The machine's compute roofs: GEMM rates per precision and thread count, beside the theoretical peak.

Measured once per run with NumPy, PyTorch, ONNX Runtime and OpenVINO where installed (the fastest differs by
machine), each library in its own subprocess so that one that hangs or fails to import loses only its own
roofs. One GEMM shape understates a roof (on a Zen 5 core ONNX Runtime's batch-1 ResNet-18 outran a 2048²
SGEMM), so each library times several shapes (the profile's ``roof`` settings) and keeps its best. Per
precision: fp32 (SGEMM, every library), bf16 (torch and OpenVINO, on CPUs with bfloat16 instructions) and int8
(ONNX Runtime ``MatMulInteger``); at the run's thread count and at one thread (torch, ONNX Runtime and OpenVINO
set their own; NumPy's BLAS is fixed at start). Every inference record is divided by the roof of its own precision
and thread count (:mod:`reportgen.scenarios.efficiency`). The record also carries the theoretical peak of its precision,
cores x clock x operations per cycle from the SIMD flags (:func:`peak`), an upper bound shown beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reportgen import hardware
from reportgen.config import TimingSettings, roof_settings
from reportgen.measure import timer
from reportgen.process import envs
from reportgen.process.runner import Context, Task
from reportgen.store.results import make_record

VARIANTS = {"fp32": "sgemm", "bf16": "bf16-gemm", "int8": "int8-gemm"}  # the records' variant per precision
VARIANT = VARIANTS["fp32"]


def _numpy(a: np.ndarray, b: np.ndarray, threads: int) -> Callable[[], Any]:
    return lambda: a @ b


def _torch(a: np.ndarray, b: np.ndarray, threads: int, precision: str = "fp32") -> Callable[[], Any]:
    import torch

    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    ta, tb = torch.from_numpy(a).to(dtype), torch.from_numpy(b).to(dtype)
    return lambda: torch.mm(ta, tb)


def _onnxruntime(a: np.ndarray, b: np.ndarray, threads: int, precision: str = "fp32") -> Callable[[], Any]:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    n = a.shape[0]
    if precision == "int8":  # u8 x s8 -> s32, the product ONNX Runtime's quantized convolutions run on
        inputs = {"a": np.clip(a * 32 + 128, 0, 255).astype(np.uint8), "b": np.clip(b * 32, -127, 127).astype(np.int8)}
        types, node, out = (TensorProto.UINT8, TensorProto.INT8), "MatMulInteger", TensorProto.INT32
    else:
        inputs, types, node, out = {"a": a, "b": b}, (TensorProto.FLOAT, TensorProto.FLOAT), "MatMul", TensorProto.FLOAT
    graph = helper.make_graph([helper.make_node(node, ["a", "b"], ["c"])], "gemm",
                              [helper.make_tensor_value_info(x, t, [n, n]) for x, t in zip("ab", types, strict=True)],
                              [helper.make_tensor_value_info("c", out, [n, n])])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # an IR version and opset every supported ONNX Runtime reads: by default onnx writes its own newest IR
    # version, which an older ONNX Runtime refuses (onnx 1.23 writes IR 14; ONNX Runtime 1.30 reads up to 13)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return lambda: session.run(None, inputs)


def _openvino(a: np.ndarray, b: np.ndarray, threads: int, precision: str = "fp32") -> Callable[[], Any]:
    """OpenVINO's CPU plugin (oneDNN's JIT kernels) on ``a @ b`` with ``b`` a constant, as a layer's weights are:
    the plugin packs it once at compile time, as it does in a network. On a Zen 5 EPYC its products outran
    torch's, NumPy's and ONNX Runtime's at 1 and 2 threads (about 111 against 102 GFLOP/s at one thread)."""
    import openvino as ov
    from openvino import opset13 as ops

    left = ops.parameter(list(a.shape), ov.Type.f32, name="a")
    model = ov.Model([ops.matmul(left, ops.constant(b), False, False)], [left], "gemm")
    compiled = ov.Core().compile_model(model, "CPU", {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"})
    request = compiled.create_infer_request()
    return lambda: request.infer({0: a}, share_inputs=True)


LIBRARIES: dict[str, Callable[..., Callable[[], Any]]] = {"numpy": _numpy, "torch": _torch, "onnxruntime": _onnxruntime,
                                                          "openvino": _openvino}
PRECISIONS = {"numpy": ("fp32",), "torch": ("fp32", "bf16"), "onnxruntime": ("fp32", "int8"),
              "openvino": ("fp32", "bf16")}
OWN_THREADS = ("torch", "onnxruntime", "openvino")  # can measure at another thread count in the same process


def peak(precision: str, cores: int, flags: frozenset[str], mhz: float | None) -> dict[str, Any] | None:
    """The theoretical peak of ``precision`` in G(FL)OP/s: cores x clock x operations per cycle, assuming two
    fused multiply-add units of the widest vector the flags list (an upper bound: some cores have one, or
    split 512-bit work in two; the clock is the one the kernel reports, and boost can be higher)."""
    if not mhz or precision not in ("fp32", "bf16", "int8"):
        return None
    lanes, vector = (16, "AVX-512") if "avx512f" in flags else (8, "AVX2") if "fma" in flags else (4, "SSE")
    per_cycle, how = 2 * 2 * lanes, f"2 {vector} FMA units x {lanes} fp32 lanes x 2"
    if precision == "bf16":
        if not flags & set(hardware.BF16_FLAGS):
            return None
        per_cycle, how = per_cycle * 2, how + " x 2 (bf16 pairs)"
    if precision == "int8":
        if not flags & set(hardware.INT8_DOT_FLAGS):
            return None
        per_cycle, how = per_cycle * 4, how + " x 4 (VNNI int8 quads)"
    value = cores * mhz / 1e3 * per_cycle
    return {"peak_gflops": round(value, 1),
            "peak_formula": f"{cores} core(s) x {mhz / 1e3:.2f} GHz x {per_cycle} ops/cycle ({how})"}


def plan() -> list[Task]:
    """One task per installed library with a fast GEMM: the CPU's roofs, also in a CUDA run (where a failed
    roof is then a cpu record too, and the child does not touch the GPU)."""
    return [Task(key=f"machine/gemm/{library}", module=__name__, scenario="machine", framework=library,
                 variant=VARIANT, label=f"Machine: GEMM roofs ({library})", params={"device": "cpu"})
            for library in LIBRARIES if envs.importable(library, library)]


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """The library's roof per precision it offers here, at the run's thread count and (where the library sets
    its own) at one thread."""
    flags, mhz = hardware.cpu_flags(), hardware.cpu_mhz()
    counts = [ctx.threads] + ([1] if task.framework in OWN_THREADS and ctx.threads != 1
                              and 1 in ctx.profile.get("inference", {}).get("thread_counts", ()) else [])
    settings = roof_settings(ctx.profile)
    records = []
    for precision in PRECISIONS[task.framework]:
        if precision == "bf16" and not flags & set(hardware.BF16_FLAGS):
            continue  # no bfloat16 instructions: torch would emulate it, which is no roof
        for threads in counts:
            main = precision == "fp32" and threads == ctx.threads
            records.append(_roof(task, ctx, precision, threads, settings.sizes if main else settings.extra_sizes,
                                 settings.timing, peak(precision, threads, flags, mhz)))
    return records


def _roof(task: Task, ctx: Context, precision: str, threads: int, sizes: tuple[int, ...], timing: TimingSettings,
          top: dict[str, Any] | None) -> dict[str, Any]:
    rng = np.random.default_rng(ctx.seed)
    per_size: dict[str, float] = {}
    best: tuple[float, list[float]] = (0.0, [])
    make = LIBRARIES[task.framework]
    for size in sizes:
        a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
        call = make(a, b, threads) if precision == "fp32" else make(a, b, threads, precision)
        samples = timer.time_loop(call, timing)
        gflops = 2 * size**3 / float(np.median(samples)) / 1e9
        per_size[str(size)] = gflops
        best = max(best, (gflops, samples))
    return make_record("machine", task.framework, VARIANTS[precision], device="cpu", precision=precision,
                       metrics={"gemm_gflops": best[0]}, samples={"seconds": best[1]},
                       settings={"threads": threads, "precision": precision, "gflops_per_size": per_size,
                                 "method": "median of timed calls per square size; the best size is the roof",
                                 **(top or {})})
