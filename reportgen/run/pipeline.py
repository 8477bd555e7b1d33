"""One measuring run: detect the machine, run every task in isolation, store results after each task."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from reportgen import __version__, hardware, scenarios, web
from reportgen.artifacts import LOGS_FOLDER
from reportgen.backends import missing_reason
from reportgen.config import Profile, places, profile_settings, task_timeout
from reportgen.errors import ReportgenError
from reportgen.measure import machine_load
from reportgen.process.runner import Context, Task, child_threads, failed_record, member_task, run_isolated
from reportgen.run import schedule
from reportgen.scenarios import inference, training
from reportgen.store.lock import RunLock
from reportgen.store.paths import ensure_writable
from reportgen.store.records import Setting
from reportgen.store.results import (
    SCHEMA_VERSION,
    ResultStore,
    measured_anything,
    new_run_id,
    record_problem,
    utc_now,
)


@dataclass
class RunOptions:
    """What ``reportgen run`` was asked to do."""

    profile: Profile
    frameworks: list[str]
    results_dir: Path
    device: str = "auto"
    threads: int = 0  # 0: one per physical core
    seed: int = 0
    resume: bool = False
    command: list[str] = field(default_factory=lambda: ["reportgen", *sys.argv[1:]])  # no local install path


def _new_run(opts: RunOptions, machine: dict[str, Any], device: str, threads: int) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": new_run_id(),
        "machine_id": hardware.machine_id(machine),
        "status": "incomplete",
        "started_at": utc_now(),
        "finished_at": None,
        "reportgen_version": __version__,
        "command": opts.command,
        "seed": opts.seed,
        "options": {"frameworks": opts.frameworks, "device": device, "threads": threads},
        "profile": profile_settings(opts.profile),
        "machine": machine,
        "records": [],
    }


def _resumable(store: ResultStore, machine_id: str) -> dict[str, Any]:
    runs = [r for r in store.load_all().runs if r["machine_id"] == machine_id]
    if not runs or runs[-1]["status"] != "incomplete":
        raise ReportgenError(f"--resume: no incomplete run of this machine ({machine_id}) in {store.root}")
    return runs[-1]


def measure(opts: RunOptions, console: Console) -> tuple[dict[str, Any], Path]:
    """Run every task of the profile and return the stored run and its file.

    Results are saved after each task, so an interrupted run keeps everything finished so far (marked
    ``incomplete``); ``resume`` continues the latest incomplete run of this machine.
    """
    store = ResultStore(opts.results_dir)
    ensure_writable(store.root, "results directory")
    with RunLock(store.root) as lock:  # one run per results folder: a second one would skew the timings
        return _measure(opts, console, store, lock)


@dataclass
class _Started:
    """A run under way: its record, where it is stored, its tasks' context and plan, the keys already done."""

    run: dict[str, Any]
    path: Path
    ctx: Context
    tasks: list[Task]
    done: set[str]


def _measure(opts: RunOptions, console: Console, store: ResultStore, lock: RunLock) -> tuple[dict[str, Any], Path]:
    """The run in its phases: start (or resume) it, execute its tasks, then finish it."""
    started = _start(opts, console, store)
    begun = time.perf_counter()
    rounds_stop = _execute(started, console, store, lock)
    wall = None if opts.resume else time.perf_counter() - begun  # a resumed run's table holds earlier tasks too
    console.print(duration_table(started.run["records"], wall_s=wall))
    return _finish(started, console, store, rounds_stop)


def _start(opts: RunOptions, console: Console, store: ResultStore) -> _Started:
    """A new run (or the one to resume) stored, its context and its plan of tasks."""
    machine = hardware.detect(probe_cuda=opts.device != "cpu")
    if opts.resume:
        run = _resumable(store, hardware.machine_id(machine))
        device, threads = run["options"]["device"], run["options"]["threads"]
        console.print(f"Resuming run {run['run_id']} ({len(run['records'])} records kept)")
    else:
        device = hardware.resolve_device(opts.device, machine)
        threads = opts.threads or hardware.default_threads(machine)
        run = _new_run(opts, machine, device, threads)
    if set(run["options"]["frameworks"]) & set(training.TRAINERS):
        training.check_dataset(run["profile"]["training"], run["seed"])  # fails before measuring, not in a child
    path = store.save(run)
    ctx = Context(artifacts=path.with_suffix(".work"), threads=threads, device=device, seed=run["seed"],
                  profile=run["profile"])
    tasks = scenarios.plan(run["options"]["frameworks"], run["profile"], device, threads)
    console.print(f"Run {run['run_id']} on {run['machine_id']}: profile {run['profile']['name']}, "
                  f"device {device}, {threads} threads, {len(tasks)} tasks")
    return _Started(run, path, ctx, tasks, {r["settings"].get(Setting.TASK) for r in run["records"]})


