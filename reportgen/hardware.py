"""What machine this is: CPU, cores, memory, GPUs, driver/CUDA, and every relevant library version.

Detection never imports a framework into the calling process (importing TensorFlow and torch in one
process can crash); CUDA details come from ``nvidia-smi`` and a short torch subprocess.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psutil

from reportgen.errors import ReportgenError
from reportgen.measure import energy
from reportgen.process import envs

LIBRARIES = (
    "torch", "torchvision", "tensorflow", "keras", "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin",
    "onnxruntime", "onnxruntime-gpu", "onnx", "onnxscript",
    "tf2onnx", "ai-edge-litert", "openvino", "nncf", "numpy", "pandas", "plotly", "mkdocs", "mkdocs-material",
    "playwright", "reportgen",
)
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # CPU flags of bfloat16 instructions (x86 AVX-512, AMX; Arm)
INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")  # CPU flags of int8 dot-product instructions (VNNI, AMX)
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx_vnni", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile",
              "amx_bf16", "amx_int8", "neon", "asimd", "asimddp", "i8mm", "bf16")
CPU_SYSFS = Path("/sys/devices/system/cpu")  # cpuN/topology and cpuN/cpufreq (a fake tree in tests)
# Tests only: pretend this machine has N cores ("16") or N cores of S logical CPUs each ("8x2"), so the rules that
# depend on the core count run as on that machine (REPORTGEN_TEST_CORES=64 make fast-test); read here alone
CORES_VARIABLE = "REPORTGEN_TEST_CORES"
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS")


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key and key not in info:
                    info[key] = value.strip()
                if not line.strip() and info:
                    break  # the first processor is enough
    except OSError:
        pass
    return info


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags as the kernel lists them (x86 ``flags``, Arm ``Features``); empty when unknown."""
    cpu = _cpuinfo()
    return frozenset(cpu.get("flags", cpu.get("Features", "")).split())


def _lscpu() -> str:
    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                              env={**os.environ, "LC_ALL": "C"}).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_max_mhz(root: Path = CPU_SYSFS, lscpu: Callable[[], str] = _lscpu) -> tuple[float, str] | None:
    """The highest clock any core of this CPU may run at, in MHz, and where it was read: the kernel's
    ``cpuN/cpufreq/cpuinfo_max_freq`` (boost included), else ``lscpu``'s "CPU max MHz"; None where neither says
    (VMs often hide it). Never the ``cpu MHz`` of /proc/cpuinfo: that is the current or nominal clock."""
    khz = [_number(_read(path)) for path in root.glob("cpu[0-9]*/cpufreq/cpuinfo_max_freq")]
    if best := max((k for k in khz if k), default=None):
        return best / 1e3, "cpuinfo_max_freq"
    found = re.search(r"^CPU max MHz:\s*([0-9.]+)", lscpu(), re.MULTILINE)
    mhz = _number(found.group(1)) if found else None
    return (mhz, "lscpu") if mhz else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _cores_of(root: Path, cpus: Iterable[int]) -> set[str] | None:
    """The cores that ``cpus`` (logical CPU numbers) belong to, each named by its list of sibling CPUs (SMT
    threads share one); None where the topology cannot be read."""
    cores = set()
    for cpu in cpus:
        topology = root / f"cpu{cpu}" / "topology"
        siblings = _read(topology / "core_cpus_list") or _read(topology / "thread_siblings_list")
        if not siblings:
            return None
        cores.add(siblings)
    return cores


def _injected() -> dict[str, Any] | None:
    """The core counts ``CORES_VARIABLE`` pretends (tests), or None where it is unset."""
    text = os.environ.get(CORES_VARIABLE, "").strip()
    if not text:
        return None
    found = re.fullmatch(r"([1-9][0-9]*)(?:x([1-9][0-9]*))?", text)
    if not found:
        raise ReportgenError(f"{CORES_VARIABLE}={text!r}: give cores, or cores x logical CPUs per core, e.g. 16 or 8x2")
    cores, per_core = int(found.group(1)), int(found.group(2) or 1)
    return {"physical_cores": cores, "logical_cores": cores * per_core, "available_cores": cores * per_core,
            "available_physical_cores": cores, "threads_per_core": per_core, "injected": text}


