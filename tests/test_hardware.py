"""Hardware detection, the machine id and the device choice."""

import copy
import re
from pathlib import Path

import pytest

from reportgen.errors import ReportgenError
from reportgen.hardware import default_threads, detect, machine_id, resolve_device


@pytest.fixture(scope="module")
def machine() -> dict:
    return detect(probe_cuda=False)


def test_detect_reports_cpu_memory_software(machine: dict) -> None:
    cpu = machine["cpu"]
    assert cpu["model"] and cpu["architecture"]
    assert 1 <= cpu["available_cores"] <= cpu["logical_cores"]
    assert 1 <= cpu["physical_cores"] <= cpu["logical_cores"]
    assert machine["memory_gb"] > 0
    assert machine["python"].startswith("3.")
    assert machine["libraries"]["numpy"]  # installed with reportgen
    assert "torch" in machine["libraries"] and "tensorflow" in machine["libraries"]
    assert isinstance(machine["gpus"], list)


def test_machine_id_is_stable_readable_and_hardware_only(machine: dict) -> None:
    mid = machine_id(machine)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", mid)
    assert mid == machine_id(detect(probe_cuda=False))
    other_software = copy.deepcopy(machine)
    other_software["libraries"]["torch"] = "0.0.1"
    other_software["python"] = "3.99"
    assert machine_id(other_software) == mid
    more_cores = copy.deepcopy(machine)
    more_cores["cpu"]["available_cores"] += 8
    assert machine_id(more_cores) != mid
    with_gpu = copy.deepcopy(machine)
    with_gpu["gpus"] = [{"name": "NVIDIA H100 80GB HBM3", "memory_mb": 81559.0, "driver": "580"}]
    assert "1x-h100" in machine_id(with_gpu) and machine_id(with_gpu) != mid
    no_avx512, avx512 = copy.deepcopy(machine), copy.deepcopy(machine)
    no_avx512["cpu"]["simd"] = ["sse4_2", "avx", "avx2", "fma"]
    avx512["cpu"]["simd"] = ["sse4_2", "avx", "avx2", "fma", "avx512f"]
    assert "-avx2-" in machine_id(no_avx512) and "-avx512-" in machine_id(avx512)  # two machines, not one


def test_device_choice(machine: dict) -> None:
    no_gpu = {**machine, "gpus": [], "cuda": None}
    assert resolve_device("auto", no_gpu) == "cpu"
    assert resolve_device("cpu", no_gpu) == "cpu"
    with pytest.raises(ReportgenError, match="--device cuda: no NVIDIA GPU found"):
        resolve_device("cuda", no_gpu)
    gpu = {**machine, "gpus": [{"name": "X"}], "cuda": {"available": True}}
    assert resolve_device("auto", gpu) == "cuda"
    broken = {**machine, "gpus": [{"name": "X"}], "cuda": {"available": False}}
    with pytest.raises(ReportgenError, match="torch cannot use CUDA"):
        resolve_device("cuda", broken)


def test_default_threads_is_physical_cores_available(machine: dict) -> None:
    assert 1 <= default_threads(machine) <= machine["cpu"]["available_cores"]


