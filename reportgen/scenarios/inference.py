"""Inference: latency, throughput, memory and start-up of ResNet-18 in every runtime variant.

In the first round each variant runs in a fresh subprocess with an empty compile cache: import the
framework (timed), load the shared weights (timed), make the first call (timed: tracing, compilation),
check the logits of fixed images (one per call) against the PyTorch reference, time batch-1 calls (peak memory is read
here: the process has run nothing else), then the batch-size sweep, which stops once throughput has
flattened. Later rounds and the thread-scaling runs time batch-1 calls only, one child per framework
family measuring its variants in turn (one import instead of one per variant; a crash loses only the
variant it hit). Rounds are interleaved (every variant once, then every variant again) so background noise
hits them alike; each round ends with the reference timed again in a process of its own
(``reference_processes``), because every comparison pairs with it; :func:`merge_rounds` pools a variant's
rounds into one record in the parent. Every timed loop also reads the energy counter of its device where one
can be read (:mod:`reportgen.measure.energy`): joules per image.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from reportgen import catalog, hardware, thresholds
from reportgen.artifacts import REFERENCE_OUTPUTS, WEIGHTS_FILE
from reportgen.catalog import Variant
from reportgen.config import TimingSettings, reference_processes
from reportgen.errors import failure_reason
from reportgen.inputs import check_images, images
from reportgen.measure import energy, memory, stats, timer
from reportgen.measure.agreement import logit_agreement
from reportgen.process import envs
from reportgen.process.runner import Context, Task
from reportgen.store.records import RoundSeries, Setting, TaskKey
from reportgen.store.results import make_record

OOM_MARKERS = ("out of memory", "resourceexhausted", "resource exhausted", "failed to allocate")


def unsupported(variant: Variant, device: str) -> str | None:
    """Why ``variant`` does not run on ``device``, or None when it does (on a CPU: one with the flags it needs)."""
    if variant.cuda_only and device != "cuda":
        return f"{variant.label} needs a CUDA GPU; {hardware.lacks_cuda()}"
    runtime = catalog.RUNTIMES[variant.runtime]
    needs = runtime.cuda_packages
    if device == "cuda" and not variant.cpu_only and needs and not any(envs.installed(n, variant.runtime)
                                                                        for n in needs):
        fix = envs.install_hint(needs[0], variant.runtime)
        return (f"{variant.label} on a GPU needs {' or '.join(needs)} ({fix}); "
                f"the installed {runtime.display} runs on the CPU only")
    if variant.cpu_flags and (variant.cpu_only or device == "cpu"):
        lacking = hardware.lacks_cpu_flags(variant.cpu_flags)
        if lacking:
            return f"{variant.label} on a CPU needs {lacking}"
    return None


def plan(frameworks: list[str], profile: dict[str, Any], device: str, threads: int) -> list[Task]:
    """Round 0 of every selected variant in a process of its own, later rounds and then the thread-scaling
    runs (batch 1) in one shared process per framework family."""
    settings = profile["inference"]
    chosen = catalog.selected(frameworks)
    tasks = [_task(v, device) for v in chosen] + _reference_again(chosen, device, 0, profile)
    for round_ in range(1, settings["rounds"]):
        tasks += _shared(chosen, device, round_, threads=None) + _reference_again(chosen, device, round_, profile)
    for count in settings["thread_counts"]:
        if count and count != threads:
            tasks += _shared(chosen, device, 0, threads=count)
    return tasks


def round_limit(profile: dict[str, Any]) -> int:
    """The most rounds of batch-1 timing a profile runs: its maximum, never fewer than its planned rounds."""
    settings = profile["inference"]
    return max(settings["rounds"], settings.get("max_rounds") or 0)


def may_add_rounds(profile: dict[str, Any]) -> bool:
    """Whether a profile can add rounds after its planned ones (the run must then wait for all of them)."""
    return round_limit(profile) > profile["inference"]["rounds"]


def next_round(records: list[dict[str, Any]], profile: dict[str, Any], frameworks: list[str], device: str,
               threads: int, spent_s: float) -> tuple[list[Task], str]:
    """One more round for the variants whose verdict against the reference is still open but could still be
    decided within the profile's maximum rounds (:func:`stats.projected_verdict`; the reference is timed again
    beside them: rounds are paired), or no tasks and why the rounds stop.

    ``records`` are the run's so far (rounds not yet merged); ``spent_s`` the seconds extra rounds took.
    """
    settings, limit = profile["inference"], round_limit(profile)
    processes: dict[tuple[str, str], list[dict[str, Any]]] = {}  # each variant's records, one per process
    cost: dict[int, dict[str, float]] = {}  # round -> task -> seconds
    for r in records:
        if r["scenario"] == "inference" and r["batch_size"] == 1 and r["status"] == "ok" \
                and Setting.ROUND in r["settings"]:
            processes.setdefault((r["framework"], r["variant"]), []).append(r)
            cost.setdefault(r["settings"][Setting.ROUND], {})[r["settings"].get(Setting.TASK, "")] = \
                r["settings"].get(Setting.TASK_S, 0.0)
    timed = {key: RoundSeries.of_processes(recs) for key, recs in processes.items()}
    done = 1 + max(cost, default=-1)
    ref = catalog.reference()
    ran = f"{done} round(s) of batch-1 timing"
    if done >= limit:
        return [], f"{ran}, the profile's maximum"
    if (ref.runtime, ref.name) not in timed:
        return [], f"{ran}: the reference was not timed, so no verdict can call for more"
    base = timed[(ref.runtime, ref.name)]
    comparisons = {v: stats.calm_speedup(base.medians, cand.medians, set(base.disturbed | cand.disturbed))
                   for v in catalog.selected(frameworks) if v is not ref
                   and (cand := timed.get((v.runtime, v.name))) is not None}
    open_ = [v for v, c in comparisons.items() if c["verdict"] == "inconclusive"]
    if not open_:
        return [], f"{ran}: every verdict against the reference decided"
    # futility: a verdict whose rounds disagree by more than the remaining rounds could average out stays open
    open_ = [v for v in open_ if stats.projected_verdict(comparisons[v], comparisons[v]["rounds"] + limit - done)
             != "inconclusive"]
    if not open_:
        return [], (f"{ran}: the verdicts still open are too close to call at their spread so far, even if "
                    f"every round up to {limit} agreed")
    chosen = [v for v in catalog.selected(frameworks) if v in open_ or v is ref]
    tasks = _shared(chosen, device, done, None) + _reference_again(chosen, device, done, profile)
    estimate = sum(cost[done - 1].get(str(TaskKey.parse(t.key).in_round(done - 1)), 0.0) for t in tasks)
    if spent_s + estimate > settings.get("extra_rounds_s", 0.0):
        return [], (f"{ran}: {len(open_)} verdict(s) still open, but another round would pass the "
                    f"{settings.get('extra_rounds_s', 0.0):g} s budget for extra rounds")
    return tasks, ""


def _params(v: Variant, device: str, round_: int, threads: int | None, fresh: bool) -> dict[str, Any]:
    return {"round": round_, "threads": threads, "fresh": fresh, "precision": v.precision,
            "device": "cpu" if v.cpu_only else device, "unsupported": unsupported(v, device)}


def _task(v: Variant, device: str) -> Task:
    """The first round of ``v``: a fresh process (cold start, memory, sweep)."""
    return Task(key=str(TaskKey("inference", v.runtime, v.name, round=0)), module=__name__, scenario="inference",
                framework=v.runtime, variant=v.name, label=f"Inference: {v.label}", needs=v.needs,
                params=_params(v, device, 0, None, fresh=True))


def _shared(chosen: list[Variant], device: str, round_: int, threads: int | None) -> list[Task]:
    """One task per framework family measuring its variants' batch-1 latency in turn (unsupported ones left
    out: round 0 records why)."""
    tasks = []
    for family in dict.fromkeys(v.family for v in chosen):
        members = tuple({"framework": v.runtime, "variant": v.name, "label": f"Inference: {v.label}",
                         "needs": list(v.needs), "params": _params(v, device, round_, threads, fresh=False)}
                        for v in chosen if v.family == family and not unsupported(v, device))
        if not members:
            continue
        name = catalog.display(family)
        what = f"round {round_ + 1}" if threads is None else f"{threads} thread{'s' if threads > 1 else ''}"
        key = str(TaskKey("inference", family, round=round_) if threads is None
                  else TaskKey("inference", family, threads=threads))
        tasks.append(Task(key=key, module=__name__, scenario="inference", framework=family, variant="shared",
                          label=f"Inference: {name}, {len(members)} variant(s) ({what})",
                          params={"round": round_, "threads": threads, "fresh": False}, members=members))
    return tasks


def _reference_again(chosen: list[Variant], device: str, round_: int, profile: dict[str, Any]) -> list[Task]:
    """The reference timed again at the end of round ``round_``, each time in a process of its own, until the
    round has timed it in ``reference_processes`` processes (none where it is not selected or cannot run)."""
    ref = catalog.reference()
    if ref not in chosen or unsupported(ref, device):
        return []
    (alone,) = _shared([ref], device, round_, threads=None)  # the reference's own member, as in every round
    return [replace(alone, key=str(TaskKey("inference", ref.runtime, ref.name, again=n, round=round_)),
                    label=f"Inference: {ref.label}, again (round {round_ + 1})")
            for n in range(1, reference_processes(profile))]


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """One process of batch-1 rounds (and, in a fresh process, its cold start and batch sweep) for a variant."""
    settings = ctx.profile["inference"]
    size, num_classes = settings["image_size"], settings["num_classes"]
    device, threads = task.params["device"], task.params["threads"] or ctx.threads
    base = memory.baseline() if task.params["fresh"] else None  # the bare process, before the runtime
    backend, startup = _start(task, ctx, size, num_classes, device, threads)
    agreement = _agreement(backend, ctx, size)
    common = {Setting.IMAGE_SIZE: size, Setting.NUM_CLASSES: num_classes, Setting.THREADS: backend.thread_settings(),
              Setting.THREAD_COUNT: threads, Setting.ROUND: task.params["round"], Setting.MEMORY_METHOD: memory.METHOD}
    ident = {"device": device, "precision": task.params["precision"]}
    fresh = task.params["fresh"]  # a process of its own: cold start, memory and the sweep are this variant's
    records = [make_record("startup", task.framework, task.variant, batch_size=1, **ident, metrics=startup,
                           settings=common)] if fresh else []
    scenario = "inference" if not task.params["threads"] else "threads"
    batches = settings["batch_sizes_cuda" if device == "cuda" else "batch_sizes"] if fresh else [1]
    meter = energy.Meter.open(device)  # the counter of the device that does the work, where it can be read
    best = 0.0
    for batch in batches:
        timing = TimingSettings(**settings["timing" if batch == 1 else "sweep_timing"])
        record = _timed(task, ctx, backend, batch, timing, meter, base, scenario, ident, common, agreement)
        records.append(record)
        if record["status"] != "ok":  # out of memory ends the sweep; any other error is recorded too
            break
        stop = None if batch == batches[-1] else flattened(batch, record["metrics"]["throughput_ips"]["value"], best)
        if stop:
            record["settings"][Setting.SWEEP_STOP] = stop
            break
        best = max(best, record["metrics"]["throughput_ips"]["value"])
    return records


def _start(task: Task, ctx: Context, size: int, num_classes: int, device: str,
           threads: int) -> tuple[Any, dict[str, float]]:
    """The variant's backend imported, its model loaded and called once, with the seconds of each part."""
    from reportgen.backends import load_backend

    start = time.perf_counter()
    backend = load_backend(task.framework, task.variant, threads, device)
    import_s = time.perf_counter() - start
    start = time.perf_counter()
    state: dict[str, np.ndarray] = {}
    if (ctx.artifacts / WEIGHTS_FILE).exists():
        with np.load(ctx.artifacts / WEIGHTS_FILE) as npz:
            state = {k: npz[k] for k in npz.files}
    backend.load(state, str(ctx.artifacts), num_classes, size)
    load_s = time.perf_counter() - start
    first_input = backend.to_input(images(ctx.seed + 1, 1, size))
    first_call_s = timer.time_call(lambda: backend.sync(backend.predict(first_input)))
    return backend, {"import_s": import_s, "load_s": load_s, "first_call_s": first_call_s,
                     "cold_start_s": import_s + load_s + first_call_s}


