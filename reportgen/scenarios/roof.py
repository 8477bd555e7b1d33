"""The machine's compute roofs: GEMM rates per precision and thread count, beside the theoretical peak.

Measured once per run with NumPy, PyTorch, ONNX Runtime and OpenVINO where installed (the fastest differs by
machine), each library in its own subprocess and environment so that one that hangs or fails to import loses only
its own roofs. One GEMM shape understates a roof (on a Zen 5 core ONNX Runtime's batch-1 ResNet-18 outran a 2048²
SGEMM), so each library times several shapes (the profile's ``roof`` settings) and keeps its best. Each library
measures every precision it runs a variant in (:data:`PRECISIONS`): fp32 (SGEMM, every library), bf16 (torch and
OpenVINO, on CPUs with bfloat16 instructions) and int8 (ONNX Runtime ``MatMulInteger``; OpenVINO's quantized
``MatMul``, the u8 x i8 kernel its INT8 variant's layers run on: ONNX Runtime's alone was outrun by OpenVINO INT8
by up to 11%); at the run's thread count and at one thread (torch, ONNX Runtime and OpenVINO set their own;
NumPy's BLAS is fixed at start). Every inference record is divided by the roof of its own precision and thread
count (:mod:`reportgen.scenarios.efficiency`).

Each roof record also carries the theoretical peak of its precision (:func:`peak`): cores x the CPU's maximum
clock x operations per cycle, an upper bound; where the maximum clock is not reported it carries none, and the
page shows the clock the measured roof implies instead (:func:`implied_ghz`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reportgen import hardware
from reportgen.config import TimingSettings, roof_settings
from reportgen.measure import timer
from reportgen.process import envs
from reportgen.process.runner import Context, Task
from reportgen.store.records import Setting, TaskKey
from reportgen.store.results import make_record

VARIANTS = {"fp32": "sgemm", "bf16": "bf16-gemm", "int8": "int8-gemm"}  # the records' variant per precision
VARIANT = VARIANTS["fp32"]
PEAK_UNKNOWN = "peak unknown: the clock this CPU runs at is not reported"


class NotAsAsked(RuntimeError):
    """The library ran the product, but not in the precision asked for: no roof of that precision."""


@dataclass(frozen=True)
class Gemm:
    """A prepared ``a @ b``: the call to time, and the kernel that runs it where the library says."""

    call: Callable[[], Any]
    kernel: str | None = None


def _numpy(a: np.ndarray, b: np.ndarray, threads: int, precision: str) -> Gemm:
    return Gemm(lambda: a @ b)


def _torch(a: np.ndarray, b: np.ndarray, threads: int, precision: str) -> Gemm:
    import torch

    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    ta, tb = torch.from_numpy(a).to(dtype), torch.from_numpy(b).to(dtype)
    return Gemm(lambda: torch.mm(ta, tb))


def _onnxruntime(a: np.ndarray, b: np.ndarray, threads: int, precision: str) -> Gemm:
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
    return Gemm(lambda: session.run(None, inputs), f"{node} ({session.get_providers()[0]})")


OPENVINO_PRECISIONS = {"fp32": ("f32",), "bf16": ("bf16",), "int8": ("u8", "i8")}  # what its kernel must run in


def _openvino(a: np.ndarray, b: np.ndarray, threads: int, precision: str) -> Gemm:
    """OpenVINO's CPU plugin (oneDNN's JIT kernels) on ``a @ b`` with ``b`` a constant, as a layer's weights are:
    the plugin packs it once at compile time, as it does in a network. On a Zen 5 EPYC its products outran
    torch's, NumPy's and ONNX Runtime's at 1 and 2 threads (about 111 against 102 GFLOP/s at one thread).

    INT8 is written as NNCF writes a quantized layer: a ``FakeQuantize`` on each input (activations u8, as after
    a ReLU; weights i8, symmetric), which the plugin's low-precision transformations turn into a u8 x i8 product
    (on a Xeon with AMX: ``FullyConnected``, ``brgemm_avx512_amx_I8``). The kernel that ran is read back from the
    compiled model; one that did not run in the precision asked for is no roof of it (:class:`NotAsAsked`)."""
    import openvino as ov
    from openvino import opset13 as ops

    param = ops.parameter(list(a.shape), ov.Type.f32, name="a")
    left, right = param, ops.constant(b)
    if precision == "int8":
        a = np.abs(a)
        left, right = _fake_quantize(ops, left, 0.0, 4.0, 256), _fake_quantize(ops, right, -4.0, 4.0, 255)
    model = ov.Model([ops.matmul(left, right, False, False)], [param], "gemm")
    compiled = ov.Core().compile_model(model, "CPU", {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"})
    kernel = _openvino_kernel(compiled, precision)
    request = compiled.create_infer_request()
    return Gemm(lambda: request.infer({0: a}, share_inputs=True), kernel)


def _fake_quantize(ops: Any, node: Any, low: float, high: float, levels: int) -> Any:
    lo, hi = ops.constant(np.float32(low)), ops.constant(np.float32(high))
    return ops.fake_quantize(node, lo, hi, lo, hi, levels)


def _openvino_kernel(compiled: Any, precision: str) -> str | None:
    """The product's layer type, runtime precision and primitive in a compiled OpenVINO model, e.g. ``FullyConnected
    u8 (brgemm_avx512_amx_I8)``; :class:`NotAsAsked` where it runs in another precision than ``precision`` (or, for
    a reduced precision, where no layer of the runtime model is a product). None: fp32 with no product named."""
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        layer = info["layerType"].astype(str)
        if layer in ("FullyConnected", "MatMul", "Gemm"):
            ran = info["runtimePrecision"].astype(str)
            kernel = f"{layer} {ran} ({info['primitiveType'].astype(str)})"
            if ran not in OPENVINO_PRECISIONS[precision]:
                raise NotAsAsked(f"OpenVINO ran the {precision} product as {kernel}: no {precision} roof from it")
            return kernel
    if precision != "fp32":
        raise NotAsAsked(f"OpenVINO's compiled model names no product layer: its {precision} cannot be confirmed")
    return None


LIBRARIES: dict[str, Callable[[np.ndarray, np.ndarray, int, str], Gemm]] = {
    "numpy": _numpy, "torch": _torch, "onnxruntime": _onnxruntime, "openvino": _openvino}
# the precisions each library runs a variant in (torch AMP bf16; ONNX Runtime's QDQ and dynamic INT8; OpenVINO's
# bf16 hint and NNCF INT8): the roof of a precision holds every library whose kernels a variant of it uses
PRECISIONS = {"numpy": ("fp32",), "torch": ("fp32", "bf16"), "onnxruntime": ("fp32", "int8"),
              "openvino": ("fp32", "bf16", "int8")}
OWN_THREADS = ("torch", "onnxruntime", "openvino")  # can measure at another thread count in the same process

# Operations per core and cycle, an upper bound: (a CPU flag, the unit, fp32 lanes per vector, the most FMA units a
# core with vectors that wide has), widest first. x86: two 512-bit or 256-bit FMA units at most (Intel server
# cores, Zen 4/5 counting 512-bit work); Arm: four 128-bit NEON units (Neoverse V2, Apple M). A multiply-add is 2.
VECTORS = (("avx512f", "AVX-512", 16, 2), ("avx", "AVX", 8, 2), ("asimd", "NEON", 4, 4), ("neon", "NEON", 4, 4),
           ("sse2", "SSE", 4, 2))
# Reduced precisions: (flag, what, times the fp32 vector rate, or None) or a rate per core of their own (AMX tiles:
# Intel's 1024 bf16 and 2048 int8 operations per cycle); the fastest the flags allow counts.
REDUCED: dict[str, tuple[tuple[str, str, int | None, int | None], ...]] = {
    "bf16": (("amx_bf16", "AMX tiles", None, 1024), ("avx512_bf16", "bf16 pairs", 2, None),
             ("bf16", "BFMMLA", 4, None)),
    "int8": (("amx_int8", "AMX tiles", None, 2048), ("avx512_vnni", "VNNI int8 quads", 4, None),
             ("avx_vnni", "VNNI int8 quads", 4, None), ("i8mm", "SMMLA", 8, None), ("asimddp", "SDOT", 4, None)),
}


def ops_per_cycle(precision: str, flags: frozenset[str]) -> tuple[int, str] | None:
    """The most operations of ``precision`` one core can do per cycle with the SIMD units its flags list, and
    how that is counted; None where the flags show no vector unit, or no instructions of that precision."""
    vector = next((v for v in VECTORS if v[0] in flags), None)
    if vector is None or precision not in ("fp32", *REDUCED):
        return None
    _, unit, lanes, units = vector
    fp32, how = 2 * units * lanes, f"{units} {unit} FMA units x {lanes} fp32 lanes x 2"
    if precision == "fp32":
        return fp32, how
    rates = [(rate or fp32 * (factor or 1), what if rate else f"{how} x {factor} ({what})")
             for flag, what, factor, rate in REDUCED[precision] if flag in flags]
    return max(rates) if rates else None


def peak(precision: str, cores: int, flags: frozenset[str], clock: tuple[float, str] | None) -> dict[str, Any] | None:
    """The theoretical peak of ``precision`` in G(FL)OP/s, an upper bound: cores x the CPU's maximum clock
    (``clock``: MHz and where it was read, :func:`reportgen.hardware.cpu_max_mhz`) x :func:`ops_per_cycle`.
    Without a maximum clock there is no peak: ``gflops`` is None and ``unknown`` says why. None where the flags
    give no rate for the precision."""
    rate = ops_per_cycle(precision, flags)
    if rate is None:
        return None
    per_cycle, how = rate
    found = {"cores": cores, "ops_per_cycle": per_cycle, "ops": how}
    if not clock:
        return {**found, "gflops": None, "unknown": PEAK_UNKNOWN}
    mhz, source = clock
    return {**found, "gflops": round(cores * mhz / 1e3 * per_cycle, 1), "max_mhz": mhz, "clock": source,
            "formula": f"{cores} core(s) x {mhz / 1e3:.2f} GHz (maximum, {source}) x {per_cycle} ops/cycle ({how})"}


def implied_ghz(gflops: float, top: dict[str, Any]) -> float:
    """The clock in GHz that a measured rate needs at least, at the peak's cores and operations per cycle."""
    return gflops / (top["cores"] * top["ops_per_cycle"])


