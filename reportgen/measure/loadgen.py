"""MLPerf LoadGen as the load generator of the serving scenario: a system under test, the three scenarios, and the
search for the highest Poisson rate that stays within a latency bound.

LoadGen (``mlcommons-loadgen``, import name ``mlperf_loadgen``) decides when each query is issued and times it
from its scheduled issue to its completion; this module only answers. Its system under test is one worker thread
fed by a FIFO queue: LoadGen's issue thread puts each query in the queue and returns at once, the worker runs one
call per query (batch 1) or, in Offline, one call per ``batch`` samples, and reports completion. One worker on a
queue is a single-server FIFO queue, the M/D/1 model of :mod:`reportgen.measure.queueing` when the call takes a
fixed time. Nothing here imports a framework: the caller passes the calls to make.

Each LoadGen run writes its logs to a folder of its own; :class:`LoadgenResult` keeps the summary text (what MLPerf
submitters publish) and the figures of the detail log (``:::MLLOG`` lines, JSON).
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_FILE, DETAIL_FILE = "mlperf_log_summary.txt", "mlperf_log_detail.txt"
SCENARIOS = ("SingleStream", "Offline", "Server")
SAMPLES_IN_MEMORY = 64  # the query sample library's size: every sample is the same preloaded input


@dataclass(frozen=True)
class RunSettings:
    """One LoadGen run: how long (both minimums must be met) and, for Server, at what rate and bound."""

    scenario: str
    min_duration_s: float
    min_queries: int = 1
    target_qps: float = 0.0  # Server: the Poisson arrival rate offered; Offline: the rate expected
    expected_latency_s: float = 0.01  # SingleStream: LoadGen sizes its run from it
    bound_s: float = 0.0  # Server: the latency bound of the percentile
    percentile: float = 0.99
    max_duration_s: float = 0.0  # 0: none

    def loadgen(self, lg: Any) -> Any:
        """These settings as LoadGen's ``TestSettings`` (performance mode)."""
        settings = lg.TestSettings()
        settings.scenario = getattr(lg.TestScenario, self.scenario)
        settings.mode = lg.TestMode.PerformanceOnly
        settings.min_duration_ms = max(1, int(self.min_duration_s * 1e3))
        settings.min_query_count = self.min_queries
        if self.max_duration_s:
            settings.max_duration_ms = int(self.max_duration_s * 1e3)
        if self.scenario == "Server":
            settings.server_target_qps = self.target_qps
            settings.server_target_latency_ns = int(self.bound_s * 1e9)
            settings.server_target_latency_percentile = self.percentile
        elif self.scenario == "Offline":
            settings.offline_expected_qps = self.target_qps
        else:
            settings.single_stream_expected_latency_ns = max(1, int(self.expected_latency_s * 1e9))
        return settings


@dataclass
class LoadgenResult:
    """What one LoadGen run reported: its summary text and the figures of its detail log (``result_*`` keys)."""

    settings: RunSettings
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    def latency_s(self, percentile: float) -> float:
        """LoadGen's latency at ``percentile`` (0.50, 0.90, 0.95, 0.97, 0.99, 0.999), in seconds."""
        return self.figures[f"result_{percentile * 100:.2f}_percentile_latency_ns"] / 1e9

    @property
    def queries(self) -> int:
        """Queries LoadGen counted (Offline: one query of many samples)."""
        return int(self.figures.get("result_query_count", 0))

    @property
    def samples(self) -> int:
        """Samples LoadGen issued (Offline: all in its one query; otherwise one per query)."""
        return int(self.figures.get("generated_samples_per_query", 1)) * self.queries

    @property
    def duration_s(self) -> float:
        """How long the run took, LoadGen's start to its end (what MLPerf's minimum duration is about)."""
        return self.wall_s

    @property
    def samples_per_s(self) -> float:
        """Samples completed per second (Offline: LoadGen's throughput; Server: the rate actually served)."""
        return float(self.figures.get("result_completed_samples_per_sec")
                     or self.figures.get("result_samples_per_second", 0.0))

    @property
    def valid(self) -> bool:
        """LoadGen's own verdict ("Result is: VALID"): every MLPerf minimum met and, in Server, the bound kept."""
        return self.figures.get("result_validity") == "VALID"