def _agreement(backend: Any, ctx: Context, size: int) -> dict[str, float]:
    """Same function as the reference? Logits of the fixed check images against the PyTorch reference model's.

    One image per call: the batch-1 path that is timed (a batch would make tf.function, XLA and torch.compile
    trace or compile another shape in every round and every 1-thread run, only for this check). Each image is
    a slice, laid out like the timed input: ``image[None]`` has stride 0 on its batch axis, and torch.compile
    guards on strides (it recompiled for the check: 2.3 s per process)."""
    fixed = check_images(ctx.seed, size)
    check = np.concatenate([backend.to_numpy(backend.predict(backend.to_input(fixed[i:i + 1]))).copy()  # a runtime
                            for i in range(len(fixed))])  # may reuse its output buffer per call
    return logit_agreement(np.load(ctx.artifacts / REFERENCE_OUTPUTS), check)


def _timed(task: Task, ctx: Context, backend: Any, batch: int, timing: TimingSettings, meter: energy.Meter,
           base: memory.Baseline | None, scenario: str, ident: dict[str, str], common: dict[str, Any],
           agreement: dict[str, float]) -> dict[str, Any]:
    """The timed loop at ``batch``: latency, throughput, energy and (in a fresh process, whose bare memory is
    ``base``) peak memory of the process and of the runtime and model above it, beside the variant's
    ``agreement`` with the reference; a failed record that says why where it raised (out of memory named as
    such)."""
    size = common[Setting.IMAGE_SIZE]
    try:
        inputs = backend.to_input(images(ctx.seed + 2, batch, size))
        samples = timer.time_loop(lambda: backend.sync(backend.predict(inputs)), timing, meter=meter)
    except Exception as exc:
        message = failure_reason(exc)
        oom = any(marker in message.lower() for marker in OOM_MARKERS)
        return make_record(scenario, task.framework, task.variant, batch_size=batch, **ident, status="failed",
                           reason=(f"out of memory at batch {batch}: " if oom else "") + message, settings=common)
    samples_ms = [s * 1e3 for s in samples]
    metrics = stats.latency_summary(samples_ms)
    metrics["throughput_ips"] = stats.throughput(batch, samples)
    joules, joules_settings = energy.per_image(meter.last, batch * len(samples))
    metrics.update(joules)
    if base is not None:  # a shared process's peak would be the largest of all the variants it ran
        metrics["peak_rss_mb"] = memory.process_peak_mb(base)
        runtime = memory.runtime_peak_mb(base)
        if runtime is not None:
            metrics["runtime_peak_mb"] = runtime
        gpu = backend.peak_gpu_mem_mb()
        if gpu is not None:
            metrics["peak_gpu_mem_mb"] = gpu
    metrics.update(agreement)
    return make_record(scenario, task.framework, task.variant, batch_size=batch, **ident, metrics=metrics,
                       samples={"latency_ms": samples_ms},
                       settings={**common, Setting.TIMING: timing.__dict__, Setting.SAMPLES: len(samples),
                                 **joules_settings})


