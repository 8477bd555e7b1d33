"""The results schema and the store: one validated JSON file per run under ``results/<machine-id>/``.

This module is the only place that knows the shape of a results file. Everything that measures writes
records through :func:`make_record` and :class:`ResultStore`; everything that renders reads through
:meth:`ResultStore.load_all`.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from reportgen.errors import ReportgenError
from reportgen.store.paths import write_atomic
from reportgen.store.records import settings_schema

SCHEMA_VERSION = 2  # 2: every settings key declared in reportgen.store.records (version 1 files read as they are)

STATUSES = ("ok", "failed", "skipped")
RUN_STATES = ("complete", "incomplete", "failed")  # failed: finished without one successful measurement
MEASUREMENTS = ("inference", "training")  # what a run exists for: without one ok record of these it failed


@dataclass(frozen=True)
class Bounds:
    """The values a figure can physically take; ``open_low``: ``low`` itself is impossible (a zero time)."""

    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False

    def allows(self, value: float) -> bool:
        """Whether ``value`` is finite and within these bounds."""
        return _finite(value) and (value > self.low if self.open_low else value >= self.low) and value <= self.high

    def __str__(self) -> str:
        low = [f"{'>' if self.open_low else '>='} {self.low:g}"] if self.low > -math.inf else []
        return " and ".join(["finite", *low, *([f"<= {self.high:g}"] if self.high < math.inf else [])])


POSITIVE = Bounds(0.0, open_low=True)  # a duration, latency, rate, size or count: zero is impossible
NON_NEGATIVE = Bounds(0.0)  # a spread, a difference, a loss, memory a device may not have used
FRACTION = Bounds(0.0, 1.0)
CHANGE = Bounds(-1.0, 1.0)  # the change of a fraction


@dataclass(frozen=True)
class Metric:
    """A metric name's unit, meaning, which direction is better, and the values it can take."""

    unit: str
    description: str
    better: str = "lower"  # "lower", "higher" or "" (neither)
    bounds: Bounds = POSITIVE


METRICS: dict[str, Metric] = {
    # model
    "params_trainable": Metric("count", "Trainable parameters", ""),
    "params_total": Metric("count", "All parameters, including BatchNorm moving statistics", ""),
    "macs": Metric("MAC", "Multiply-accumulates per image, counted from the graph", ""),
    "model_size_mb": Metric("MB", "Size of the saved model file"),
    # parity
    "max_abs_diff": Metric("abs", "Largest absolute logit difference from the PyTorch reference",
                           bounds=NON_NEGATIVE),
    "top1_agreement": Metric("fraction", "Share of images whose top-1 class matches the reference", "higher",
                             FRACTION),
    # inference
    "latency_ms_p50": Metric("ms", "Median latency of one call"),
    "latency_ms_p90": Metric("ms", "90th percentile latency of one call"),
    "latency_ms_p99": Metric("ms", "99th percentile latency of one call"),
    "latency_ms_mean": Metric("ms", "Mean latency of one call"),
    "latency_ms_iqr": Metric("ms", "Interquartile range of the latency samples", bounds=NON_NEGATIVE),
    "throughput_ips": Metric("img/s", "Images per second: images / total timed seconds", "higher"),
    "peak_rss_mb": Metric("MB", "Peak resident memory of the measuring process (ru_maxrss)"),
    "peak_gpu_mem_mb": Metric("MB", "Peak GPU memory allocated by the measuring process", bounds=NON_NEGATIVE),
    "runtime_peak_mb": Metric("MB", "Peak resident memory of the runtime and its model: the measuring process's "
                                    "peak after the runtime was imported, above the bare process before it",
                              bounds=NON_NEGATIVE),
    "cold_start_s": Metric("s", "Fresh process to first result: import + load + first call"),
    "import_s": Metric("s", "Importing the framework in a fresh process"),
    "load_s": Metric("s", "Building or loading the model"),
    "first_call_s": Metric("s", "The first inference call (tracing, compilation, allocation)"),
    "gflops_per_s": Metric("GFLOP/s", "Achieved GFLOP/s: images/s x 2 x the model's multiply-adds per image at "
                                      "the run's image size (ResNet-18 at 224x224: 3.64 GFLOP)", "higher"),
    "roof_fraction": Metric("fraction", "Achieved GFLOP/s / measured GEMM roof", "higher"),
    "energy_j_per_image": Metric("J", "Energy per image over the timed calls, from the counter of the device that "
                                      "did the work (RAPL package: the whole CPU socket; NVML: the whole GPU)"),
    # serving (MLPerf LoadGen; its latencies are latency_ms_p50/p90/p99 of the LoadGen run)
    "serving_capacity_qps": Metric("queries/s", "Highest Poisson rate of batch-1 requests (LoadGen Server) whose p99 "
                                                "latency stayed within the profile's bound; 0: no rate tried did",
                                   "higher", NON_NEGATIVE),
    "offline_throughput_ips": Metric("img/s", "Images per second when LoadGen's Offline scenario hands every sample "
                                              "over at once (served in batches)", "higher"),
    # conversion
    "convert_s": Metric("s", "Time to export or convert the model"),
    "convert_ok": Metric("bool", "1 when the conversion succeeded, 0 when it failed", "higher", FRACTION),
    "top1_delta": Metric("fraction", "Change in top-1 accuracy after export or quantization", "higher", CHANGE),
    # training
    "train_throughput_ips": Metric("img/s", "Steady-state training images per second", "higher"),
    "epoch_time_s": Metric("s", "Wall time of one epoch"),
    "final_top1": Metric("fraction", "Validation top-1 accuracy after the last epoch", "higher", FRACTION),
    "final_loss": Metric("loss", "Validation cross-entropy after the last epoch", bounds=NON_NEGATIVE),
    "time_to_target_s": Metric("s", "Training time until validation top-1 first reaches the profile's target"),
    "first_epoch_s": Metric("s", "Wall time of the first epoch: tracing, compilation and warm-up included"),
    "initial_loss": Metric("loss", "Cross-entropy of the very first batch, before any update", "", NON_NEGATIVE),
    "scaling_efficiency": Metric("fraction", "Throughput with N workers / (N x throughput with 1 worker)", "higher"),
    "energy_j_per_epoch": Metric("J", "Median energy of an epoch after the first (training steps and validation), "
                                      "from the counter of the device that trained (RAPL package or NVML GPU)"),
    # machine
    "gemm_gflops": Metric("GFLOP/s", "Measured single-precision GEMM roof", "higher"),
}
# Raw samples that are not a metric's own (those, e.g. ``epoch_time_s``, take the metric's bounds); other names:
# any finite value
SAMPLE_BOUNDS: dict[str, Bounds] = {
    "latency_ms": POSITIVE, "seconds": POSITIVE, "elapsed_s": POSITIVE, "train_loss": NON_NEGATIVE,
    "val_loss": NON_NEGATIVE, "train_accuracy": FRACTION, "val_top1": FRACTION,
}