class QueueSUT:
    """LoadGen's system under test: a FIFO queue and one worker thread that answers it.

    ``call_one()`` serves one sample; ``call_batch()`` serves ``batch`` samples at once (Offline; the last chunk of
    fewer samples runs the full batch too, so that no runtime traces or compiles another shape mid-run).
    """

    def __init__(self, call_one: Callable[[], object], call_batch: Callable[[], object] | None = None,
                 batch: int = 1) -> None:
        import mlperf_loadgen as lg

        self.lg, self.call_one, self.call_batch, self.batch = lg, call_one, call_batch or call_one, batch
        self.queue: queue.SimpleQueue[list[Any] | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.worker = threading.Thread(target=self._work, name="loadgen-sut", daemon=True)
        self.worker.start()
        self.sut = lg.ConstructSUT(self.queue.put, lambda: None)
        self.qsl = lg.ConstructQSL(SAMPLES_IN_MEMORY, SAMPLES_IN_MEMORY, lambda _: None, lambda _: None)

    def _work(self) -> None:
        lg = self.lg
        while (samples := self.queue.get()) is not None:
            try:
                if len(samples) == 1:
                    self.call_one()
                    lg.QuerySamplesComplete([lg.QuerySampleResponse(samples[0].id, 0, 0)])
                    continue
                for start in range(0, len(samples), self.batch):
                    chunk = samples[start:start + self.batch]
                    self.call_batch()
                    lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in chunk])
            except BaseException as exc:  # noqa: BLE001  answer anyway, or LoadGen waits for ever; raised after
                self.error = self.error or exc
                lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    def run(self, settings: RunSettings) -> LoadgenResult:
        """One LoadGen run, its logs in a temporary folder; raises what the served call raised."""
        with tempfile.TemporaryDirectory(prefix="loadgen-") as out:
            log = self.lg.LogSettings()
            log.log_output.outdir = out
            log.log_output.copy_summary_to_stdout = False
            log.enable_trace = False
            started = time.perf_counter()
            self.lg.StartTestWithLogSettings(self.sut, self.qsl, settings.loadgen(self.lg), log)
            wall = time.perf_counter() - started
            if self.error is not None:
                raise self.error
            return LoadgenResult(settings, (Path(out) / SUMMARY_FILE).read_text(encoding="utf-8"),
                                 read_figures(Path(out) / DETAIL_FILE), wall)

    def close(self) -> None:
        """Stop the worker and free LoadGen's objects."""
        self.queue.put(None)
        self.worker.join(timeout=60)
        self.lg.DestroyQSL(self.qsl)
        self.lg.DestroySUT(self.sut)


def read_figures(path: Path) -> dict[str, Any]:
    """The ``result_*`` and ``generated_*`` figures of a LoadGen detail log (one JSON object per ``:::MLLOG``
    line)."""
    figures: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith(":::MLLOG ") or not ('"result_' in line or '"generated_' in line):
            continue
        try:
            entry = json.loads(line[len(":::MLLOG "):])
        except json.JSONDecodeError:
            continue
        if str(entry.get("key", "")).startswith(("result_", "generated_")):
            figures[entry["key"]] = entry.get("value")
    return figures


@dataclass(frozen=True)
class Probe:
    """One Server run of the capacity search: the rate offered, what LoadGen measured, and whether it kept the bound."""

    offered_qps: float
    served_qps: float
    p99_s: float
    queries: int
    wall_s: float
    within: bool

    def as_dict(self) -> dict[str, Any]:
        """As stored in a record (milliseconds, rounded)."""
        return {"offered_qps": round(self.offered_qps, 3), "served_qps": round(self.served_qps, 3),
                "p99_ms": round(self.p99_s * 1e3, 3), "queries": self.queries, "wall_s": round(self.wall_s, 2),
                "within_bound": self.within}


@dataclass
class Search:
    """What :func:`find_capacity` found: the capacity (0 where no run kept the bound), every probe in the order
    run, and the LoadGen results of the run at the capacity (``best``) and of the last run (``last``)."""

    capacity: float
    probes: list[Probe]
    best: LoadgenResult | None
    last: LoadgenResult | None


def find_capacity(serve_at: Callable[[float], LoadgenResult], first_qps: float, ceiling_qps: float,
                  bound_s: float, percentile: float, probes: int) -> Search:
    """The highest offered rate whose ``percentile`` latency stayed within ``bound_s``, by bisection over ``probes``
    short Server runs: the first at ``first_qps`` (a prediction), each later one halfway between the highest rate
    that kept the bound (0 at first) and the lowest that did not (``ceiling_qps`` at first: the rate at which one
    server is busy all the time, so its queue grows without end)."""
    lo, hi = 0.0, ceiling_qps
    rate = min(max(first_qps, ceiling_qps * 0.05), ceiling_qps * 0.95)
    done: list[Probe] = []
    best = result = None
    for _ in range(probes):
        result = serve_at(rate)
        latency = result.latency_s(percentile)
        within = latency <= bound_s
        done.append(Probe(rate, result.samples_per_s, latency, result.queries, result.wall_s, within))
        if within:
            lo, best = rate, result
        else:
            hi = rate
        rate = (lo + hi) / 2
    return Search(lo, done, best, result)