def _execute(started: _Started, console: Console, store: ResultStore, lock: RunLock) -> str:
    """Every planned task, side by side where the profile allows, each one's records stored as it ends; then
    more rounds where a verdict is open. Returns why the rounds stopped."""
    run, ctx, tasks = started.run, started.ctx, started.tasks
    columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    fds = (lock.fd,) if lock.fd is not None else ()
    rounds = [i for i, t in enumerate(tasks) if t.scenario == "inference" and not t.params.get("threads")]
    rounds_stop = ""

    def room(task: Task) -> int:  # side by side only where timings are not for reading (smoke; conversions)
        return places(run["profile"], task.kind)

    saving, stopped = threading.Lock(), threading.Event()
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("starting", total=len(tasks))

        def execute(task: Task) -> float:
            """Run one task, store its records at once; returns the seconds it took."""
            progress.update(bar, description=task.label)
            began, load = time.perf_counter(), machine_load.snapshot()
            task = scenarios.bind(task, run["records"], run["profile"])  # what earlier tasks found decides some
            records = [_checked(r) for r in _run_one(task, ctx, run, fds)]
            seconds = time.perf_counter() - began
            _stamp(records, task, seconds, machine_load.foreign_share(load, machine_load.snapshot()), room(task), ctx)
            with saving:
                if stopped.is_set():  # interrupted side by side: a killed child is no result, and resume reruns it
                    return seconds
                run["records"] = [r for r in run["records"] if r["settings"].get(Setting.TASK) != task.key] + records
                store.save(run)
            _report(console, task, records, seconds)
            progress.advance(bar)
            return seconds

        def skip(task: Task) -> bool:
            """A task a resumed run finished already (its records stored, its files still there)."""
            if task.key in started.done and all((ctx.artifacts / p).exists() for p in task.produces):
                progress.advance(bar)
                return True
            return False

        def more_rounds() -> None:  # the planned rounds are done: more where a verdict is open
            nonlocal rounds_stop
            rounds_stop = _extra_rounds(run, ctx.device, ctx.threads, execute, lambda n: progress.update(
                bar, total=progress.tasks[0].total + n))
            console.print(f"  Inference: {rounds_stop}", highlight=False, markup=False)

        # the planned rounds must all be done before more can be chosen; a profile that adds none needs no wait
        extra = bool(rounds) and inference.may_add_rounds(run["profile"])
        schedule.run_tasks(tasks, execute, skip, room, (rounds[-1], more_rounds) if extra else None,
                           stopping=stopped.set)
        if rounds and not extra:
            more_rounds()  # none to add: says why the rounds stop
    return rounds_stop


def _stamp(records: list[dict[str, Any]], task: Task, seconds: float, foreign: dict[str, Any] | None, room: int,
           ctx: Context) -> None:
    """What every record of a task carries: the task's seconds and scenario, whether the machine was ours while it
    ran (``foreign``: machine_load's shares), and how many tasks shared the CPU with it by design."""
    for record in records:
        settings = record["settings"]
        settings.update({Setting.TASK_S: round(seconds, 2), Setting.TASK_SCENARIO: task.scenario})
        if foreign is not None:
            settings.update({Setting.FOREIGN_CPU: foreign["foreign"], Setting.STEAL_CPU: foreign["steal"],
                             Setting.MACHINE_CPUS: foreign["cpus"]})
        if room > 1:  # shared the CPU with other tasks by design: no page reads it as a calm timing
            settings.update({Setting.TASKS_AT_ONCE: room, Setting.TASK_THREADS: child_threads(task, ctx)})


def _finish(started: _Started, console: Console, store: ResultStore, rounds_stop: str) -> tuple[dict[str, Any], Path]:
    """Rounds pooled and efficiency computed, the run's status judged and stored, the Try-it files kept."""
    run, ctx = started.run, started.ctx
    run["records"] = [_checked(r) for r in scenarios.finish(ctx, run["records"], rounds_stop)]
    # A run without one inference or training measurement is a failed run (a GEMM roof alone is no result): it
    # is kept, but never shown as this machine's result.
    run["status"], run["finished_at"] = "complete" if measured_anything(run["records"]) else "failed", utc_now()
    path = store.save(run)
    try:  # the Try-it page is built from the trained model's files and held-out images, kept beside the results
        web.keep_demo(ctx.artifacts, web.demo_dir(path), run["seed"])
    except OSError as exc:
        console.print(Text(f"  the browser demo's files were not kept: {exc}", style="yellow"))
    shutil.rmtree(ctx.artifacts, ignore_errors=True)
    return run, path