def _bounds_text(bounds: dict[str, Bounds]) -> str:
    """Names grouped by their bounds, as the schema describes them."""
    groups: dict[Bounds, list[str]] = {}
    for name, bound in bounds.items():
        groups.setdefault(bound, []).append(name)
    return "; ".join(f"{bound}: {', '.join(names)}" for bound, names in groups.items())


_RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["scenario", "framework", "variant", "device", "precision", "batch_size", "status",
                 "reason", "metrics", "samples", "settings"],
    "additionalProperties": False,
    "properties": {
        "scenario": {"type": "string", "minLength": 1, "description": "inference, training, parity, ..."},
        "framework": {"type": "string", "minLength": 1, "description": "torch, tensorflow, onnxruntime, ..."},
        "variant": {"type": "string", "minLength": 1, "description": "eager, graph, xla, compile, int8, ..."},
        "device": {"type": "string", "enum": ["cpu", "cuda", "browser-wasm", "browser-webgpu"],
                   "description": "cpu, cuda; browser-wasm or browser-webgpu: ONNX Runtime Web in headless Chromium"},
        "precision": {"type": "string", "description": "fp32, fp16, bf16, int8"},
        "batch_size": {"type": ["integer", "null"], "minimum": 1},
        "status": {"enum": list(STATUSES)},
        "reason": {"type": ["string", "null"], "description": "Why a record failed or was skipped"},
        "metrics": {
            "type": "object",
            "description": "metric name -> {value, unit}; names and units come from the metric table",
            "additionalProperties": {
                "type": "object",
                "required": ["value", "unit"],
                "additionalProperties": False,
                "properties": {
                    "value": {"type": "number", "description": "within its metric's bounds: "
                              + _bounds_text({name: metric.bounds for name, metric in METRICS.items()})},
                    "unit": {"type": "string"},
                },
            },
        },
        "samples": {
            "type": "object",
            "description": "raw per-iteration samples, e.g. latency_ms -> [float, ...]; never empty, each value within "
                           "the bounds of the metric of that name, else of its name: " + _bounds_text(SAMPLE_BOUNDS)
                           + "; else finite",
            "additionalProperties": {"type": "array", "minItems": 1, "items": {"type": "number"}},
        },
        "settings": settings_schema(),
    },
}

