"""Energy from the machine's counters: RAPL through a fake powercap tree, NVML through a fake module, the timed
loop and the training's epochs, the records, and what the pages say with and without a figure."""

from __future__ import annotations

import copy
import html
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURE_RESULTS, LinearRuntime

from reportgen import backends
from reportgen.artifacts import REFERENCE_OUTPUTS
from reportgen.config import PROFILES, TimingSettings, profile_settings
from reportgen.inputs import check_images
from reportgen.measure import energy, timer
from reportgen.process.runner import Context, Task
from reportgen.report.pages import write_pages
from reportgen.scenarios import inference
from reportgen.scenarios.training.records import history_record
from reportgen.store.results import LoadedResults, ResultStore, make_record, validate_run
from reportgen.workloads.training.recipe import EpochResult, History

RANGE_UJ = 262143328850  # a package's max_energy_range_uj as a Xeon reports it


def zone(root: Path, name: str, label: str, uj: int, span: int | None = RANGE_UJ) -> Path:
    """One powercap zone as the kernel lists it under /sys/class/powercap (subzones flat beside their package)."""
    path = root / name
    path.mkdir(parents=True)
    (path / "name").write_text(label + "\n")
    (path / "energy_uj").write_text(f"{uj}\n")
    if span is not None:
        (path / "max_energy_range_uj").write_text(f"{span}\n")
    return path


def set_uj(path: Path, uj: int) -> None:
    (path / "energy_uj").write_text(f"{uj}\n")


@pytest.fixture
def powercap(tmp_path: Path) -> dict[str, Path]:
    """Two packages, their core and dram subzones, a psys zone and the MMIO copy of package 0."""
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control type itself, not a zone
    (root / "intel-rapl" / "enabled").write_text("1\n")
    zones = {"root": root,
             "pkg0": zone(root, "intel-rapl:0", "package-0", 1_000_000),
             "core0": zone(root, "intel-rapl:0:0", "core", 500_000),
             "dram0": zone(root, "intel-rapl:0:1", "dram", 200_000),
             "pkg1": zone(root, "intel-rapl:1", "package-1", 3_000_000),
             "psys": zone(root, "intel-rapl:2", "psys", 9_000_000),
             "mmio": zone(root, "intel-rapl-mmio:0", "package-0", 1_000_000)}
    return zones


def test_rapl_sums_the_package_zones_only(powercap: dict[str, Path]) -> None:
    rapl = energy.Rapl(powercap["root"])
    assert rapl.what == "RAPL package-0 (intel-rapl:0) + package-1 (intel-rapl:1)"
    before = rapl.sample()
    for key, add in (("pkg0", 2_500_000), ("pkg1", 1_500_000), ("core0", 9_000_000), ("dram0", 7_000_000),
                     ("psys", 50_000_000), ("mmio", 2_500_000)):
        set_uj(powercap[key], int((powercap[key] / "energy_uj").read_text()) + add)
    assert rapl.joules(before, rapl.sample()) == pytest.approx(4.0)  # 2.5 J + 1.5 J; no subzone, psys, MMIO


def test_rapl_corrects_a_wrapped_counter(powercap: dict[str, Path]) -> None:
    set_uj(powercap["pkg0"], RANGE_UJ - 1_000_000)
    rapl = energy.Rapl(powercap["root"])
    before = rapl.sample()
    set_uj(powercap["pkg0"], 2_000_000)  # wrapped past max_energy_range_uj
    set_uj(powercap["pkg1"], 3_500_000)
    assert rapl.joules(before, rapl.sample()) == pytest.approx(3.0 + 0.5)


def test_a_wrap_without_a_known_range_is_not_guessed(tmp_path: Path) -> None:
    pkg = zone(tmp_path, "intel-rapl:0", "package-0", 5_000_000, span=None)
    rapl = energy.Rapl(tmp_path)
    before = rapl.sample()
    set_uj(pkg, 1_000_000)
    with pytest.raises(energy.Unreadable, match="wrapped"):
        rapl.joules(before, rapl.sample())


def test_rapl_counters_readable_by_root_only_give_the_reason(powercap: dict[str, Path]) -> None:
    def root_only(path: Path) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text(encoding="ascii")

    why = energy.open_counter("cpu", powercap["root"], root_only)
    assert isinstance(why, str)
    assert why.startswith("RAPL counters present (RAPL package-0 (intel-rapl:0) + package-1 (intel-rapl:1)) but "
                          "not readable by this user (root only since the 2020 fix for CVE-2020-8694)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000 anyway (the injected reader above "
                                              "covers the case)")
