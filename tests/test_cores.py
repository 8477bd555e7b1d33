"""The rules that depend on the core count, on machines of 2 to 64 cores and on one with SMT (2 logical CPUs per
core), their counts injected as ``REPORTGEN_TEST_CORES`` sets them for the whole suite."""

from typing import Any

import pytest

from reportgen import hardware, thresholds
from reportgen.config import TASK_KINDS, get_profile, places, profile_settings, task_threads
from reportgen.scenarios.training import scaling_workers
from reportgen.store import records

MACHINES = {"2": (2, 2), "16": (16, 16), "64": (64, 64), "8x2": (8, 16)}  # injected: (cores, logical CPUs)


@pytest.fixture(params=sorted(MACHINES), ids=lambda n: f"cores={n}")
def machine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv(hardware.CORES_VARIABLE, request.param)
    return {"cpu": hardware.cpu_counts()}


def test_a_measuring_process_gets_one_thread_per_physical_core(machine: dict[str, Any]) -> None:
    """With SMT the second logical CPU of a core shares its vector units: 8 cores of 2 give 8 threads, not 16."""
    cores, logical = MACHINES[machine["cpu"]["injected"]]
    assert (machine["cpu"]["physical_cores"], machine["cpu"]["logical_cores"]) == (cores, logical)
    assert hardware.default_threads(machine) == cores


@pytest.mark.parametrize("profile", ["smoke", "quick", "standard"])
def test_tasks_beside_each_other_share_the_threads_without_oversubscribing(machine: dict[str, Any],
                                                                           profile: str) -> None:
    settings = profile_settings(get_profile(profile))
    threads = hardware.default_threads(machine)
    for kind in TASK_KINDS:
        share = task_threads(settings, kind, threads)
        if kind == "timing":
            assert share == threads  # a timed task measures the run's count, alone or not
        else:
            assert share >= 1 and (share * places(settings, kind) <= threads or share == 1)
            assert share >= threads // places(settings, kind)  # no core left idle by the share


def test_data_parallel_workers_fit_the_cores(machine: dict[str, Any]) -> None:
    training = profile_settings(get_profile("quick"))["training"]
    threads = hardware.default_threads(machine)
    workers = scaling_workers(training, "cpu", threads)
    assert workers == training["workers"] and workers * max(1, threads // workers) <= threads
    one_core = scaling_workers(training, "cpu", 1)
    assert isinstance(one_core, str) and "at least 2 cores" in one_core


def test_one_busy_core_disturbs_the_machine_and_background_noise_does_not(machine: dict[str, Any]) -> None:
    """The foreign share is of every logical CPU the kernel counts (/proc/stat): 1/logical for one busy one."""
    logical = machine["cpu"]["logical_cores"]
    assert records.disturbed(1 / logical, {"machine_cpus": logical})
    assert not records.disturbed(0.1 / logical, {"machine_cpus": logical})
    assert thresholds.disturbed_share(logical) <= thresholds.UNRECORDED_DISTURBED_SHARE
