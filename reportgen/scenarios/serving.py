"""Serving: how many requests a second each runtime answers within a latency bound, driven by MLPerf LoadGen.

For each served variant, one child per framework family (the same backends, model files and threads as the
inference scenario) runs LoadGen's three scenarios against :class:`reportgen.measure.loadgen.QueueSUT`, one worker
thread on a FIFO queue calling the runtime:

- **SingleStream**: one query at a time, the next as soon as the last is answered: p50/p90/p99 latency;
- **Offline**: every sample at once, served in batches of the variant's best batch from this run's sweep (the
  profile's ``offline_batch`` where the sweep did not run): images per second;
- **Server**: Poisson arrivals; the capacity is the highest offered rate whose p99 stays within the profile's
  bound, found by bisection over short Server runs (:func:`reportgen.measure.loadgen.find_capacity`), the first
  at the M/D/1 prediction from the SingleStream mean.

Which variants it serves, and at what batch, is decided in the parent just before the task runs (:func:`bind`),
from this run's inference records. Each LoadGen run is far shorter than MLPerf's minimum duration, and the search
runs once: its capacity is an observation, and its records say why it is not MLPerf-valid. The settings keys every
serving record carries are named in :class:`reportgen.store.records.Setting`.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from reportgen import catalog, thresholds
from reportgen.artifacts import WEIGHTS_FILE
from reportgen.config import ServingSettings, serving_settings
from reportgen.inputs import images
from reportgen.measure import loadgen, memory
from reportgen.measure.queueing import md1_capacity
from reportgen.process.runner import Context, Task
from reportgen.scenarios.inference import unsupported
from reportgen.store.records import Setting, TaskKey
from reportgen.store.results import make_record

SCENARIO = "serving"


OBSERVATION = "observation"
# A run lasts its minimum duration and minimum query count, but at most this many times that duration: a slow
# variant near its bound offers a few requests a second, and 64 of them would take half a minute per Server run
MAX_DURATION_FACTOR = 1.5
SERVED_BY_TEXT = ("one worker thread calling {runtime} at batch {batch} ({threads} intra-op thread(s)), fed in arrival "
             "order by a queue that LoadGen's issue thread fills")


def plan(frameworks: list[str], device: str) -> list[Task]:
    """One task per framework family serving its variants in turn (unsupported ones left out: the inference
    scenario records why); which of them are served is decided when the task runs (:func:`bind`)."""
    tasks = []
    chosen = [v for v in catalog.selected(frameworks) if not unsupported(v, device)]
    for family in dict.fromkeys(v.family for v in chosen):
        members = tuple({"framework": v.runtime, "variant": v.name, "label": f"Serving: {v.label}",
                         "needs": list(v.needs), "params": {"precision": v.precision,
                                                            "device": "cpu" if v.cpu_only else device}}
                        for v in chosen if v.family == family)
        tasks.append(Task(key=str(TaskKey(SCENARIO, family)), module=__name__, scenario=SCENARIO, framework=family,
                          variant="shared", label=f"Serving: {catalog.display(family)} (MLPerf LoadGen)",
                          params={"fresh": False}, members=members))
    return tasks


def _batch1_medians(records: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """Each variant's batch-1 median latency in this run so far (the median of its rounds' medians)."""
    seen: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if r["scenario"] == "inference" and r["batch_size"] == 1 and r["status"] == "ok" \
                and "latency_ms_p50" in r["metrics"]:
            seen.setdefault((r["framework"], r["variant"]), []).append(r["metrics"]["latency_ms_p50"]["value"])
    return {key: statistics.median(values) for key, values in seen.items()}


def best_batch(records: list[dict[str, Any]], runtime: str, name: str) -> tuple[int, float] | None:
    """The batch of a variant's sweep with the highest throughput in this run, and that throughput, or None."""
    sweep = [(r["metrics"]["throughput_ips"]["value"], r["batch_size"]) for r in records
             if r["scenario"] == "inference" and (r["framework"], r["variant"]) == (runtime, name)
             and r["status"] == "ok" and r["batch_size"] and "throughput_ips" in r["metrics"]
             and r["settings"].get(Setting.ROUND, 0) == 0]
    if not sweep:
        return None
    throughput, batch = max(sweep)
    return batch, throughput