def test_rapl_counters_of_mode_000_are_not_readable(powercap: dict[str, Path]) -> None:
    for key in ("pkg0", "pkg1"):
        (powercap[key] / "energy_uj").chmod(0)
    assert "not readable by this user" in str(energy.open_counter("cpu", powercap["root"]))


def test_no_powercap_tree_and_no_package_zone_are_reasons(tmp_path: Path) -> None:
    found = energy.probe(gpus=False, root=tmp_path / "absent")
    assert found == {"cpu": {"reason": f"no RAPL counters: {tmp_path / 'absent'} does not exist (no powercap "
                                       "driver; virtual machines rarely expose one)"},
                     "gpu": {"reason": "this machine has no NVIDIA GPU"}}
    zone(tmp_path, "intel-rapl:0", "psys", 1)
    assert "no RAPL package zone" in energy.probe(gpus=False, root=tmp_path)["cpu"]["reason"]
    meter = energy.Meter.open("cpu", root=tmp_path)
    meter.begin()
    assert meter.lap() is None and "no RAPL package zone" in str(meter.reason)


class FakeNvml:
    """pynvml's calls that the meter makes; the energy counter in mJ is ``self.mj`` per GPU."""

    class NVMLError_NotSupported(Exception):  # noqa: N801 - pynvml's spelling
        pass

    def __init__(self, supported: bool = True) -> None:
        self.mj = {0: 5_000_000, 1: 7_000_000}
        self.supported, self.started = supported, 0

    def nvmlInit(self) -> None:  # noqa: N802 - pynvml's spelling
        self.started += 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        if index not in self.mj:
            raise RuntimeError(f"no GPU {index}")
        return index

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> int:  # noqa: N802
        return {"GPU-aaaa": 0, "GPU-bbbb": 1}[uuid]

    def nvmlDeviceGetName(self, handle: int) -> bytes:  # noqa: N802
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:  # noqa: N802
        if not self.supported:
            raise self.NVMLError_NotSupported("Not Supported")
        return self.mj[handle]