def _checked(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, or where a figure cannot be true (NaN, a negative time, no samples) a failed record that says
    which: an impossible number is never stored, and the run goes on."""
    why = record_problem(record)
    if why is None:
        return record
    return {**record, "status": "failed", "reason": f"measured an impossible value: {why}", "metrics": {},
            "samples": {}}


def _extra_rounds(run: dict[str, Any], device: str, threads: int, execute: Callable[[Task], float],
                  grow: Callable[[int], None]) -> str:
    """Add rounds while a verdict is open, within the profile's maximum and time budget; returns why they
    stopped (:func:`reportgen.scenarios.inference.next_round`)."""
    spent = 0.0
    while True:
        more, why = inference.next_round(run["records"], run["profile"], run["options"]["frameworks"], device,
                                         threads, spent)
        if not more:
            return why
        grow(len(more))
        spent += sum(execute(task) for task in more)


def _run_one(task: Task, ctx: Context, run: dict[str, Any], inherit_fds: tuple[int, ...]) -> list[dict[str, Any]]:
    if task.members:  # each member is skipped for its own reason; the rest share one child
        skipped, runnable = [], []
        for member in task.members:
            reason = _why_not(member_task(task, member), ctx)
            if reason:
                skipped.append(failed_record(member_task(task, member), ctx, "skipped", reason))
            else:
                runnable.append(member)
        task = replace(task, members=tuple(runnable))
        if not runnable:
            return skipped
        return skipped + run_isolated(task, ctx, task_timeout(run["profile"], task.kind), ctx.artifacts / LOGS_FOLDER,
                                      inherit_fds)
    reason = _why_not(task, ctx)
    if reason:
        return [failed_record(task, ctx, "skipped", reason)]
    return run_isolated(task, ctx, task_timeout(run["profile"], task.kind), ctx.artifacts / LOGS_FOLDER, inherit_fds)


def _why_not(task: Task, ctx: Context) -> str | None:
    """Why ``task`` cannot run here (unsupported, framework missing, an input an earlier task did not make)."""
    reason = task.params.get("unsupported") or missing_reason(task.framework)
    if reason is None:
        missing = [p for p in task.needs if not (ctx.artifacts / p).exists()]
        if missing:
            reason = f"needs {', '.join(missing)}, which an earlier task did not produce (see its record)"
    return reason


def duration_table(records: list[dict[str, Any]], slowest: int = 5, wall_s: float | None = None) -> Table:
    """Seconds per scenario (tasks, total) and the slowest tasks, from each record's ``task_s``: one task
    counted once, however many records it left (a round's start-up, latency and sweep records; a merged
    record stands for each of its rounds' tasks). ``wall_s``: the clock time of all tasks, shorter than
    their sum where some ran side by side."""
    tasks: dict[str, tuple[str, float]] = {}
    for rec in records:
        settings = rec["settings"]
        scenario = settings.get("task_scenario", rec["scenario"])
        if "round_task_s" in settings:
            tasks.update((task, (scenario, s)) for task, s in zip(settings["round_tasks"], settings["round_task_s"],
                                                                   strict=True))
        elif "task_s" in settings:
            tasks[settings["task"]] = (scenario, settings["task_s"])
    table = Table(title="Where the time went", title_justify="left")
    for column in ("scenario / task", "tasks", "seconds", "share"):
        table.add_column(column, justify="left" if column == "scenario / task" else "right")
    total = sum(s for _, s in tasks.values()) or 1.0
    by_scenario: dict[str, list[float]] = {}
    for scenario, seconds in tasks.values():
        by_scenario.setdefault(scenario, []).append(seconds)
    for scenario, values in sorted(by_scenario.items(), key=lambda kv: -sum(kv[1])):
        table.add_row(scenario, str(len(values)), f"{sum(values):.0f}", f"{sum(values) / total:.0%}")
    for key, (_, seconds) in sorted(tasks.items(), key=lambda kv: -kv[1][1])[:slowest]:
        table.add_row(f"  slowest: {key}", "", f"{seconds:.0f}", f"{seconds / total:.0%}")
    table.add_row("all tasks", str(len(tasks)), f"{total:.0f}", "100%")
    if wall_s is not None:
        table.add_row("wall clock (tasks side by side overlap)", "", f"{wall_s:.0f}", "")
    return table


def _report(console: Console, task: Task, records: list[dict[str, Any]], seconds: float) -> None:
    """One line per task; reasons and labels are printed as plain text (they may hold ``[...]``)."""
    bad = [r for r in records if r["status"] != "ok"]
    if bad and len(bad) == len(records):
        line = Text.assemble("  ", (bad[0]["status"], "red"), f" {task.label} ({seconds:.1f} s): {bad[0]['reason']}")
    else:
        line = Text.assemble("  ", ("ok", "green"), f" {task.label} ({seconds:.1f} s)")
        if bad:
            line.append_text(Text.assemble("; ", (f"{len(bad)} of {len(records)} not ok", "red"),
                                           f", first: {bad[0]['variant']}: {bad[0]['reason']}"))
    console.print(line, highlight=False, soft_wrap=True)