def bind(task: Task, records: list[dict[str, Any]], profile: dict[str, Any]) -> Task:
    """``task`` with the members the profile serves (``fastest``: each runtime's variant with the lowest batch-1
    median in ``records``, every variant of a runtime none of whose variants was timed) and each one's Offline batch
    (its sweep's best, else the profile's ``offline_batch``); runs in the parent just before the task starts."""
    served = serving_settings(profile)
    medians = _batch1_medians(records)
    members = []
    for member in task.members:
        runtime, name = member["framework"], member["variant"]
        timed = {v: m for (rt, v), m in medians.items() if rt == runtime}
        if served.variants == "fastest" and timed:
            if name != min(timed, key=timed.__getitem__):
                continue
            chosen = f"the fastest {catalog.display(runtime)} variant at batch 1 in this run ({timed[name]:.3g} ms)"
        elif served.variants == "fastest":
            chosen = f"no {catalog.display(runtime)} variant was timed at batch 1 in this run: each is served"
        else:
            chosen = "the profile serves every variant"
        found = best_batch(records, runtime, name)
        batch, origin = (found[0], f"the best batch of this run's sweep ({found[1]:.4g} img/s)") if found else \
            (served.offline_batch, "the profile's offline_batch (no sweep of this variant in this run)")
        members.append({**member, "params": {**member["params"], "offline_batch": batch, "batch_from": origin,
                                             "sweep_ips": found[1] if found else None, "chosen_by": chosen}})
    return replace(task, members=tuple(members))


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """Serve one variant with LoadGen: SingleStream, Offline and the Server capacity search; three records."""
    from reportgen.backends import load_backend

    served = serving_settings(ctx.profile)
    size, num_classes = ctx.profile["inference"]["image_size"], ctx.profile["inference"]["num_classes"]
    batch = int(task.params.get("offline_batch") or served.offline_batch)
    backend = load_backend(task.framework, task.variant, ctx.threads, task.params["device"])
    state: dict[str, np.ndarray] = {}
    if (ctx.artifacts / WEIGHTS_FILE).exists():
        with np.load(ctx.artifacts / WEIGHTS_FILE) as npz:
            state = {k: npz[k] for k in npz.files}
    backend.load(state, str(ctx.artifacts), num_classes, size)
    one = backend.to_input(images(ctx.seed + 2, 1, size))
    many = backend.to_input(images(ctx.seed + 2, batch, size))

    def call_one() -> None:
        """One request: batch 1, finished on the device."""
        backend.sync(backend.predict(one))

    def call_batch() -> None:
        """One Offline batch, finished on the device."""
        backend.sync(backend.predict(many))

    settings = {Setting.IMAGE_SIZE: size, Setting.NUM_CLASSES: num_classes, Setting.THREADS: backend.thread_settings(),
                Setting.THREAD_COUNT: ctx.threads, Setting.MEMORY_METHOD: memory.METHOD,
                # idle OpenMP threads that spin take the CPU LoadGen's issue thread and the worker need: say which
                Setting.OMP_WAIT_POLICY: os.environ.get("OMP_WAIT_POLICY", "unset (the runtime's default)")}
    return serve(task, call_one, call_batch, batch, served, settings, ctx.threads)


def serve(task: Task, call_one: Callable[[], object], call_batch: Callable[[], object], batch: int,
          served: ServingSettings, settings: dict[str, Any], threads: int) -> list[dict[str, Any]]:
    """LoadGen's SingleStream, Offline (``call_batch`` serves ``batch`` samples) and Server capacity search against
    ``call_one`` (one request), after ``served.warmup`` calls; the three records of ``task``'s variant, each with
    ``settings`` and what LoadGen reported. Knows no framework: a test serves a fake runtime through it."""
    call_batch()  # tracing, compilation and allocation of both shapes happen before LoadGen starts
    for _ in range(served.warmup):
        call_one()
    sut = loadgen.QueueSUT(call_one, call_batch, batch)
    try:  # each scenario starts on the shape it serves (TFLite reallocates its tensors when the shape changes)
        single = _single_stream(sut, served)
        call_batch()
        offline = _offline(sut, served, batch, task.params.get("sweep_ips"), single)
        call_one()
        server = _server(sut, served, single)
    finally:
        sut.close()
    common = {**settings, Setting.EVIDENCE: OBSERVATION, Setting.CHOSEN_BY: task.params.get("chosen_by"),
              Setting.LOADGEN_VERSION: _loadgen_version()}
    ident = {"device": task.params["device"], "precision": task.params["precision"]}
    runtime = catalog.display(task.framework)
    by_one = {**common, Setting.SERVED_BY: SERVED_BY_TEXT.format(runtime=runtime, batch=1, threads=threads)}
    by_batch = {**common, Setting.BATCH_FROM: task.params.get("batch_from"),
                Setting.SERVED_BY: SERVED_BY_TEXT.format(runtime=runtime, batch=batch, threads=threads)}
    return [_record(task, ident, 1, single, by_one, _latencies(single)),
            _record(task, ident, batch, offline, by_batch, {"offline_throughput_ips": offline.samples_per_s}),
            _server_record(task, ident, server, by_one, served)]


def _loadgen_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("mlcommons-loadgen")
    except metadata.PackageNotFoundError:
        return "unknown"


def _single_stream(sut: loadgen.QueueSUT, served: ServingSettings) -> loadgen.LoadgenResult:
    started = time.perf_counter()
    sut.call_one()
    guess = time.perf_counter() - started
    return sut.run(loadgen.RunSettings("SingleStream", served.single_stream_s, served.min_queries,
                                       expected_latency_s=guess,
                                       max_duration_s=served.single_stream_s * MAX_DURATION_FACTOR))