RUN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "reportgen run",
    "type": "object",
    "required": ["schema_version", "run_id", "machine_id", "status", "started_at", "finished_at",
                 "reportgen_version", "command", "seed", "options", "profile", "machine", "records"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"type": "integer", "minimum": 1},
        "run_id": {"type": "string", "pattern": r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$"},
        "machine_id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "status": {"enum": list(RUN_STATES)},
        "started_at": {"type": "string", "description": "ISO 8601, UTC"},
        "finished_at": {"type": ["string", "null"]},
        "reportgen_version": {"type": "string"},
        "command": {"type": "array", "items": {"type": "string"}},
        "seed": {"type": "integer"},
        "options": {
            "type": "object",
            "required": ["frameworks", "device", "threads"],
            "description": "frameworks asked for, the resolved device and the thread count",
        },
        "profile": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "machine": {"type": "object", "description": "what `reportgen env` detects"},
        "records": {"type": "array", "items": _RECORD_SCHEMA},
    },
}


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string with seconds precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def new_run_id() -> str:
    """A new, time-sortable run id such as ``20261125T033000Z-1a2b``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def make_record(
    scenario: str,
    framework: str,
    variant: str,
    *,
    device: str = "cpu",
    precision: str = "fp32",
    batch_size: int | None = None,
    status: str = "ok",
    reason: str | None = None,
    metrics: dict[str, float] | None = None,
    samples: dict[str, list[float]] | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build one record; metric units are filled in from :data:`METRICS` (unknown names are an error)."""
    unknown = sorted(set(metrics or {}) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric name(s): {', '.join(unknown)}")
    if status != "ok" and not reason:
        raise ValueError(f"a {status} record needs a reason")
    return {
        "scenario": scenario,
        "framework": framework,
        "variant": variant,
        "device": device,
        "precision": precision,
        "batch_size": batch_size,
        "status": status,
        "reason": reason,
        "metrics": {k: {"value": float(v), "unit": METRICS[k].unit} for k, v in (metrics or {}).items()},
        "samples": {k: [float(x) for x in v] for k, v in (samples or {}).items()},
        "settings": settings or {},
    }


def validate_run(run: Any, source: str = "run") -> None:
    """Raise :class:`ResultsFileError` when ``run`` does not follow the schema."""
    if not isinstance(run, dict):
        raise ResultsFileError(f"{source}: not a reportgen results file (top level is not an object)")
    version = run.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise ResultsFileError(
            f"{source}: written with results schema {version}, this reportgen reads up to "
            f"{SCHEMA_VERSION}; upgrade reportgen to read it"
        )
    if "run_id" not in run or "records" not in run:
        raise ResultsFileError(f"{source}: not a reportgen results file (no run_id/records)")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(RUN_SCHEMA).iter_errors(run))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ResultsFileError(f"{source}: {where}: {error.message}")
    for i, rec in enumerate(run["records"]):
        for name, metric in rec["metrics"].items():
            if name not in METRICS:
                raise ResultsFileError(f"{source}: records/{i}/metrics: unknown metric {name!r}")
            if metric["unit"] != METRICS[name].unit:
                raise ResultsFileError(
                    f"{source}: records/{i}/metrics/{name}: unit {metric['unit']!r}, "
                    f"expected {METRICS[name].unit!r}"
                )
        why = record_problem(rec)
        if why is not None:
            raise ResultsFileError(f"{source}: records/{i}/{why}")
        if rec["status"] != "ok" and not rec["reason"]:
            raise ResultsFileError(f"{source}: records/{i}: a {rec['status']} record needs a reason")


def record_problem(rec: dict[str, Any]) -> str | None:
    """Why a record's figures cannot be true (a value out of its metric's bounds, NaN or infinite, an empty
    sample list), as ``metrics/<name>: ...``; None when they can."""
    for name, metric in rec["metrics"].items():
        bounds = METRICS[name].bounds if name in METRICS else Bounds()
        if not bounds.allows(metric["value"]):
            return f"metrics/{name}: {_shown(metric['value'])} {metric['unit']} is impossible (must be {bounds})"
    for name, values in rec["samples"].items():
        bounds = SAMPLE_BOUNDS.get(name) or (METRICS[name].bounds if name in METRICS else Bounds())
        if not values:
            return f"samples/{name}: empty; a sample list holds at least one value"
        bad = next((v for v in values if not bounds.allows(v)), None)
        if bad is not None:
            return f"samples/{name}: holds {_shown(bad)}, impossible (every value must be {bounds})"
    return None


