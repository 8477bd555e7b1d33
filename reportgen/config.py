"""Run profiles (smoke, quick, standard, full) and user config files, validated key by key."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import catalog
from reportgen.errors import ReportgenError

FRAMEWORKS = catalog.families()  # the --frameworks names
DEVICES = ("auto", "cpu", "cuda")
TASK_KINDS = ("timing", "conversion", "training")  # each kind of task has its own timeout (Profile.timeouts)


def _section(obj: Any) -> str:
    """How a settings object's own errors name its keys: ``timing.`` for TimingSettings, nothing for a Profile.
    Where the object sits deeper in a profile, :func:`_override` puts the full path in its place."""
    return "" if isinstance(obj, Profile) else type(obj).__name__.removesuffix("Settings").lower() + "."


def _require(obj: Any, *, positive: tuple[str, ...] = (), at_least_one: tuple[str, ...] = ()) -> None:
    """One-line errors for settings out of range: durations and rates must be > 0, counts >= 1."""
    section = _section(obj)
    for key in positive:
        value = getattr(obj, key)
        values = value if isinstance(value, tuple) else (value,)
        if any(v is not None and not v > 0 for v in values):
            raise ReportgenError(f"{section}{key} must be greater than 0, got {value!r}")
    for key in at_least_one:
        value = getattr(obj, key)
        values = value if isinstance(value, tuple) else (value,)
        if any(v < 1 for v in values):
            raise ReportgenError(f"{section}{key} must be at least 1, got {value!r}")


@dataclass(frozen=True)
class TimingSettings:
    """How one timed loop runs: warm-up calls excluded, then until both minimums are met (or the max)."""

    warmup: int = 3
    min_count: int = 20
    min_time_s: float = 1.0
    max_time_s: float = 10.0

    def __post_init__(self) -> None:
        _require(self, positive=("max_time_s",), at_least_one=("min_count",))
        if self.min_time_s > self.max_time_s:
            raise ReportgenError(f"timing.min_time_s ({self.min_time_s}) must not exceed timing.max_time_s "
                                 f"({self.max_time_s})")


@dataclass(frozen=True)
class InferenceSettings:
    """The inference scenario: ResNet-18 on random images of one size, in every runtime variant."""

    image_size: int = 224
    num_classes: int = 1000
    rounds: int = 3  # independent, interleaved repeats of each variant's batch-1 latency (the minimum)
    # then more rounds, up to max_rounds (at most rounds, 0 included: none), for the variants whose verdict
    # against the reference is still open and could be decided by max_rounds, while the cost fits extra_rounds_s
    max_rounds: int = 0
    extra_rounds_s: float = 120.0
    # processes timing the reference in each round (its round value: their geometric mean). On small VMs the
    # reference's batch-1 speed differs between processes far more than its rounds' machine state does, and each
    # comparison pairs with it, so a second process narrows every interval; the second one closes the round.
    reference_processes: int = 2
    batch_sizes: tuple[int, ...] = (1, 8, 32, 128)  # throughput sweep on CPU (first round only)
    batch_sizes_cuda: tuple[int, ...] = (1, 8, 32, 128, 256, 512)  # on a GPU; stops at out-of-memory
    thread_counts: tuple[int, ...] = (0, 1)  # batch-1 latency per thread count; 0: the run's default
    timing: TimingSettings = field(default_factory=TimingSettings)  # batch-1 latency
    sweep_timing: TimingSettings = field(default_factory=lambda: TimingSettings(warmup=1, min_count=3,
                                                                                 min_time_s=1.0, max_time_s=10.0))

    def __post_init__(self) -> None:
        _require(self, at_least_one=("image_size", "num_classes", "rounds", "reference_processes", "batch_sizes",
                                     "batch_sizes_cuda"))
        if self.extra_rounds_s < 0:
            raise ReportgenError(f"inference.extra_rounds_s must be 0 or more, got {self.extra_rounds_s!r}")


@dataclass(frozen=True)
class RoofSettings:
    """The machine's GEMM roofs: square GEMM sizes timed per library and precision; the fastest is the roof."""

    # Small squares too: on a 2-core Zen 5 EPYC (2026-12-04) 512² and 768² products ran 2-12% faster than 1024²
    # and larger ones (they stay in cache), and batch-1 convolutions outran a roof of 1024² and up.
    sizes: tuple[int, ...] = (512, 768, 1024, 2048, 3072)  # the fp32 roof at the run's thread count
    extra_sizes: tuple[int, ...] = (512, 768, 1024, 2048)  # the other roofs (one thread, bf16, int8)
    timing: TimingSettings = field(default_factory=lambda: TimingSettings(warmup=2, min_count=5, min_time_s=0.5,
                                                                           max_time_s=5.0))

    def __post_init__(self) -> None:
        _require(self, at_least_one=("sizes", "extra_sizes"))