def _offline(sut: loadgen.QueueSUT, served: ServingSettings, batch: int, sweep_ips: float | None,
             single: loadgen.LoadgenResult) -> loadgen.LoadgenResult:
    """LoadGen Offline: as many samples as ``offline_s`` takes at the expected rate (the sweep's throughput at
    ``batch``, else the SingleStream rate), at least one batch (not ``min_queries``: LoadGen's minimum counts
    samples here, and 64 images at a slow variant's rate would take far longer than ``offline_s``)."""
    expected = sweep_ips or 1 / single.figures["result_mean_latency_ns"] * 1e9
    return sut.run(loadgen.RunSettings("Offline", served.offline_s, batch, target_qps=expected))


def _server(sut: loadgen.QueueSUT, served: ServingSettings,
            single: loadgen.LoadgenResult) -> dict[str, Any]:
    """The capacity search, or why there is none (one request alone already takes longer than the bound)."""
    bound, percentile = served.bound_ms / 1e3, thresholds.SERVING_PERCENTILE
    service = single.figures["result_mean_latency_ns"] / 1e9
    ceiling = 1 / service
    first = md1_capacity(service, bound, percentile) if service < bound else 0.0
    if single.latency_s(percentile) > bound:
        return {"search": loadgen.Search(0.0, [], None, None), "first": first, "ceiling": ceiling,
                "why": f"batch-1 requests one at a time already took {single.latency_s(percentile) * 1e3:.3g} ms at "
                       f"p99 (SingleStream), over the {served.bound_ms:g} ms bound: no rate can keep it"}

    def serve_at(rate: float) -> loadgen.LoadgenResult:
        """One Server run at ``rate`` Poisson requests a second."""
        return sut.run(loadgen.RunSettings("Server", served.probe_s, served.min_queries, target_qps=rate,
                                           bound_s=bound, percentile=percentile,
                                           max_duration_s=served.probe_s * MAX_DURATION_FACTOR))

    search = loadgen.find_capacity(serve_at, first, ceiling, bound, percentile, served.probes)
    return {"search": search, "first": first, "ceiling": ceiling, "why": None}


def _latencies(result: loadgen.LoadgenResult) -> dict[str, float]:
    return {"latency_ms_p50": result.latency_s(0.5) * 1e3, "latency_ms_p90": result.latency_s(0.9) * 1e3,
            "latency_ms_p99": result.latency_s(0.99) * 1e3,
            "latency_ms_mean": result.figures["result_mean_latency_ns"] / 1e6}


def _run_settings(result: loadgen.LoadgenResult, wall_s: float | None = None) -> dict[str, Any]:
    """What every serving record says about the LoadGen run its figures come from."""
    scenario = result.settings.scenario
    queries = result.samples if scenario == "Offline" else result.queries
    duration = result.duration_s
    return {Setting.LOADGEN_SCENARIO: scenario, Setting.LOADGEN_SUMMARY: result.summary,
            Setting.LOADGEN_VALIDITY: result.figures.get("result_validity", "unknown"),
            Setting.LOADGEN_S: round(wall_s if wall_s is not None else result.wall_s, 2),
            Setting.LOADGEN_QUERIES: queries,
            Setting.MLPERF_INVALID: thresholds.mlperf_invalid(scenario, duration, queries, result.valid)}


def _record(task: Task, ident: dict[str, str], batch: int, result: loadgen.LoadgenResult,
            settings: dict[str, Any], metrics: dict[str, float]) -> dict[str, Any]:
    return make_record(SCENARIO, task.framework, task.variant, batch_size=batch, **ident, metrics=metrics,
                       settings={**settings, **_run_settings(result)})


def _server_record(task: Task, ident: dict[str, str], server: dict[str, Any], common: dict[str, Any],
                   served: ServingSettings) -> dict[str, Any]:
    """The Server record: the capacity, the p99 of the run at it, every probe, and LoadGen's summary of that run."""
    search: loadgen.Search = server["search"]
    probes = search.probes
    settings = {**common, Setting.LATENCY_BOUND_MS: served.bound_ms,
                Setting.LATENCY_PERCENTILE: thresholds.SERVING_PERCENTILE,
                Setting.PROBES: [p.as_dict() for p in probes], Setting.FIRST_PROBE_QPS: round(server["first"], 3),
                Setting.CEILING_QPS: round(server["ceiling"], 3), Setting.LOADGEN_SCENARIO: "Server"}
    metrics = {"serving_capacity_qps": search.capacity}
    shown = search.best or search.last  # no rate kept the bound: LoadGen's summary of the last (lowest) one tried
    if search.best is not None:
        metrics["latency_ms_p99"] = search.best.latency_s(thresholds.SERVING_PERCENTILE) * 1e3
    if shown is not None:
        settings.update(_run_settings(shown, wall_s=sum(p.wall_s for p in probes)))
    else:
        settings.update({Setting.LOADGEN_SUMMARY: None, Setting.MLPERF_INVALID: server["why"] or "no Server run",
                         Setting.LOADGEN_S: 0.0})
    if server["why"]:
        settings[Setting.CAPACITY_NOTE] = server["why"]
    return make_record(SCENARIO, task.framework, task.variant, batch_size=1, **ident, metrics=metrics,
                       settings=settings)