def measured_anything(records: list[dict[str, Any]]) -> bool:
    """Whether a run has what it exists for: one successful inference or training measurement (a machine
    roof or a conversion alone is not a result)."""
    return any(r["status"] == "ok" and r["scenario"] in MEASUREMENTS for r in records)


def misplaced(path: Path, run: dict[str, Any]) -> str | None:
    """Why ``path`` is not where the run it holds belongs (``<machine-id>/<run-id>.json``): a copy under
    another name would count one run twice. None when it is."""
    if (path.parent.name, path.stem) == (run["machine_id"], run["run_id"]):
        return None
    return (f"{path}: holds run {run['run_id']} of machine {run['machine_id']}, "
            f"so it should be at {run['machine_id']}/{run['run_id']}.json")


def _shown(value: float) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "..."


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


class _NotFinite(ValueError):
    """NaN, Infinity or a number too large for a float in a results file (Python's json reads them)."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _no_constant(text: str) -> float:
    raise _NotFinite(text)


NESTED_TOO_DEEP = "nested too deeply to read (arrays or objects inside one another thousands of levels deep)"


class ResultsFileError(ReportgenError):
    """A results file that cannot be read or does not follow the schema."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that ``path`` holds either its old content or the complete new one, never a mix."""
    write_atomic(path, (json.dumps(data, indent=1, allow_nan=False) + "\n").encode("utf-8"))


@dataclass
class LoadedResults:
    """Every readable run in a results directory, plus one message per file that was skipped."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # run ids that passed the schema but the pages could not render
    root: Path | None = None  # the results folder they came from (files kept beside a run, e.g. its demo)
    demo_dirs: list[Path] = field(default_factory=list)  # other folders holding runs' <run-id>.demo/ files


class ResultStore:
    """Results files under ``root``: ``root/<machine-id>/<run-id>.json``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_for(self, run: dict[str, Any]) -> Path:
        """Where ``run`` is stored: ``<machine-id>/<run-id>.json`` under the results folder."""
        return self.root / run["machine_id"] / f"{run['run_id']}.json"

    def save(self, run: dict[str, Any]) -> Path:
        """Validate and atomically write ``run``; a failed write leaves any earlier file intact."""
        validate_run(run, source=f"run {run.get('run_id')}")
        path = self.path_for(run)
        try:
            write_json_atomic(path, run)
        except OSError as exc:
            raise ReportgenError(f"cannot write results file {path}: {exc.strerror or exc}") from exc
        return path

    def load(self, path: Path) -> dict[str, Any]:
        """Read and validate one results file, which must be named after the run it holds."""
        try:
            run = json.loads(path.read_text(encoding="utf-8"), parse_float=_finite_float,
                             parse_constant=_no_constant)
        except OSError as exc:
            raise ResultsFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        except _NotFinite as exc:
            raise ResultsFileError(f"{path}: holds {str(exc)[:40]}, not a finite number (NaN and Infinity are "
                                   "not JSON)") from exc
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of 4300+ digits
            raise ResultsFileError(f"{path}: not valid JSON ({exc})") from exc
        except RecursionError as exc:
            raise ResultsFileError(f"{path}: {NESTED_TOO_DEEP}") from exc
        try:
            validate_run(run, source=str(path))
        except RecursionError as exc:
            raise ResultsFileError(f"{path}: {NESTED_TOO_DEEP}") from exc
        why = misplaced(path, run)
        if why is not None:
            raise ResultsFileError(why)
        return run

    def load_all(self) -> LoadedResults:
        """Every valid run, oldest first, each once; unreadable, foreign or misnamed files are reported by name
        and skipped."""
        loaded = LoadedResults(root=self.root)
        if not self.root.is_dir():
            return loaded
        seen: dict[str, Path] = {}
        for path in sorted(self.root.glob("*/*.json")):
            if path.is_symlink() or not path.is_file():  # a FIFO would block, a link may point anywhere
                loaded.problems.append(f"{path}: not a regular file (a link, pipe or device); only regular files "
                                       "are read")
                continue
            try:
                run = self.load(path)
            except ResultsFileError as exc:
                loaded.problems.append(str(exc))
                continue
            if run["run_id"] in seen:
                loaded.problems.append(f"{path}: run {run['run_id']} is already read from {seen[run['run_id']]}; "
                                       "a run is counted once")
                continue
            seen[run["run_id"]] = path
            loaded.runs.append(run)
        loaded.runs.sort(key=lambda r: (r["started_at"], r["run_id"]))
        return loaded

    def find(self, run_id: str) -> dict[str, Any]:
        """The run with this id, or a clear error."""
        for path in self.root.glob(f"*/{run_id}.json"):
            return self.load(path)
        raise ReportgenError(f"no run {run_id!r} in {self.root}")
