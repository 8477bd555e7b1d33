"""Energy of a measured interval, from the machine's own cumulative counters; never an estimate.

Two counters are read, each before and after the interval:

- **RAPL** (the CPU): the Linux powercap tree (``/sys/class/powercap``). Counted: the top-level *package* zones
  (``intel-rapl:N`` named ``package-N``, or ``package-N-die-M`` on multi-die parts; AMD Zen CPUs show theirs
  under the same ``intel-rapl`` name, and an ``amd-rapl:N`` zone is read the same way), summed over sockets. Not
  counted: their subzones (``core``, ``uncore``, ``dram``: ``core`` and ``uncore`` are inside the package, and
  ``dram`` is not the CPU), ``psys`` (the whole platform, package included) and the ``intel-rapl-mmio`` copy of
  the package counter, so nothing is counted twice. A package counter covers the **whole socket**: every
  process on it, not only the measured one. ``energy_uj`` wraps at ``max_energy_range_uj``; one wrap per
  interval is corrected (a package's range lasts many minutes at full power; the intervals here last seconds).
  Since the 2020 fix for CVE-2020-8694 (Platypus) ``energy_uj`` is readable by root only on most kernels.
- **NVML** (an NVIDIA GPU): ``nvmlDeviceGetTotalEnergyConsumption`` through ``pynvml`` (the ``nvidia-ml-py``
  distribution), in mJ since the driver loaded, Volta or newer. It covers the **whole GPU board**, any other
  process on it included. It updates every 20-100 ms, so a short interval reads coarsely.

Only the device that did the work counts (:data:`COUNTER`): a CPU measurement's figure is RAPL's, a CUDA
measurement's is NVML's (the CPU package is recorded beside it where readable, never added). Where the device's
counter cannot be read, nothing is measured and :func:`probe` says why, once per run (``machine["energy"]``).
Both counters take injectable roots, readers and NVML modules, so tests feed them fake counters.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reportgen.errors import failure_reason
from reportgen.store.records import Setting

POWERCAP = Path("/sys/class/powercap")
COUNTER = {"cpu": "cpu", "cuda": "gpu"}  # a measurement's device -> the counter of the device that did the work
COUNTER_NAMES = {"cpu": "CPU (RAPL)", "gpu": "GPU (NVML)"}
METHOD = {
    "cpu": "RAPL package energy (/sys/class/powercap, package zones summed): the whole CPU socket, other "
           "processes included; DRAM not counted",
    "gpu": "NVML total energy counter (nvmlDeviceGetTotalEnergyConsumption): the whole GPU board, other "
           "processes on it included",
}
_ZONE = re.compile(r"[a-z]+-rapl:[0-9]+")  # top level only: intel-rapl:0, not intel-rapl:0:1 nor intel-rapl-mmio:0


class Unreadable(Exception):
    """A counter that cannot be read here; the message is the reason, one line."""


def _read_text(path: Path) -> str:
    return path.read_text(encoding="ascii")


class Counter(Protocol):
    """A cumulative energy counter."""

    what: str  # which counter, e.g. "RAPL package-0 (intel-rapl:0)"

    def sample(self) -> Any:
        """The counter's raw value now."""

    def joules(self, before: Any, after: Any) -> float:
        """Joules between two samples; raises :class:`Unreadable` where they cannot be told apart."""


class Rapl:
    """The package zones of the powercap tree under ``root`` (see the module's docstring for what counts)."""

    def __init__(self, root: Path = POWERCAP, read: Callable[[Path], str] = _read_text) -> None:
        self.read = read
        if not root.is_dir():
            raise Unreadable(f"no RAPL counters: {root} does not exist (no powercap driver; virtual machines "
                             "rarely expose one)")
        zones = sorted((p for p in root.iterdir() if _ZONE.fullmatch(p.name)), key=lambda p: p.name)
        names = {zone: self._name(zone) for zone in zones}
        self.zones = [zone for zone in zones if names[zone].startswith("package")]
        if not self.zones:
            found = ", ".join(f"{names[z]} ({z.name})" for z in zones) or "none"
            raise Unreadable(f"no RAPL package zone under {root} (top-level zones: {found})")
        self.what = "RAPL " + " + ".join(f"{names[z]} ({z.name})" for z in self.zones)
        try:
            self.sample()
        except PermissionError:
            raise Unreadable(f"RAPL counters present ({self.what}) but not readable by this user (root only "
                             "since the 2020 fix for CVE-2020-8694)") from None
        except (OSError, ValueError) as exc:
            raise Unreadable(f"RAPL counters present ({self.what}) but unreadable: {exc}") from None
        self.ranges = [self._number(zone / "max_energy_range_uj") for zone in self.zones]

    def _name(self, zone: Path) -> str:
        try:
            return self.read(zone / "name").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def _number(self, path: Path) -> int | None:
        try:
            return int(self.read(path).strip())
        except (OSError, ValueError):
            return None

    def sample(self) -> tuple[int, ...]:
        """The counters' readings now, in microjoules, one per zone."""
        return tuple(int(self.read(zone / "energy_uj").strip()) for zone in self.zones)

    def joules(self, before: tuple[int, ...], after: tuple[int, ...]) -> float:
        """Joules between two readings, counting each zone's wrap-around once."""
        total = 0
        for zone, start, end, span in zip(self.zones, before, after, self.ranges, strict=True):
            delta = end - start
            if delta < 0:  # the counter wrapped once at max_energy_range_uj
                if not span:
                    raise Unreadable(f"RAPL {zone.name} wrapped and its max_energy_range_uj is unknown")
                delta += span
            total += delta
        return total / 1e6