def test_nvml_reads_the_gpu_the_run_uses_and_the_cpu_package_beside_it(
        powercap: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-bbbb,GPU-aaaa")
    meter = energy.Meter.open("cuda", root=powercap["root"], nvml=nvml)
    assert meter.counters["gpu"].what == "NVML NVIDIA H100 80GB HBM3 (GPU GPU-bbbb)"
    meter.begin()
    nvml.mj[1] += 12_500  # 12.5 J on the GPU the run uses
    nvml.mj[0] += 99_000  # another GPU: not counted
    set_uj(powercap["pkg0"], 1_000_000 + 3_000_000)
    interval = meter.lap()
    assert interval is not None and interval.counter == "gpu"
    assert interval.work_joules == pytest.approx(12.5) and interval.joules["cpu"] == pytest.approx(3.0)
    metrics, settings = energy.per_image(interval, 50)
    assert metrics == {"energy_j_per_image": pytest.approx(0.25)}
    assert settings["energy"]["counter"] == "gpu" and settings["energy"]["items"] == 50
    assert "whole GPU board" in settings["energy"]["method"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert "(GPU 0)" in energy.Nvml(nvml).what


def test_a_gpu_without_the_counter_or_without_pynvml_gives_the_reason(
        powercap: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    found = energy.probe(gpus=True, root=powercap["root"], nvml=FakeNvml(supported=False))
    assert found["gpu"]["reason"].startswith("the NVIDIA H100 80GB HBM3 has no NVML energy counter (Volta or newer "
                                             "has one): NVMLError_NotSupported")
    assert found["cpu"] == {"counter": "RAPL package-0 (intel-rapl:0) + package-1 (intel-rapl:1)"}
    meter = energy.Meter.open("cuda", root=powercap["root"], nvml=FakeNvml(supported=False))
    meter.begin()
    assert meter.lap() is None  # the CPU package alone is not the GPU's work
    monkeypatch.setitem(__import__("sys").modules, "pynvml", None)  # import pynvml fails
    assert "nvidia-ml-py (pynvml) is not installed" in str(energy.open_counter("gpu"))


class Ticking:
    """A counter that advances by one joule for every call of the work it meters."""

    what = "a fake counter"

    def __init__(self) -> None:
        self.calls = 0

    def work(self) -> None:
        self.calls += 1

    def sample(self) -> int:
        return self.calls

    def joules(self, before: int, after: int) -> float:
        return float(after - before)


def test_the_timed_loop_meters_the_timed_calls_only() -> None:
    counter = Ticking()
    meter = energy.Meter("cpu", {"cpu": counter})
    samples = timer.time_loop(counter.work, TimingSettings(warmup=4, min_count=6, min_time_s=0.0, max_time_s=60.0),
                              meter=meter)
    assert len(samples) == 6 and counter.calls == 10
    assert meter.last is not None and meter.last.work_joules == 6.0  # the 4 warm-up calls are not counted
    timer.time_loop(lambda: None, TimingSettings(warmup=0, min_count=3, min_time_s=0.0, max_time_s=60.0),
                    meter=meter)
    assert meter.last is None  # a counter that did not advance measured nothing: no zero is recorded


def test_inference_records_joules_per_image_and_pools_the_rounds(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Ticking()
    monkeypatch.setattr(backends, "load_backend", lambda *args: LinearRuntime(counter))
    monkeypatch.setattr(energy.Meter, "open", classmethod(lambda cls, device: cls(device, {"cpu": counter})))
    profile = profile_settings(PROFILES["smoke"])
    profile["inference"].update(image_size=8, num_classes=10, batch_sizes=[1, 4])
    np.save(tmp_path / REFERENCE_OUTPUTS, check_images(0, 8).reshape(-1, 3 * 8 * 8) @ LinearRuntime(counter).weights)
    ctx = Context(tmp_path, threads=1, device="cpu", seed=0, profile=profile)
    task = Task(key="inference/torch/eager/round0", module=inference.__name__, scenario="inference",
                framework="torch", variant="eager", label="eager",
                params={"round": 0, "threads": None, "fresh": True, "precision": "fp32", "device": "cpu"})
    records = inference.run_task(task, ctx)
    timed = {r["batch_size"]: r for r in records if r["scenario"] == "inference"}
    assert timed[1]["metrics"]["energy_j_per_image"]["value"] == pytest.approx(1.0)  # one joule per call of 1
    assert timed[4]["metrics"]["energy_j_per_image"]["value"] == pytest.approx(0.25)  # of 4 images
    assert timed[4]["metrics"]["energy_j_per_image"]["unit"] == "J"
    assert timed[4]["settings"]["energy"]["items"] == 4 * timed[4]["settings"]["samples"]
    assert "energy_j_per_image" not in next(r for r in records if r["scenario"] == "startup")["metrics"]

    later = inference.run_task(Task(**{**task.__dict__, "key": "inference/torch/round1",
                                       "params": {**task.params, "round": 1, "fresh": False}}), ctx)
    later[0]["metrics"]["energy_j_per_image"]["value"] = 3.0  # a round on a busier socket
    later[0]["settings"]["energy"]["joules"]["cpu"] *= 3.0
    (merged,) = [r for r in inference.merge_rounds([timed[1], *later]) if r["batch_size"] == 1]
    images = [timed[1]["settings"]["samples"], later[0]["settings"]["samples"]]
    assert merged["metrics"]["energy_j_per_image"]["value"] == pytest.approx((images[0] + 3 * images[1])
                                                                               / sum(images))
    assert merged["settings"]["energy"]["items"] == sum(images) and merged["settings"]["energy"]["intervals"] == 2


def history(epochs: int) -> History:
    return History(initial_loss=2.3, epochs=[EpochResult(e, 2.0, 0.3, 1.9, 0.4, 1.0 + e, 64)
                                             for e in range(epochs)])


def test_training_records_the_median_energy_of_the_epochs_after_the_first() -> None:
    profile = profile_settings(PROFILES["smoke"])
    ctx = Context(Path("."), threads=1, device="cpu", seed=0, profile=profile)
    done = history(4)
    done.epoch_energy = [energy.Interval("cpu", {"cpu": j}, 1.0) for j in (90.0, 20.0, 30.0, 25.0)]
    rec = history_record("training", "torch", "eager", ctx, done, 32)
    assert rec["metrics"]["energy_j_per_epoch"] == {"value": 25.0, "unit": "J"}  # the first epoch left out
    assert rec["samples"]["energy_j_per_epoch"] == [90.0, 20.0, 30.0, 25.0]
    assert rec["settings"]["energy"]["joules"] == {"cpu": 165.0} and rec["settings"]["energy"]["items"] == 4
    partly = history(2)
    partly.epoch_energy = [energy.Interval("cpu", {"cpu": 5.0}, 1.0), None]  # one epoch not measured
    for unmeasured in (partly, history(2), {"initial_loss": 2.3, "epochs": [vars(e) for e in history(2).epochs]}):
        rec = history_record("training", "torch", "eager", ctx, unmeasured, 32)
        assert "energy_j_per_epoch" not in rec["metrics"] and "energy" not in rec["settings"]


def test_an_energy_of_zero_is_impossible_in_a_results_file() -> None:
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    run = copy.deepcopy(run)
    run["records"].append(make_record("inference", "torch", "eager", batch_size=1,
                                      metrics={"energy_j_per_image": 0.0}))
    with pytest.raises(Exception, match="energy_j_per_image: 0.0 J is impossible"):
        validate_run(run)


def pages(run: dict, tmp_path: Path) -> dict[str, str]:
    loaded = ResultStore(FIXTURE_RESULTS).load_all()
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_pages(LoadedResults(runs=[run], root=loaded.root), tmp_path)
    return {name: (tmp_path / f"{name}.md").read_text(encoding="utf-8")
            for name in ("inference", "hardware", "training")}


def test_a_run_without_a_counter_says_energy_not_measured_once_with_the_reason(tmp_path: Path) -> None:
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    run = copy.deepcopy(run)
    run["machine"]["energy"] = energy.probe(gpus=False, root=tmp_path / "absent")
    reason = run["machine"]["energy"]["cpu"]["reason"]
    text = {k: html.unescape(v) for k, v in pages(run, tmp_path / "site").items()}
    for page in ("inference", "training"):
        assert text[page].count("Energy not measured") == 1, page
        assert f"Energy not measured: {reason}." in text[page]
        assert "J/image" not in text[page] and "J/epoch" not in text[page]
    assert text["hardware"].count("not measured") == 1
    assert f"| energy, CPU (RAPL) | not measured: {reason} |" in text["hardware"]

    del run["machine"]["energy"]  # a run stored before reportgen read the counters
    text = {k: html.unescape(v) for k, v in pages(run, tmp_path / "old").items()}
    assert text["inference"].count("Energy not measured: this run was stored before reportgen read energy "
                                   "counters.") == 1

    run["machine"]["energy"] = {"cpu": {"reason": "<script>alert(1)</script> | no"}, "gpu": {"reason": "none"}}
    raw = pages(run, tmp_path / "hostile")
    assert all("<script>" not in page for page in raw.values())  # a reason from a results file is escaped
    assert "Energy not measured: <script>alert(1)</script> | no." in html.unescape(raw["inference"])


def test_a_run_with_energy_shows_it_and_says_nothing_is_missing(tmp_path: Path) -> None:
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    run = copy.deepcopy(run)
    run["machine"]["energy"] = {"cpu": {"counter": "RAPL package-0 (intel-rapl:0)"},
                                "gpu": {"reason": "this machine has no NVIDIA GPU"}}
    for rec in run["records"]:
        if rec["status"] != "ok":
            continue
        if rec["scenario"] in ("inference", "threads"):
            images = rec["settings"].get("samples", 1) * rec["batch_size"]
            rec["metrics"]["energy_j_per_image"] = {"value": 0.0123 * rec["batch_size"] ** -0.5, "unit": "J"}
            rec["settings"]["energy"] = energy.settings("cpu", {"cpu": 0.0123 * images}, 1.0, images)
        elif rec["scenario"] in ("training", "training-batch"):
            rec["metrics"]["energy_j_per_epoch"] = {"value": 432.1, "unit": "J"}
            rec["settings"]["energy"] = energy.settings("cpu", {"cpu": 864.2}, 20.0, 2)
    validate_run(run)
    text = {k: html.unescape(v) for k, v in pages(run, tmp_path).items()}
    assert all("not measured" not in page.lower() for page in text.values())
    assert "| GFLOP/s (of roof) | energy (J/image) |" in text["inference"]
    assert "0.0123" in text["inference"]  # batch 1
    assert "energy at the best batch (J/image)" in text["inference"]
    assert "the whole CPU socket, other processes included" in text["inference"]
    assert "energy (J/epoch)" in text["training"] and "432" in text["training"]
    assert "| energy, CPU (RAPL) | measured: RAPL package-0 (intel-rapl:0); RAPL package energy" in text["hardware"]