def flattened(batch: int, throughput: float, best: float) -> str | None:
    """Why the sweep stops at ``batch`` (it added under ``SWEEP_FLAT`` over ``best``, the best smaller batch's
    throughput), or None to go on."""
    gain = throughput / best - 1 if best else None
    if gain is None or gain >= thresholds.SWEEP_FLAT:
        return None
    return (f"throughput flattened: batch {batch} added {gain:+.0%} over the best smaller batch (under "
            f"{thresholds.SWEEP_FLAT:.0%}); larger batches not measured")


STARTUP_PARTS = ("import_s", "load_s", "first_call_s", "cold_start_s")


def merge_rounds(records: list[dict[str, Any]], rounds_stop: str = "") -> list[dict[str, Any]]:
    """Pool each variant's rounds into one record per measurement.

    Batch-1 latency: all raw samples, each process's median with its round number (in round order: rounds are
    the independent unit that comparisons pair; the reference has several processes per round, counted as one
    by :func:`stats.by_round`), the relative half-width of the interval on the median across rounds, and no
    verdict: whether a variant is too noisy to decide is its comparison's business (the findings layer).
    Energy per image: every round's joules over every round's images (:func:`energy.pooled`).
    Start-up: the median of each part, with every round's value kept as samples.
    """
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    rest = []
    for rec in records:
        if (rec["scenario"] == "startup" or (rec["scenario"] == "inference" and rec["batch_size"] == 1)) \
                and rec["status"] == "ok" and Setting.ROUND in rec["settings"]:
            groups.setdefault((rec["scenario"], rec["framework"], rec["variant"], rec["device"]), []).append(rec)
        else:
            rest.append(rec)
    merged = [_merge_startup(g) if key[0] == "startup" else _merge_latency(g, rounds_stop)
              for key, g in groups.items()]
    return rest + merged


