"""The vocabulary of a record, declared once: every key of a record's ``settings`` with its meaning (the results
schema lists them), the key of a task, and a variant's series of rounds.

Code that writes or reads a record's settings names the key through :class:`Setting` (a ``str``, so a stored file
is plain JSON), builds and parses task keys through :class:`TaskKey`, and derives a batch-1 variant's rounds
through :class:`RoundSeries`: the planner of extra rounds, the merge of rounds and the findings agree because they
call the same code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from reportgen import thresholds
from reportgen.measure import stats


class Setting(StrEnum):
    """A key of a record's ``settings``, with what it holds (:attr:`meaning`)."""

    meaning: str

    def __new__(cls, key: str, meaning: str) -> Setting:
        """A key and its meaning."""
        member = str.__new__(cls, key)
        member._value_ = key
        member.meaning = meaning
        return member

    # the task that made the record, and the machine it ran on (stamped on every record by the runner)
    TASK = "task", "the key of the task that made the record (TaskKey)"
    TASK_S = "task_s", "seconds the task took, start to end of its process"
    TASK_SCENARIO = "task_scenario", "the scenario of the task that made the record"
    TASKS_AT_ONCE = "tasks_at_once", "how many tasks the profile runs side by side"
    TASK_THREADS = "task_threads", "the threads a task beside another one ran with"
    MACHINE_CPUS = "machine_cpus", "the CPUs the machine had when the record was made"
    FOREIGN_CPU = "foreign_cpu", "share of the machine's CPU time other processes took during the task"
    STEAL_CPU = "steal_cpu", "share of the machine's CPU time the hypervisor took during the task"
    ENVIRONMENT = "environment", "the interpreter and lock the task ran in: name, python, build, lock, versions"
    THREADS = "threads", "thread settings as each framework was told them (or a thread count)"
    THREAD_COUNT = "thread_count", "the thread count a timed loop ran with"
    # inference rounds (one process) and their merge (one record per variant)
    ROUND = "round", "the round this process timed (0: the first, a fresh process)"
    ROUNDS = "rounds", "rounds merged into the record"
    PROCESSES = "processes", "processes merged into the record (the reference runs several per round)"
    ROUND_NUMBERS = "round_numbers", "the round of each merged process, in order"
    ROUND_MEDIANS_MS = "round_medians_ms", "each merged process's median latency (ms), in order"
    ROUND_FOREIGN_CPU = "round_foreign_cpu", "each merged process's foreign CPU share, in order"
    ROUND_TASKS = "round_tasks", "the task key of each merged process, in order"
    ROUND_TASK_S = "round_task_s", "the seconds of each merged process's task, in order"
    ROUND_SPREAD = "round_spread", "largest / smallest round median - 1"
    MEDIAN_HALFWIDTH = "median_halfwidth", "relative half-width of the interval on the median across rounds"
    ROUNDS_STOP = "rounds_stop", "why the run timed no more rounds"
    SAMPLES = "samples", "how many timed calls the record holds"
    TIMING = "timing", "the timed loop's rules: warm-up, minimum count and time, maximum time"
    SWEEP_STOP = "sweep_stop", "why the batch sweep stopped where it did"
    MEMORY_METHOD = "memory_method", "how peak memory was read"
    ENERGY = "energy", "the energy counter read and what it counted (joules, seconds, images)"
    ENERGY_J_PER_EPOCH = "energy_j_per_epoch", "joules of each epoch after the first"
    # the model and its inputs
    IMAGE_SIZE = "image_size", "input height and width in pixels"
    NUM_CLASSES = "num_classes", "classes the model predicts"
    CLASSES = "classes", "classes of the data set trained on"
    MACS_METHOD = "macs_method", "how multiply-accumulates were counted"
    NOTE = "note", "a remark the record's maker added"
    GFLOPS_PER_SIZE = "gflops_per_size", "GEMM GFLOP/s per square matrix size"
    METHOD = "method", "how the machine roof was measured"
    KERNEL = "kernel", "the GEMM kernel that set the roof"
    PRECISION = "precision", "the arithmetic a roof or efficiency figure is for"
    PEAK = "peak", "the CPU's theoretical peak: cores, clock, operations per cycle"
    PEAK_GFLOPS = "peak_gflops", "theoretical peak GFLOP/s"
    PEAK_FORMULA = "peak_formula", "how the theoretical peak was computed"
    # conversion, parity and the browser
    CONVERTER = "converter", "the exporter or quantizer that made a file"
    FILE = "file", "the model file a record is about"
    MODEL = "model", "which model a conversion started from"
    CALIBRATION = "calibration", "the images static quantization was calibrated on"
    CALIBRATION_IMAGES = "calibration_images", "how many calibration images"
    INTERPRETER = "interpreter", "the TFLite interpreter that ran the file"
    INPUTS = "inputs", "the images a parity check used"
    REFERENCE = "reference", "what a record was compared with"
    REFERENCE_TOP1 = "reference_top1", "the reference's top-1 accuracy on the same images"
    BROWSER = "browser", "the browser that ran ONNX Runtime Web"
    BACKEND = "backend", "the ONNX Runtime Web backend and its threads"
    BACKEND_WHY = "backend_why", "why that backend and thread count"
    WEBGPU = "webgpu", "what the browser said about WebGPU"
    CROSS_ORIGIN_ISOLATED = "cross_origin_isolated", "whether the page could use WebAssembly threads"
    CONVERSION = "conversion", "the conversion that made the browser's model file"
    MODEL_SIZE_MB = "model_size_mb", "size of the model file the browser fetched"
    ONNXRUNTIME = "onnxruntime", "the Python ONNX Runtime version compared with"
    ONNXRUNTIME_WEB = "onnxruntime_web", "the ONNX Runtime Web version"
    PYTHON_VARIANT = "python_variant", "the Python variant timed on the same file"
    PREPROCESS_MAX_ABS_DIFF = "preprocess_max_abs_diff", "largest difference of the browser's input from Python's"
    CHECK_IMAGES = "check_images", "held-out images the browser classified"
    TOP1_ACCURACY = "top1_accuracy", "top-1 accuracy on those images"
    # training
    DATASET = "dataset", "the data set trained on"
    DATA_SOURCE = "data_source", "where the data came from"
    TRAIN_IMAGES = "train_images", "training images"
    VAL_IMAGES = "val_images", "validation images"
    EVAL_IMAGES = "eval_images", "images the trained model was evaluated on"
    IMAGES = "images", "images an input-pipeline measurement produced"
    IMAGES_PER_EPOCH = "images_per_epoch", "images in one epoch"
    MAX_TRAIN_IMAGES = "max_train_images", "the profile's cap on training images"
    AUGMENTATION = "augmentation", "the training augmentation"
    INCLUDES = "includes", "what an input-pipeline measurement includes"
    PIPELINE = "pipeline", "the input pipeline measured"
    RECIPE = "recipe", "the shared training recipe: epochs, batch, optimizer, schedule"
    SGD_RULE = "sgd_rule", "the SGD update rule the optimizer follows"
    EPOCHS = "epochs", "epochs trained"
    LOSSES = "losses", "training loss per epoch"
    PURPOSE = "purpose", "why a model was trained"
    PROBE = "probe", "how a speed probe shortens the recipe"
    STEADY_STATE = "steady_state", "which epochs the throughput is taken over"
    TARGET_TOP1 = "target_top1", "the validation top-1 that time-to-target waits for"
    TARGET_REACHED = "target_reached", "whether training reached it"
    DID_NOT_LEARN = "did_not_learn", "why the training is not counted as having learned"
    WORKERS = "workers", "data-parallel workers"
    THREADS_PER_WORKER = "threads_per_worker", "threads each worker ran with"
    PER_WORKER_BATCH = "per_worker_batch", "each worker's batch"
    GLOBAL_BATCH = "global_batch", "all workers' batches together"
    LAUNCHER = "launcher", "how the workers were started"
    TF_ONEDNN = "tf.onednn", "whether TensorFlow used oneDNN"
    # serving (MLPerf LoadGen: reportgen.scenarios.serving)
    LOADGEN_SCENARIO = "loadgen_scenario", "the LoadGen scenario of the record: SingleStream, Offline or Server"
    LOADGEN_SUMMARY = "loadgen_summary", "LoadGen's summary text of the run the figures come from (Server: the run " \
        "at the capacity, else the last one tried)"
    LOADGEN_VALIDITY = "loadgen_validity", "LoadGen's own verdict on that run against this profile's settings"
    LOADGEN_VERSION = "loadgen_version", "the mlcommons-loadgen version"
    LOADGEN_S = "loadgen_s", "wall seconds of the record's LoadGen run(s)"
    LOADGEN_QUERIES = "loadgen_queries", "queries (Offline: samples) of the run the figures come from"
    MLPERF_INVALID = "mlperf_invalid", "why the run is not MLPerf-valid (too short, too few queries), or null"
    SERVED_BY = "served_by", "how the runtime was served: workers, batch, threads, queue"
    LATENCY_BOUND_MS = "latency_bound_ms", "the latency bound of the Server capacity (the profile's serving.bound_ms)"
    LATENCY_PERCENTILE = "latency_percentile", "the percentile the bound applies to"
    PROBES = "probes", "every Server run of the capacity search: offered and served rate, p99, queries, bound kept"
    FIRST_PROBE_QPS = "first_probe_qps", "the M/D/1 prediction the capacity search started from"
    CEILING_QPS = "ceiling_qps", "1 / SingleStream mean latency: the rate that keeps one worker busy all the time"
    CAPACITY_NOTE = "capacity_note", "why no Server run was needed (one request alone takes longer than the bound)"
    BATCH_FROM = "batch_from", "where the Offline batch came from (the run's sweep or the profile)"
    CHOSEN_BY = "chosen_by", "why this variant was served"
    EVIDENCE = "evidence", "observation: measured once, no rounds"
    OMP_WAIT_POLICY = "omp_wait_policy", "OMP_WAIT_POLICY of the serving process (spinning threads take CPU)"
    # Keras on its three backends (a training record's settings; an inference record's ``threads``)
    KERAS_BACKEND = "keras_backend", "the backend Keras ran on: tensorflow, jax or torch"
    KERAS_JIT_COMPILE = "keras_jit_compile", "what model.compile(jit_compile=...) resolved to for the training"
    INPUT_PIPELINE = "input_pipeline", "what fed model.fit: tf.data, or a NumPy keras.utils.PyDataset"