@dataclass(frozen=True)
class ConversionSettings:
    """Exports and quantization, checked on a ResNet-18 the run trains on the bundled digits (32x32)."""

    train_epochs: int = 3
    train_batch_size: int = 32
    learning_rate: float = 0.01
    calibration_images: int = 64

    def __post_init__(self) -> None:
        _require(self, positive=("learning_rate",),
                 at_least_one=("train_epochs", "train_batch_size", "calibration_images"))


OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "step", "constant")


@dataclass(frozen=True)
class TrainingSettings:
    """The training scenario: one recipe, identical in both frameworks, plus batch sizes and data parallelism."""

    dataset: str = "digits"  # digits, cifar10, synthetic or folder:PATH (the --dataset flag overrides it)
    image_size: int = 32  # the pipelines resize when the data set's images have another size
    max_train_images: int = 0  # 0: every training image; otherwise the first N of the seeded split
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "sgd"  # sgd (with momentum) or adam
    learning_rate: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine, step or constant
    target_top1: float = 0.9  # time_to_target_s: training time until validation top-1 reaches this
    # epoch time per batch size of each framework's reference loop (at batch_size: that loop's own run)
    batch_sizes: tuple[int, ...] = (32, 128)
    sweep_epochs: int = 2  # per batch size; the first epoch is warm-up
    workers: int = 2  # data-parallel processes on a CPU machine (on GPUs: one per GPU)
    scaling_epochs: int = 2  # per worker count; the first epoch is warm-up
    # >0: every variant but each framework's reference loop trains this many epochs (a speed probe: throughput
    # and first-epoch cost) instead of the whole recipe; the references keep it, with time to target
    probe_epochs: int = 0
    # >0: the speed probes and the data-parallel scaling runs train on the first N training images (their rates
    # and compile costs need steps, not convergence); 0: on the same images as the reference loops
    probe_images: int = 0

    def __post_init__(self) -> None:
        for key, value, choices in (("optimizer", self.optimizer, OPTIMIZERS), ("schedule", self.schedule, SCHEDULES)):
            if value not in choices:
                raise ReportgenError(f"training.{key} must be one of {', '.join(choices)}, got {value!r}")
        _require(self, positive=("learning_rate", "target_top1"),
                 at_least_one=("image_size", "epochs", "batch_size", "batch_sizes", "sweep_epochs", "scaling_epochs",
                               "workers"))
        for key in ("probe_epochs", "probe_images"):
            if getattr(self, key) < 0:
                raise ReportgenError(f"training.{key} must be 0 (off) or more, got {getattr(self, key)!r}")


SERVED_VARIANTS = ("fastest", "all")


@dataclass(frozen=True)
class ServingSettings:
    """The serving scenario: MLPerf LoadGen's SingleStream, Offline and Server scenarios against each served variant.

    ``bound_ms`` is the latency bound of the Server scenario: the capacity is the highest Poisson rate of requests
    whose 99th percentile latency stays within it. ``variants``: ``fastest`` serves each runtime's variant with the
    lowest batch-1 median of this run (every variant of the runtime where none was timed); ``all`` serves every one.
    """

    variants: str = "fastest"
    bound_ms: float = 100.0  # a request answered within 100 ms feels immediate to a person: a web service's budget
    single_stream_s: float = 1.0  # each LoadGen run lasts at least this long and at least min_queries queries
    offline_s: float = 1.0
    probe_s: float = 2.0  # one Server run of the capacity search
    probes: int = 4  # Server runs of the bisection
    min_queries: int = 64  # per run: LoadGen's early stopping needs 64 queries for a p90
    offline_batch: int = 8  # Offline's batch where the run's sweep found none (the sweep's best batch otherwise)
    warmup: int = 3  # calls at batch 1 (and one at the Offline batch) before LoadGen starts

    def __post_init__(self) -> None:
        if self.variants not in SERVED_VARIANTS:
            raise ReportgenError(f"serving.variants must be one of {', '.join(SERVED_VARIANTS)}, got "
                                 f"{self.variants!r}")
        _require(self, positive=("bound_ms", "single_stream_s", "offline_s", "probe_s"),
                 at_least_one=("probes", "min_queries", "offline_batch"))