def plan() -> list[Task]:
    """One task per installed library with a fast GEMM: the CPU's roofs, also in a CUDA run (where a failed
    roof is then a cpu record too, and the child does not touch the GPU)."""
    return [Task(key=str(TaskKey("machine", "gemm", library)), module=__name__, scenario="machine", framework=library,
                 variant=VARIANT, label=f"Machine: GEMM roofs ({library})", params={"device": "cpu"})
            for library in LIBRARIES if envs.importable(library, library)]


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """The library's roof per precision it offers here, at the run's thread count and (where the library sets
    its own) at one thread."""
    flags, clock = hardware.cpu_flags(), hardware.cpu_max_mhz()
    cores = hardware.cpu_counts()["available_physical_cores"]  # SMT threads share a core's vector units
    counts = [ctx.threads] + ([1] if task.framework in OWN_THREADS and ctx.threads != 1
                              and 1 in ctx.profile.get("inference", {}).get("thread_counts", ()) else [])
    settings = roof_settings(ctx.profile)
    records = []
    for precision in PRECISIONS[task.framework]:
        if precision == "bf16" and not flags & set(hardware.BF16_FLAGS):
            continue  # no bfloat16 instructions: torch would emulate it, which is no roof
        for threads in counts:
            main = precision == "fp32" and threads == ctx.threads
            top = peak(precision, min(threads, cores), flags, clock)
            try:
                records.append(_roof(task, ctx, precision, threads, settings.sizes if main else settings.extra_sizes,
                                     settings.timing, top))
            except NotAsAsked as exc:
                records.append(make_record("machine", task.framework, VARIANTS[precision], device="cpu",
                                           precision=precision, status="skipped", reason=str(exc),
                                           settings={Setting.THREADS: threads, Setting.PRECISION: precision}))
    return records