def settings_schema() -> dict[str, Any]:
    """The JSON schema of a record's settings: every key with its meaning (other keys are allowed: a file of a
    later reportgen may hold more)."""
    return {"type": "object", "description": "what the record was made under; keys from reportgen.store.records",
            "properties": {key.value: {"description": key.meaning} for key in Setting}}


_KEY = re.compile(r"^(?P<scenario>[^/]+)/(?P<subject>[^/]+)(?:/(?P<variant>(?!again\d|round\d|threads\d|merged$)"
                  r"[^/]+))?(?:/again(?P<again>\d+))?(?:/round(?P<round>\d+))?(?:/threads(?P<threads>\d+))?"
                  r"(?P<merged>/merged)?$")


@dataclass(frozen=True)
class TaskKey:
    """The unique key of a task in a run (``--resume`` skips the keys already done), e.g.
    ``inference/torch/eager/round0``, ``inference/torch/round1`` (a family's shared round),
    ``inference/torch/eager/again1/round0`` (the reference again), ``inference/torch/threads1``."""

    scenario: str
    subject: str  # a runtime, a family, a library
    variant: str | None = None
    again: int | None = None  # the reference timed again, the n-th time in a round
    round: int | None = None
    threads: int | None = None
    merged: bool = False  # the record that pools a variant's rounds

    def __str__(self) -> str:
        parts = [self.scenario, self.subject, *([self.variant] if self.variant else [])]
        parts += [f"again{self.again}"] if self.again is not None else []
        parts += [f"round{self.round}"] if self.round is not None else []
        parts += [f"threads{self.threads}"] if self.threads is not None else []
        return "/".join(parts + (["merged"] if self.merged else []))

    @classmethod
    def parse(cls, text: str) -> TaskKey:
        """The key ``text`` names (a ValueError where it is not one)."""
        match = _KEY.match(text)
        if match is None:
            raise ValueError(f"not a task key: {text!r}")
        number = {k: int(match[k]) if match[k] is not None else None for k in ("again", "round", "threads")}
        return cls(match["scenario"], match["subject"], match["variant"], merged=bool(match["merged"]), **number)

    def in_round(self, number: int) -> TaskKey:
        """The same task in round ``number``."""
        return replace(self, round=number)