_PER_PROCESS = (Setting.ROUND, Setting.TASK, Setting.SAMPLES, Setting.TIMING, Setting.FOREIGN_CPU, Setting.STEAL_CPU,
                Setting.ENERGY)  # settings of one process that a merged record keeps per round or not at all


def _merged_settings(group: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The settings of a record that pools ``group`` (one variant's processes, in round order): the first one's
    shared settings, and per round where each came from, what its task took and whether the machine was ours."""
    first = group[0]
    settings: dict[str, Any] = {k: v for k, v in first["settings"].items() if k not in _PER_PROCESS}
    key = TaskKey(first["scenario"], first["framework"], first["variant"], merged=True)
    settings.update({Setting.TASK: str(key), Setting.ROUNDS: len(group)})
    settings.update(extra)
    settings[Setting.ROUND_TASKS] = [r["settings"].get(Setting.TASK) for r in group]
    if all(Setting.TASK_S in r["settings"] for r in group):
        settings[Setting.TASK_S] = round(sum(r["settings"][Setting.TASK_S] for r in group), 2)  # all rounds' tasks
        settings[Setting.ROUND_TASK_S] = [r["settings"][Setting.TASK_S] for r in group]
    if Setting.TIMING in first["settings"]:
        settings[Setting.TIMING] = first["settings"][Setting.TIMING]
    if all(Setting.FOREIGN_CPU in r["settings"] for r in group):  # per round: was the machine ours?
        settings[Setting.ROUND_FOREIGN_CPU] = [r["settings"][Setting.FOREIGN_CPU] for r in group]
    if Setting.ROUND in first["settings"]:  # which round each value came from: comparisons pair rounds by number
        settings[Setting.ROUND_NUMBERS] = [r["settings"][Setting.ROUND] for r in group]
    return settings


def _merge_startup(group: list[dict[str, Any]]) -> dict[str, Any]:
    first = group[0]
    samples = {p: [r["metrics"][p]["value"] for r in group] for p in STARTUP_PARTS}
    return make_record("startup", first["framework"], first["variant"], device=first["device"],
                       precision=first["precision"], batch_size=1,
                       metrics={p: float(np.median(v)) for p, v in samples.items()}, samples=samples,
                       settings=_merged_settings(group))


def _merge_latency(group: list[dict[str, Any]], rounds_stop: str = "") -> dict[str, Any]:
    group.sort(key=lambda r: r["settings"][Setting.ROUND])
    first = group[0]
    samples = [s for r in group for s in r["samples"]["latency_ms"]]
    medians = [r["metrics"]["latency_ms_p50"]["value"] for r in group]
    metrics = stats.latency_summary(samples)
    metrics["throughput_ips"] = stats.throughput(1, [s / 1e3 for s in samples])
    for name, pick in (("peak_rss_mb", max), ("runtime_peak_mb", max), ("peak_gpu_mem_mb", max), ("max_abs_diff", max),
                       ("top1_agreement", min)):
        values = [r["metrics"][name]["value"] for r in group if name in r["metrics"]]
        if values:
            metrics[name] = pick(values)
    joules, joules_settings = energy.pooled(group)
    metrics.update(joules)
    series = RoundSeries.of_processes(group)  # halfwidth None with one round: no interval, so no noise verdict
    settings = _merged_settings(group, **{
        Setting.SAMPLES: len(samples), Setting.ROUND_MEDIANS_MS: medians, Setting.ROUND_SPREAD: series.spread or 0.0,
        Setting.MEDIAN_HALFWIDTH: series.halfwidth, Setting.PROCESSES: len(group),
        Setting.ROUNDS: len(series.medians), **joules_settings,
        **({Setting.ROUNDS_STOP: rounds_stop} if rounds_stop else {})})
    return make_record("inference", first["framework"], first["variant"], device=first["device"],
                       precision=first["precision"], batch_size=1, metrics=metrics,
                       samples={"latency_ms": samples}, settings=settings)