@dataclass(frozen=True)
class Timeouts:
    """Seconds one measuring subprocess may run, per kind of task; unset: the profile's ``timeout_s``.

    Lower ``timing`` to catch a hung runtime quickly without cutting short a conversion or a training.
    """

    timing: float | None = None  # the GEMM roof, inference latency, sweep, threads and cold start
    conversion: float | None = None  # training the reference model, exports and quantization
    training: float | None = None  # the training scenario (recipe, batch sizes, data parallelism)

    def __post_init__(self) -> None:
        _require(self, positive=TASK_KINDS)


@dataclass(frozen=True)
class Profile:
    """Everything a run needs to know about its size. Values can be overridden by a TOML config file."""

    name: str
    description: str
    threads: int = 0  # 0: one per physical core
    pin_cpus: tuple[int, ...] = ()  # CPU ids every measuring process is pinned to (Linux); empty: no pinning
    timeout_s: float = 600.0  # per measuring subprocess, unless timeouts sets its kind
    timeouts: Timeouts = field(default_factory=Timeouts)
    # Tasks run side by side. Above 1 every task shares the CPU with others, so its timings are not comparable
    # (its records say so and no page reads them as a verdict): only for proving that the code paths work.
    tasks_at_once: int = 1
    # Conversions (exports, quantization: no timed loop) that may run side by side, with each other only: a
    # timed task still runs alone. Their conversion times are then not comparable with a one-at-a-time run's.
    conversions_at_once: int = 1
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    roof: RoofSettings = field(default_factory=RoofSettings)
    conversion: ConversionSettings = field(default_factory=ConversionSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    serving: ServingSettings = field(default_factory=ServingSettings)
    # families (--frameworks names) this profile measures only when --frameworks names them (or says all): every
    # page of its runs names them as not measured, and says how to measure them
    leaves_out: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(self, positive=("timeout_s",), at_least_one=("tasks_at_once", "conversions_at_once"))
        if self.threads < 0:
            raise ReportgenError(f"threads must be 0 (one per physical core) or more, got {self.threads!r}")
        unknown = [f for f in self.leaves_out if f not in FRAMEWORKS]
        if unknown:
            raise ReportgenError(f"leaves_out: unknown framework {unknown[0]!r}; choose from: {', '.join(FRAMEWORKS)}")

    @property
    def frameworks(self) -> list[str]:
        """The families a run of this profile measures when ``--frameworks`` is not given."""
        return [f for f in FRAMEWORKS if f not in self.leaves_out]


def left_out(profile: dict[str, Any], frameworks: list[str]) -> list[tuple[str, str]]:
    """Each catalog family a run did not measure (a stored profile and the run's ``--frameworks``), with why:
    ``"profile"`` where its profile leaves the family out unless named, ``"option"`` where ``--frameworks`` did not
    name it."""
    return [(f, "profile" if f in profile.get("leaves_out", ()) else "option") for f in FRAMEWORKS
            if f not in frameworks]


def tasks_at_once(profile: dict[str, Any]) -> int:
    """How many tasks a stored profile runs side by side (runs stored before the setting: one)."""
    return profile.get("tasks_at_once", 1)


def places(profile: dict[str, Any], kind: str) -> int:
    """How many tasks, one of ``kind`` (:data:`TASK_KINDS`) among them, may run at once under a stored profile:
    ``tasks_at_once`` for every kind, or ``conversions_at_once`` for conversions beside each other."""
    conversions = profile.get("conversions_at_once", 1) if kind == "conversion" else 1
    return max(tasks_at_once(profile), conversions)


def task_threads(profile: dict[str, Any], kind: str, threads: int) -> int:
    """Threads one task of ``kind`` runs with in a run of ``threads``: a conversion or a training that may share
    the CPU gets its share (``threads`` / :func:`places`, at least 1); a timed task keeps the run's count, which
    is what it measures (its roofs, its 1-thread runs). Two trainings at 2 threads each on 2 cores ran up to 15x
    slower than alone (PyTorch autocast bf16 beside Keras XLA, 2-core Xeon, 2026-12-06: 26 s against 4.8), their
    OpenMP threads waiting at every small operation for one that was descheduled; at 1 thread each, 5.5 s."""
    return threads if kind == "timing" else max(1, threads // places(profile, kind))


def reference_processes(profile: dict[str, Any]) -> int:
    """How many processes time the reference in each round of a stored profile (runs stored before: one)."""
    return profile["inference"].get("reference_processes", 1)


def roof_settings(profile: dict[str, Any]) -> RoofSettings:
    """The GEMM roof settings of a stored profile (runs stored before the setting: the defaults)."""
    stored = profile.get("roof")
    if not stored:
        return RoofSettings()
    return RoofSettings(sizes=tuple(stored["sizes"]), extra_sizes=tuple(stored["extra_sizes"]),
                        timing=TimingSettings(**stored["timing"]))


def serving_settings(profile: dict[str, Any]) -> ServingSettings:
    """The serving settings of a stored profile (runs stored before the scenario: the defaults)."""
    return ServingSettings(**profile["serving"]) if profile.get("serving") else ServingSettings()


def task_timeout(profile: dict[str, Any], kind: str) -> float:
    """Seconds a task of ``kind`` may run under a stored profile (runs stored before per-kind timeouts too)."""
    return (profile.get("timeouts") or {}).get(kind) or profile["timeout_s"]


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="Every scenario at minimal size, two tasks at a time: proves each code path works (tests, CI); "
                    "its timings are not for reading. Minutes.",
        # training 600 s: side by side on a slow 2-core host, TensorFlow's 2-worker scaling outran its share of 300 s
        timeout_s=300.0, timeouts=Timeouts(training=600.0), tasks_at_once=2,
        inference=InferenceSettings(
            rounds=1, batch_sizes=(1, 2), batch_sizes_cuda=(1, 2), thread_counts=(0, 1),
            timing=TimingSettings(warmup=1, min_count=5, min_time_s=0.2, max_time_s=3.0),
            sweep_timing=TimingSettings(warmup=1, min_count=2, min_time_s=0.0, max_time_s=2.0)),
        roof=RoofSettings(sizes=(256, 512), extra_sizes=(256,),
                          timing=TimingSettings(warmup=1, min_count=3, min_time_s=0.05, max_time_s=1.0)),
        conversion=ConversionSettings(train_epochs=2, calibration_images=32),
        # the compile/XLA variants probe 1 of the 2 epochs (quick's code path); the sweep and scaling time one epoch
        training=TrainingSettings(max_train_images=256, epochs=2, target_top1=0.5, sweep_epochs=1, scaling_epochs=1,
                                  probe_epochs=1),
        # a bound no smoke timing misses, so that the Server search runs in the tests however loaded the machine
        serving=ServingSettings(bound_ms=2000.0, single_stream_s=0.2, offline_s=0.2, probe_s=0.3, probes=2,
                                min_queries=8, warmup=1),
    ),
    "quick": Profile(
        name="quick",
        description="The default: a trustworthy first look on a laptop or a small CPU server.",
        # 3072² ran within 1% of 2048² on 2 cores (2026-12-04): not worth its seconds here
        roof=RoofSettings(sizes=(512, 768, 1024, 2048), extra_sizes=(512, 768, 1024)),
        # the eight conversion tasks two at a time: 70 s instead of 113 on a 2-core Xeon (2026-12-05); at 1 thread
        # each (config.task_threads) 77 s against 96 s at 2 threads each, one at a time 137 to 158 s (2026-12-06)
        conversions_at_once=2,
        # Rounds, not longer loops, narrow an interval: in quick runs on a 2-core EPYC (2026-12-04) the
        # median of one process's batch-1 calls had a standard error of 0.1-2% (bootstrap; about the same from
        # half the calls), while the medians of a variant's processes spread 3-27%. So each process times
        # 0.5 s, and the time that saves buys a sixth round for the verdicts still open.
        inference=InferenceSettings(
            rounds=3, max_rounds=6, timing=TimingSettings(warmup=3, min_count=10, min_time_s=0.5, max_time_s=10.0),
            sweep_timing=TimingSettings(warmup=1, min_count=2, min_time_s=1.0, max_time_s=8.0)),
        conversion=ConversionSettings(train_epochs=2),
        training=TrainingSettings(probe_epochs=2, probe_images=512),
        # each runtime's fastest variant: 4 Server runs of 2 s after 1 s of SingleStream and 1 s of Offline (within
        # serving's 90 s of a quick run on 2 cores, mostly LoadGen; a slow variant's Server run lasts 1.5x probe_s
        # to reach 64 queries, so probes = 3 is the trim where a host needs one)
        serving=ServingSettings(),
        # every Keras process imports Keras for seconds and every batch-1 round is a process of its own: on 2 cores
        # these two families cost quick several times the 90 s allowed them (docs/usage.md, "Leaving a framework
        # out", has the figures); `--frameworks all` measures them
        leaves_out=("keras-jax", "keras-torch"),
    ),
    "standard": Profile(
        name="standard",
        description="Longer timed loops for a workstation or a GPU box.",
        timeout_s=1800.0,
        inference=InferenceSettings(
            rounds=5, max_rounds=8, extra_rounds_s=600.0,
            timing=TimingSettings(warmup=10, min_count=100, min_time_s=5.0, max_time_s=30.0),
            sweep_timing=TimingSettings(warmup=2, min_count=5, min_time_s=3.0, max_time_s=30.0)),
        training=TrainingSettings(dataset="cifar10", epochs=15, batch_size=128, learning_rate=0.05,
                                  target_top1=0.8, scaling_epochs=3),
        serving=ServingSettings(variants="all", single_stream_s=5.0, offline_s=5.0, probe_s=10.0, probes=6,
                                min_queries=256),
    ),
    "full": Profile(
        name="full",
        description="Everything at full size, for GPU machines and publication.",
        timeout_s=3600.0,
        inference=InferenceSettings(
            rounds=5, max_rounds=10, extra_rounds_s=1800.0,
            timing=TimingSettings(warmup=20, min_count=300, min_time_s=10.0, max_time_s=60.0),
            sweep_timing=TimingSettings(warmup=3, min_count=10, min_time_s=5.0, max_time_s=60.0)),
        training=TrainingSettings(dataset="cifar10", image_size=224, epochs=15, batch_size=128, learning_rate=0.05,
                                  target_top1=0.8, batch_sizes=(32, 128, 256), scaling_epochs=3),
        serving=ServingSettings(variants="all", single_stream_s=10.0, offline_s=10.0, probe_s=30.0, probes=7,
                                min_queries=1024),
    ),
}