class Nvml:
    """The energy counter of one NVIDIA GPU through ``pynvml`` (``nvml``: the module, or a fake in tests).

    ``index`` is NVML's index of the GPU; by default the first one ``CUDA_VISIBLE_DEVICES`` names (a UUID or an
    index), else 0: the GPU a measuring process uses as ``cuda:0`` (NVML counts in PCI order, so an index assumes
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` where the machine has several GPUs).
    """

    def __init__(self, nvml: Any = None, index: int | str | None = None) -> None:
        if nvml is None:
            try:
                import pynvml as nvml  # the nvidia-ml-py distribution
            except ImportError:
                raise Unreadable("no NVML binding: nvidia-ml-py (pynvml) is not installed in this "
                                 "environment") from None
        self.nvml = nvml
        try:
            nvml.nvmlInit()
            chosen = _visible_gpu() if index is None else index
            if isinstance(chosen, str):
                self.handle = nvml.nvmlDeviceGetHandleByUUID(chosen)
            else:
                self.handle = nvml.nvmlDeviceGetHandleByIndex(chosen)
            name = nvml.nvmlDeviceGetName(self.handle)
        except Exception as exc:  # pynvml raises NVMLError subclasses: no driver, no such GPU
            raise Unreadable(f"NVML unavailable ({failure_reason(exc)})") from None
        name = name.decode() if isinstance(name, bytes) else str(name)
        self.what = f"NVML {name} (GPU {chosen})"
        try:
            self.sample()
        except Exception as exc:  # NVMLError_NotSupported before Volta
            raise Unreadable(f"the {name} has no NVML energy counter (Volta or newer has one): "
                             f"{failure_reason(exc)}") from None

    def sample(self) -> int:
        """The GPU's energy counter now, in millijoules."""
        return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))  # mJ

    def joules(self, before: int, after: int) -> float:
        """Joules between two readings (a counter that went back is unreadable)."""
        if after < before:
            raise Unreadable("the NVML energy counter went back (the driver was reloaded)")
        return (after - before) / 1e3


def _visible_gpu() -> int | str:
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    if first.isdigit():
        return int(first)
    return first if first.startswith(("GPU-", "MIG-")) else 0


def open_counter(name: str, root: Path = POWERCAP, read: Callable[[Path], str] = _read_text,
                 nvml: Any = None) -> Counter | str:
    """The counter ``name`` (``cpu``: RAPL under ``root``; ``gpu``: NVML), or the reason it cannot be read."""
    try:
        return Rapl(root, read) if name == "cpu" else Nvml(nvml)
    except Unreadable as exc:
        return str(exc)


def probe(gpus: bool, root: Path = POWERCAP, read: Callable[[Path], str] = _read_text,
          nvml: Any = None) -> dict[str, dict[str, str]]:
    """``{"cpu": {...}, "gpu": {...}}``, each ``{"counter": what}`` where it can be read, else ``{"reason": why}``
    (``gpus``: whether the machine has an NVIDIA GPU at all). A run keeps this once, in its machine facts."""
    found: dict[str, dict[str, str]] = {}
    for name in ("cpu", "gpu"):
        if name == "gpu" and not gpus:
            found[name] = {"reason": "this machine has no NVIDIA GPU"}
            continue
        counter = open_counter(name, root, read, nvml)
        found[name] = {"reason": counter} if isinstance(counter, str) else {"counter": counter.what}
    return found


@dataclass(frozen=True)
class Interval:
    """What the counters read over one interval: joules per readable counter, and how long it lasted."""

    counter: str  # the counter of the device that did the work: "cpu" or "gpu"
    joules: dict[str, float]
    seconds: float

    @property
    def work_joules(self) -> float:
        """Joules of the work itself: the counter's reading, idle not subtracted."""
        return self.joules[self.counter]