@dataclass(frozen=True)
class RoundSeries:
    """A batch-1 variant's median latency by round (rounds, not processes, are the independent unit: a round that
    timed it in several processes counts their geometric mean once) and the rounds measured on a disturbed
    machine (:func:`thresholds.disturbed` in any of its processes, or every round of a task run beside others)."""

    medians: dict[int, float]
    disturbed: frozenset[int]

    @classmethod
    def of(cls, numbers: Sequence[int], medians: Sequence[float], shares: Iterable[float],
           machine_cpus: int | None, side_by_side: bool) -> RoundSeries:
        """From each process's round number, median and foreign CPU share (in the same order)."""
        by_round = stats.by_round(numbers, medians)
        if side_by_side:  # shared the CPU with other tasks by design: no round of it is calm
            return cls(by_round, frozenset(numbers))
        return cls(by_round, frozenset(n for n, share in zip(numbers, shares, strict=False)
                                       if thresholds.disturbed(share, machine_cpus)))

    @classmethod
    def of_record(cls, rec: Mapping[str, Any]) -> RoundSeries:
        """A batch-1 record's series: a merged record's rounds, or one process's record as one round."""
        settings = rec["settings"]
        medians = settings.get(Setting.ROUND_MEDIANS_MS) or [rec["metrics"]["latency_ms_p50"]["value"]]
        numbers = settings.get(Setting.ROUND_NUMBERS) or list(range(len(medians)))
        shares = settings.get(Setting.ROUND_FOREIGN_CPU) or [settings.get(Setting.FOREIGN_CPU) or 0.0] * len(medians)
        return cls.of(numbers, medians, shares, settings.get(Setting.MACHINE_CPUS), side_by_side(settings))

    @classmethod
    def of_processes(cls, recs: Sequence[Mapping[str, Any]]) -> RoundSeries:
        """The series of one variant's unmerged per-process records (each holds its round)."""
        settings = [r["settings"] for r in recs]
        return cls.of([s[Setting.ROUND] for s in settings], [r["metrics"]["latency_ms_p50"]["value"] for r in recs],
                      [s.get(Setting.FOREIGN_CPU, 0.0) for s in settings],
                      settings[0].get(Setting.MACHINE_CPUS) if settings else None,
                      any(side_by_side(s) for s in settings))

    @property
    def values(self) -> list[float]:
        """The medians in round order."""
        return list(self.medians.values())

    @property
    def spread(self) -> float | None:
        """How far the round medians lie apart (largest / smallest - 1), or None with fewer than 2 rounds."""
        values = self.values
        return max(values) / min(values) - 1 if len(values) >= 2 and min(values) > 0 else None

    @property
    def halfwidth(self) -> float | None:
        """Relative half-width of the interval on the median across rounds (None with one round)."""
        return stats.median_halfwidth(self.values)


def disturbed(share: float, settings: Mapping[str, Any]) -> bool:
    """Whether a task that saw other processes take ``share`` of the machine's CPU time measured a disturbed
    machine (:func:`thresholds.disturbed`, against the CPUs its record says the machine had)."""
    return thresholds.disturbed(share, settings.get(Setting.MACHINE_CPUS))


def tasks_at_once(settings: Mapping[str, Any]) -> int:
    """How many tasks ran side by side when the record was made (1 where its run did not say)."""
    return int(settings.get(Setting.TASKS_AT_ONCE) or 1)


def side_by_side(settings: Mapping[str, Any]) -> bool:
    """Whether the record was measured while other tasks ran (a profile with ``tasks_at_once`` above 1)."""
    return tasks_at_once(settings) > 1