DEFAULT_PROFILE = "quick"


def get_profile(name: str) -> Profile:
    """The named built-in profile, or a one-line error listing the valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ReportgenError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    """A config file's TOML, or a one-line error: unreadable, not UTF-8, not TOML, or nested too deep."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportgenError(f"config file {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ReportgenError(f"config file {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReportgenError(f"config file {path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ReportgenError(f"config file {path}: nested too deeply to read") from None


def load_config(path: Path, profile: Profile) -> Profile:
    """Apply a TOML config file's values on top of ``profile``; typos and wrong types name the key."""
    data = _read_toml(path)
    data.pop("profile", None)  # read by the CLI before the profile is chosen
    return _override(profile, data, f"config file {path}", "")


def config_profile_name(path: Path) -> str | None:
    """The ``profile = "..."`` key of a config file, if it names one."""
    try:
        value = _read_toml(path).get("profile")
    except ReportgenError:
        return None  # load_config reports these with the full message
    return value if isinstance(value, str) else None


def _override(obj: Any, data: dict[str, Any], source: str, prefix: str) -> Any:
    hints = typing.get_type_hints(type(obj))
    fields = {f.name for f in dataclasses.fields(obj)} - {"name", "description"}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            valid = ", ".join(sorted(prefix + f for f in fields))
            raise ReportgenError(f"{source}: unknown key {dotted!r} (valid keys: {valid})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ReportgenError(f"{source}: {dotted!r} must be a table of settings")
            changes[key] = _override(current, value, source, dotted + ".")
        else:
            changes[key] = _coerce(value, hints[key], source, dotted)
    try:
        return dataclasses.replace(obj, **changes)
    except ReportgenError as exc:  # a value of the right type but out of range (checked by the settings)
        own = _section(obj)  # the settings name their keys by class (timing.); the path is inference.sweep_timing.
        message = str(exc).replace(own, prefix) if prefix and own else str(exc)
        raise ReportgenError(f"{source}: {message}") from None


def _coerce(value: Any, hint: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list) or (not value and key not in ("pin_cpus", "leaves_out")):
            raise ReportgenError(f"{source}: {key!r} must be a non-empty list of {item.__name__}")
        return tuple(_coerce(v, item, source, key) for v in value)
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise ReportgenError(f"{source}: {key!r} must be {hint.__name__}, got {type(value).__name__} {value!r}")
    if hint is float and not math.isfinite(value):
        raise ReportgenError(f"{source}: {key!r} must be a finite number, got {value!r}")
    if hint in (int, float) and value < 0:
        raise ReportgenError(f"{source}: {key!r} must not be negative, got {value!r}")
    return value


def profile_settings(profile: Profile) -> dict[str, Any]:
    """The profile as plain JSON-able data, stored with every run."""
    return dataclasses.asdict(profile)