@pytest.mark.parametrize(("gpus", "cuda", "says"), [
    ([], None, "this machine has no NVIDIA GPU"),
    ([{"name": "NVIDIA L4"}], {"available": False}, "this machine has a NVIDIA L4, but torch cannot use CUDA"),
    ([{"name": "NVIDIA L4"}], {"available": True}, "this run measured the CPU (--device cpu) although"),
])
def test_a_cuda_only_skip_says_what_this_machine_lacks(gpus: list, cuda: dict | None, says: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """'needs a CUDA GPU; this run is on cpu' said nothing of the machine: the reason names what is missing."""
    from reportgen import catalog, hardware
    from reportgen.scenarios import inference

    monkeypatch.setattr(hardware, "detect_gpus", lambda: gpus)
    monkeypatch.setattr(hardware, "torch_cuda", lambda: cuda)
    hardware.lacks_cuda.cache_clear()
    try:
        reason = inference.unsupported(catalog.find("torch", "amp-fp16"), "cpu")
        assert reason.startswith("PyTorch AMP fp16 needs a CUDA GPU; ") and says in reason, reason
        assert inference.unsupported(catalog.find("torch", "amp-fp16"), "cuda") is None
    finally:
        hardware.lacks_cuda.cache_clear()


@pytest.mark.parametrize("gpu_wheel", [False, True])
def test_onnx_runtime_on_a_gpu_without_its_cuda_wheel_is_skipped_with_the_fix(gpu_wheel: bool,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen on an H200: the CPU-only `onnxruntime` wheel made every ONNX Runtime variant of a CUDA run a
    failure; the reason now comes before the run and says what to install. CPU-only variants still run."""
    from reportgen import catalog
    from reportgen.process import envs
    from reportgen.scenarios import inference

    monkeypatch.setattr(envs, "installed", lambda name, framework: gpu_wheel and name == "onnxruntime-gpu")
    monkeypatch.setattr(envs, "mode", lambda: None)  # one interpreter: the fix is a pip install
    reason = inference.unsupported(catalog.find("onnxruntime", "from-torch"), "cuda")
    if gpu_wheel:
        assert reason is None
    else:
        assert reason == ("ONNX Runtime (PyTorch export) on a GPU needs onnxruntime-gpu (pip install onnxruntime-gpu); "
                          "the installed ONNX Runtime runs on the CPU only")
    assert inference.unsupported(catalog.find("onnxruntime", "int8-static"), "cuda") is None  # runs on the CPU
    assert inference.unsupported(catalog.find("onnxruntime", "from-torch"), "cpu") is None
    assert inference.unsupported(catalog.find("torch", "eager"), "cuda") is None


@pytest.mark.slow
def test_tensorflow_in_a_cuda_run_refuses_to_fall_back_to_the_cpu() -> None:
    """A TensorFlow wheel without CUDA support runs a `--device cuda` run's Keras work on the CPU without a word;
    its records would say cuda. The backend and the trainer refuse instead (here: a machine without a GPU)."""
    import os
    import subprocess
    import sys

    from reportgen.process import envs

    code = ("from reportgen.backends.tensorflow_backend import use_device\n"
            "use_device('cpu')\n"
            "try:\n    use_device('cuda')\nexcept RuntimeError as exc:\n    print(exc)\n")
    single = {**os.environ, envs.ENVS_VARIABLE: envs.SINGLE}  # one interpreter: the fix is a pip install
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                         env=single).stdout
    assert out.strip() == ("--device cuda, but TensorFlow sees no GPU (it would run on the CPU): install its CUDA "
                           "support (pip install 'tensorflow[and-cuda]')")


def fake_cpus(root: Path, siblings: list[str], max_khz: list[int] | None = None) -> Path:
    """A fake ``/sys/devices/system/cpu``: one ``cpuN/topology`` per logical CPU (``siblings[N]``: the logical
    CPUs of its core), and ``cpufreq/cpuinfo_max_freq`` where ``max_khz`` gives one."""
    for cpu, cores in enumerate(siblings):
        (root / f"cpu{cpu}" / "topology").mkdir(parents=True)
        (root / f"cpu{cpu}" / "topology" / "thread_siblings_list").write_text(cores + "\n")
        if max_khz:
            (root / f"cpu{cpu}" / "cpufreq").mkdir()
            (root / f"cpu{cpu}" / "cpufreq" / "cpuinfo_max_freq").write_text(f"{max_khz[cpu]}\n")
    (root / "cpufreq").mkdir()  # what the kernel has beside the cpuN folders: never taken for a CPU
    return root


def test_the_maximum_clock_comes_from_cpufreq_else_lscpu_else_it_is_unknown(tmp_path: Path) -> None:
    """The peak needs the highest clock a core may run at (boost included); VMs often report none."""
    from reportgen.hardware import cpu_max_mhz

    lscpu = "Model name:  AMD EPYC 9B45\nCPU max MHz:                 4121.0000\nCPU min MHz:  1500.0000\n"
    tree = fake_cpus(tmp_path / "freq", ["0", "1"], max_khz=[3_700_000, 4_100_000])
    assert cpu_max_mhz(tree, lambda: lscpu) == (4100.0, "cpuinfo_max_freq")  # the fastest core
    hidden = fake_cpus(tmp_path / "vm", ["0", "1"])  # no cpufreq: a VM like the project's machines
    assert cpu_max_mhz(hidden, lambda: lscpu) == (4121.0, "lscpu")
    assert cpu_max_mhz(hidden, lambda: "Model name: Intel(R) Xeon(R) Processor\nCPU(s): 2\n") is None
    assert cpu_max_mhz(hidden, lambda: "") is None


def test_cores_and_logical_cpus_come_from_the_topology(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An SMT machine: 4 logical CPUs on 2 cores (0 and 2 share one). A process allowed on both logical CPUs of
    one core has one core to run on, not two."""
    from reportgen.hardware import CORES_VARIABLE, cpu_counts

    monkeypatch.delenv(CORES_VARIABLE, raising=False)  # detected here, whatever the suite injects

    smt = fake_cpus(tmp_path / "smt", ["0,2", "1,3", "0,2", "1,3"])
    everything = cpu_counts(smt, affinity={0, 1, 2, 3})
    assert everything == {"physical_cores": 2, "logical_cores": 4, "available_cores": 4,
                          "available_physical_cores": 2, "threads_per_core": 2}
    assert cpu_counts(smt, affinity={0, 2})["available_physical_cores"] == 1  # two siblings: one core
    assert cpu_counts(smt, affinity={0, 1})["available_physical_cores"] == 2
    assert default_threads({"cpu": cpu_counts(smt, affinity={0, 2})}) == 1
    plain = fake_cpus(tmp_path / "plain", [str(n) for n in range(16)])
    assert cpu_counts(plain, affinity=set(range(16)))["available_physical_cores"] == 16


def test_a_machine_detected_before_the_available_cores_were_kept_still_gets_its_threads() -> None:
    assert default_threads({"cpu": {"physical_cores": 8, "logical_cores": 16, "available_cores": 4}}) == 4


@pytest.mark.parametrize(("injected", "cores", "logical"), [("2", 2, 2), ("16", 16, 16), ("64", 64, 64),
                                                             ("8x2", 8, 16)])
def test_an_injected_core_count_is_what_detection_reports(injected: str, cores: int, logical: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from reportgen import hardware

    monkeypatch.setenv(hardware.CORES_VARIABLE, injected)
    counts = hardware.cpu_counts()
    assert (counts["physical_cores"], counts["logical_cores"], counts["available_cores"]) == (cores, logical, logical)
    assert default_threads({"cpu": counts}) == cores and counts["injected"] == injected
    monkeypatch.setenv(hardware.CORES_VARIABLE, "sixteen")
    with pytest.raises(ReportgenError, match="e.g. 16 or 8x2"):
        hardware.cpu_counts()