@dataclass
class Meter:
    """Energy between marks, for a measurement on ``device`` (``cpu`` or ``cuda``).

    :meth:`begin` marks the start; each :meth:`lap` returns the :class:`Interval` since the previous mark (also
    kept as ``last``) and marks again; None where the device's counter cannot be read (``reason`` says why) or
    did not advance. Reading never raises: a counter that fails mid-run ends the meter, not the measurement.
    """

    device: str
    counters: dict[str, Counter] = field(default_factory=dict)
    reason: str | None = None
    last: Interval | None = None
    _mark: tuple[float, dict[str, Any]] | None = None

    @classmethod
    def open(cls, device: str, root: Path = POWERCAP, read: Callable[[Path], str] = _read_text,
             nvml: Any = None) -> Meter:
        """The meter of ``device``: its own counter, and on a GPU also the CPU package where readable."""
        work = COUNTER.get(device)
        if work is None:
            return cls(device, reason=f"no energy counter for device {device}")
        names = [work] + (["cpu"] if work == "gpu" else [])
        opened = {name: open_counter(name, root, read, nvml) for name in names}
        if isinstance(opened[work], str):
            return cls(device, reason=str(opened[work]))
        return cls(device, {name: c for name, c in opened.items() if not isinstance(c, str)})

    def begin(self) -> None:
        """Mark the start of an interval."""
        self._mark = self._sample()

    def lap(self) -> Interval | None:
        """The interval since the last mark (None where not measured), and a new mark."""
        start, self._mark = self._mark, self._sample()
        self.last = None
        if start is None or self._mark is None:
            return None
        work = COUNTER[self.device]
        joules = {}
        for name, counter in self.counters.items():
            try:
                joules[name] = counter.joules(start[1][name], self._mark[1][name])
            except Unreadable as exc:
                if name == work:
                    self.reason = str(exc)
        if not joules.get(work, 0.0) > 0:  # absent, or the counter did not tick: nothing measured
            return None
        self.last = Interval(work, {k: v for k, v in joules.items() if v > 0}, self._mark[0] - start[0])
        return self.last

    def _sample(self) -> tuple[float, dict[str, Any]] | None:
        if not self.counters:
            return None
        try:
            return time.perf_counter(), {name: counter.sample() for name, counter in self.counters.items()}
        except Exception as exc:  # a counter that vanished or failed: stop measuring energy, keep the timing
            self.reason = f"energy counter failed during the run: {failure_reason(exc)}"
            self.counters = {}
            return None


def settings(counter: str, joules: dict[str, float], seconds: float, items: int) -> dict[str, Any]:
    """The ``energy`` settings of a record: which counter, joules per readable counter over ``items`` items
    (images or epochs) in ``seconds``, and what a counter counts."""
    return {"counter": counter, "joules": {k: round(v, 4) for k, v in joules.items()},
            "seconds": round(seconds, 4), "items": items, "method": METHOD[counter]}


def per_image(interval: Interval | None, images: int) -> tuple[dict[str, float], dict[str, Any]]:
    """``({"energy_j_per_image": J}, {"energy": settings})`` for a timed loop over ``images`` images; both empty
    where nothing was measured."""
    if interval is None or images <= 0:
        return {}, {}
    return ({"energy_j_per_image": interval.work_joules / images},
            {"energy": settings(interval.counter, interval.joules, interval.seconds, images)})


def pooled(group: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, Any]]:
    """Energy per image over several records' intervals (the rounds of one variant): their joules summed over
    their images summed; both empty where none of them measured any."""
    parts = [r["settings"][Setting.ENERGY] for r in group if "energy_j_per_image" in r["metrics"]
             and Setting.ENERGY in r["settings"]]
    if not parts:
        return {}, {}
    counter = parts[0]["counter"]
    joules: dict[str, float] = {}
    for part in parts:
        for name, value in part["joules"].items():
            joules[name] = joules.get(name, 0.0) + value
    images = sum(p["items"] for p in parts)
    return ({"energy_j_per_image": joules[counter] / images},
            {"energy": {**settings(counter, joules, sum(p["seconds"] for p in parts), images),
                        "intervals": len(parts)}})


def per_epoch(laps: list[Interval | None] | None) -> tuple[dict[str, float], dict[str, list[float]],
                                                           dict[str, Any]]:
    """Metrics, samples and settings of a training's energy from one interval per epoch (the end of one epoch to
    the end of the next: its training steps and its validation; the first also the set-up and warm-up): the
    median over the epochs after the first, as ``epoch_time_s``. All empty unless every epoch was measured."""
    if not laps or any(lap is None for lap in laps):
        return {}, {}, {}
    measured = [lap for lap in laps if lap is not None]
    per = [lap.work_joules for lap in measured]
    joules: dict[str, float] = {}
    for lap in measured:
        for name, value in lap.joules.items():
            joules[name] = joules.get(name, 0.0) + value
    steady = per[1:] or per
    return ({"energy_j_per_epoch": statistics.median(steady)}, {"energy_j_per_epoch": per},
            {"energy": settings(measured[0].counter, joules, sum(lap.seconds for lap in measured), len(per))})