def cpu_counts(root: Path = CPU_SYSFS, affinity: set[int] | None = None) -> dict[str, Any]:
    """Cores and logical CPUs: all of them, those this process may run on (its affinity), and logical CPUs per
    core (2 with SMT). From the kernel's topology under ``root``, else psutil; ``CORES_VARIABLE`` overrides both."""
    if injected := _injected():
        return injected
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except AttributeError:
            affinity = set(range(os.cpu_count() or 1))
    online = sorted(int(p.name[3:]) for p in root.glob("cpu[0-9]*") if (p / "topology").is_dir())
    every, mine = _cores_of(root, online), _cores_of(root, sorted(affinity & set(online)))
    if online and every and mine:
        logical, physical, available_physical = len(online), len(every), len(mine)
    else:
        logical = psutil.cpu_count(logical=True) or len(affinity)
        physical = psutil.cpu_count(logical=False) or logical
        available_physical = min(physical, -(-len(affinity) // max(1, logical // physical)))
    return {"physical_cores": physical, "logical_cores": logical, "available_cores": len(affinity),
            "available_physical_cores": max(1, available_physical), "threads_per_core": max(1, logical // physical)}


def lacks_cpu_flags(wanted: tuple[str, ...]) -> str | None:
    """None when this CPU lists one of ``wanted``; otherwise a clause for a skip reason that names the CPU."""
    if cpu_flags() & set(wanted):
        return None
    model = _cpuinfo().get("model name") or platform.processor() or platform.machine()
    return f"one of the CPU flags {', '.join(wanted)}; this CPU ({model}) lists none of them"


def has_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (bf16 variants, candidates and roofs run only where it does)."""
    return lacks_cpu_flags(BF16_FLAGS) is None


@functools.lru_cache(maxsize=1)
def lacks_cuda() -> str:
    """A clause for the skip reason of a CUDA-only variant in a run on the CPU: what this machine lacks, as it
    shows it (no NVIDIA GPU; a GPU torch cannot use; or a usable GPU that the run was told not to use)."""
    gpus = detect_gpus()
    if not gpus:
        return "this machine has no NVIDIA GPU (nvidia-smi is missing or lists none)"
    cuda = torch_cuda()
    if not (cuda and cuda.get("available")):
        return f"this machine has a {gpus[0]['name']}, but torch cannot use CUDA (driver or CUDA build mismatch)"
    return f"this run measured the CPU (--device cpu) although this machine's {gpus[0]['name']} is usable"


def library_versions() -> dict[str, str | None]:
    """The version of each library that can affect a result, as the measuring children have it (None when not
    installed; see :func:`reportgen.process.envs.library_versions`)."""
    return envs.library_versions(LIBRARIES)


def _compiler() -> str | None:
    for cc in ("gcc", "cc", "clang"):
        if shutil.which(cc):
            try:
                out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=10)
                return out.stdout.splitlines()[0] if out.stdout else None
            except (OSError, subprocess.SubprocessError):
                return None
    return None


def detect_gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs as reported by ``nvidia-smi`` (empty when there is none or no driver)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    query = "name,memory.total,driver_version,compute_cap"
    try:
        out = subprocess.run([smi, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.stdout.strip().splitlines() if out.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3:
            gpus.append({"name": parts[0], "memory_mb": _number(parts[1]), "driver": parts[2],
                         "compute_capability": parts[3] if len(parts) > 3 else None})
    return gpus


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_TORCH_CUDA_PROBE = """
import json, torch
print(json.dumps({"available": torch.cuda.is_available(), "cuda": torch.version.cuda,
                  "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
                  "devices": torch.cuda.device_count() if torch.cuda.is_available() else 0}))
"""


def torch_cuda() -> dict[str, Any] | None:
    """CUDA as torch sees it, probed in a subprocess of the torch environment (None when torch is missing or the
    probe fails)."""
    env = envs.environment("torch")
    if env.status != "ok":
        return None
    try:
        out = subprocess.run([env.python, "-c", _TORCH_CUDA_PROBE], capture_output=True, text=True,
                             timeout=120)
        return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def detect(probe_cuda: bool = True) -> dict[str, Any]:
    """Everything known about this machine and its software, as JSON-able data."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", cpu.get("Features", "")).split())
    clock = cpu_max_mhz()
    gpus = detect_gpus()
    cuda = torch_cuda() if (gpus and probe_cuda) else None
    return {
        "cpu": {
            "model": cpu.get("model name") or platform.processor() or platform.machine(),
            "architecture": platform.machine(),
            **cpu_counts(),  # cores, logical CPUs, what this process may use, logical CPUs per core
            "max_mhz": clock[0] if clock else None,  # None: not reported (the peak is then unknown)
            "max_mhz_source": clock[1] if clock else None,
            "simd": [f for f in SIMD_FLAGS if f in flags],
        },
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "compiler": _compiler(),
        "gpus": gpus,
        "cuda": cuda,
        "libraries": library_versions(),
        "environments": envs.summary(),  # where the measuring children ran
        "thread_env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
        "energy": energy.probe(gpus=bool(gpus)),  # each counter, or why it cannot be read: said once per run
    }


def default_threads(machine: dict[str, Any]) -> int:
    """One thread per physical core the process may run on: a second thread on a core's other logical CPU (SMT)
    shares its vector units, and a pool that spins on it slows the first (machines detected before the count
    of available cores was kept: the smaller of cores and available logical CPUs)."""
    cpu = machine["cpu"]
    return max(1, cpu.get("available_physical_cores") or min(cpu["physical_cores"], cpu["available_cores"]))


SIMD_LEVELS = (("amx", "amx_tile"), ("avx512", "avx512f"), ("avx2", "avx2"), ("neon", "neon"))  # best first


def simd_level(simd: list[str]) -> str:
    """The widest vector extension a CPU has (AMX, AVX-512, AVX2, NEON), or ``base``."""
    return next((level for level, flag in SIMD_LEVELS if flag in simd), "base")


def machine_id(machine: dict[str, Any]) -> str:
    """A stable, readable id from the hardware alone, e.g. ``amd-epyc-2c-avx512-24g-cpu-3f2a1c``.

    Runs on identical hardware share it, so they group together; software versions do not change it. The
    SIMD level is part of it: the same CPU model name with and without AVX-512 is two machines.
    """
    cpu = machine["cpu"]
    gpus = machine.get("gpus") or []
    ram = round(machine["memory_gb"])
    level = simd_level(cpu.get("simd") or [])
    key = json.dumps([cpu["model"], cpu["architecture"], cpu["available_cores"], ram,
                      sorted(g["name"] for g in gpus), level])
    digest = hashlib.sha256(key.encode()).hexdigest()[:6]
    gpu_part = _slug(f"{len(gpus)}x-{gpus[0]['name']}") if gpus else "cpu"
    return f"{_slug(cpu['model'])[:32].strip('-')}-{cpu['available_cores']}c-{level}-{ram}g-{gpu_part}-{digest}"


def _slug(text: str) -> str:
    text = re.sub(r"\((r|tm)\)|cpu|processor|nvidia|@.*", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"


def resolve_device(requested: str, machine: dict[str, Any]) -> str:
    """Turn ``auto``/``cpu``/``cuda`` into the device to use, or fail with a one-line reason."""
    has_cuda = bool(machine.get("cuda") and machine["cuda"].get("available"))
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    if requested == "cuda" and not has_cuda:
        why = ("no NVIDIA GPU found (nvidia-smi is missing or lists none)" if not machine.get("gpus")
               else "a GPU is present but torch cannot use CUDA (driver or CUDA build mismatch)")
        raise ReportgenError(f"--device cuda: {why}; use --device cpu or --device auto")
    if requested not in ("cpu", "cuda"):
        raise ReportgenError(f"unknown device {requested!r}; choose auto, cpu or cuda")
    return requested