def _roof(task: Task, ctx: Context, precision: str, threads: int, sizes: tuple[int, ...], timing: TimingSettings,
          top: dict[str, Any] | None) -> dict[str, Any]:
    rng = np.random.default_rng(ctx.seed)
    per_size: dict[str, float] = {}
    best: tuple[float, list[float]] = (0.0, [])
    kernels = set()
    make = LIBRARIES[task.framework]
    for size in sizes:
        a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
        gemm = make(a, b, threads, precision)
        samples = timer.time_loop(gemm.call, timing)
        gflops = 2 * size**3 / float(np.median(samples)) / 1e9
        per_size[str(size)] = gflops
        best = max(best, (gflops, samples))
        kernels.add(gemm.kernel)
    return make_record("machine", task.framework, VARIANTS[precision], device="cpu", precision=precision,
                       metrics={"gemm_gflops": best[0]}, samples={"seconds": best[1]},
                       settings={Setting.THREADS: threads, Setting.PRECISION: precision,
                                 Setting.GFLOPS_PER_SIZE: per_size,
                                 Setting.METHOD: "median of timed calls per square size; the best size is the roof",
                                 **({Setting.KERNEL: ", ".join(sorted(k for k in kernels if k))}
                                    if any(kernels) else {}),
                                 **({Setting.PEAK: top} if top else {})})
