"""Run measurement tasks, each in its own subprocess with a timeout; a crash or hang becomes a record.

The child is ``python -m reportgen.process.worker``, started by :func:`reportgen.process.launch.run`: the parent
sleeps in ``wait()`` while it measures, so it steals no CPU from the measurement, and kills all it started when it
ends. A *shared* task (one with ``members``) measures several variants one after another in one child,
which pays the framework's import once; each member's records are kept as soon as it finishes, and when the
child dies, the member it was measuring gets a failed record and the rest go on in a fresh child.

The child leads its own process group and holds the read end of a pipe whose write end only the
parent holds: when the parent dies by any signal, the pipe closes and the child's watchdog kills the whole
group and everything it started (see :mod:`reportgen.process.worker`).

Each child gets a temporary folder of its own (``TMPDIR``), removed when it ends, whether it finished or
crashed: what the frameworks leave there (TensorFlow's autograph sources, torchrun's folders: some 60 files
per quick run) goes with it instead of piling up in the user's ``/tmp``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from reportgen.config import places, task_threads
from reportgen.process import envs, launch
from reportgen.process.launch import LOG_TAIL_LINES, Child, describe_exit, log_tail
from reportgen.store.records import Setting
from reportgen.store.results import make_record

SCRATCH_PREFIX = "reportgen-task-"  # each child's temporary folder: TMPDIR=<system temp>/reportgen-task-XXXX

__all__ = ["LOG_TAIL_LINES", "SCRATCH_PREFIX", "Context", "Task", "child_env", "describe_exit", "failed_record",
           "keras_env", "log_tail", "member_task", "onednn_requested", "partial_path", "run_isolated"]


@dataclass(frozen=True)
class Task:
    """One unit of measurement that runs in one subprocess and returns records."""

    key: str  # unique within a run, e.g. "inference/torch/eager"; --resume skips finished keys
    module: str  # importable module whose run_task(task, ctx) runs in the child
    scenario: str  # the scenario its records belong to
    framework: str
    variant: str
    label: str  # shown in the progress display
    params: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # artifact files an earlier task must have produced
    produces: tuple[str, ...] = ()  # artifact files this task writes
    reads: tuple[str, ...] = ()  # artifact files it uses where an earlier task made them (waited for, not needed)
    kind: str = "timing"  # which timeout applies: one of config.TASK_KINDS
    # a shared task: each member ({"framework", "variant", "label", "needs", "params"}) is measured in turn
    members: tuple[dict[str, Any], ...] = ()


def member_task(task: Task, member: dict[str, Any]) -> Task:
    """The task one member of a shared task stands for (same key: its records belong to the shared task)."""
    return replace(task, framework=member["framework"], variant=member["variant"], label=member["label"],
                   needs=tuple(member.get("needs", ())), params={**task.params, **member.get("params", {})},
                   members=())


def partial_path(out: Path) -> Path:
    """Where a shared task's child appends each finished member's records, one JSON line per member."""
    return out.with_suffix(".partial.jsonl")


@dataclass(frozen=True)
class Context:
    """What every task of one run shares."""

    artifacts: Path
    threads: int
    device: str
    seed: int
    profile: dict[str, Any]


def failed_record(task: Task, ctx: Context, status: str, reason: str) -> dict[str, Any]:
    """The record that stands for a task that did not run or did not finish."""
    settings = {Setting.TASK: task.key, **{k: task.params[k] for k in (Setting.ROUND, Setting.THREADS)
                                                    if task.params.get(k)},
                Setting.ENVIRONMENT: envs.environment(task.framework).record()}
    return make_record(task.scenario, task.framework, task.variant, device=task.params.get("device", ctx.device),
                       precision=task.params.get("precision", "fp32"), status=status, reason=reason,
                       settings=settings)


def child_env(threads: int, device: str) -> dict[str, str]:
    """Environment of a measuring subprocess: explicit thread counts, quiet TensorFlow with oneDNN on."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        env[name] = str(threads)
    env["TF_NUM_INTEROP_THREADS"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONUNBUFFERED"] = "1"
    # TensorFlow at its best on every CPU: its oneDNN kernels are on by default only on CPUs with AVX-512;
    # without them its fallback convolution gradients are several times slower. A value the user set wins.
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU run must not touch a GPU, even if one is present
    return env


def keras_env(framework: str, device: str) -> dict[str, str]:
    """What a child of ``framework`` (a runtime, or a family's shared process) sets for Keras before anything imports
    it: ``KERAS_BACKEND`` from the catalog, which also overrides one the user's shell set. JAX on a CPU run is kept
    to the CPU, and on a GPU allocates as it goes (its default, 75% of the GPU at start, would starve a task beside
    it and make its peak memory the preallocation)."""
    from reportgen import catalog

    backend = catalog.keras_backend(framework)
    if backend is None:
        return {}
    env = {"KERAS_BACKEND": backend}
    if backend == "jax":
        env.update({"JAX_PLATFORMS": "cpu"} if device == "cpu" else {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"})
    return env


def onednn_requested(env: Mapping[str, str]) -> bool:
    """Whether an environment asks TensorFlow for its oneDNN CPU kernels (``TF_ENABLE_ONEDNN_OPTS``, which
    :func:`child_env` sets unless the user did): what a process with it runs, without importing TensorFlow."""
    return env.get("TF_ENABLE_ONEDNN_OPTS", "") in ("1", "true", "True")


def child_threads(task: Task, ctx: Context) -> int:
    """Threads ``task``'s process runs with: the count it times at (a 1-thread run), else its share of the run's
    (:func:`reportgen.config.task_threads`)."""
    return task.params.get("threads") or task_threads(ctx.profile, task.kind, ctx.threads)


def run_isolated(task: Task, ctx: Context, timeout_s: float, workdir: Path,
                 inherit_fds: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """Run ``task`` in a fresh subprocess; always returns records (failed ones when the child died).

    ``inherit_fds`` stay open in the child (the run's lock, so that it is held while any of its processes
    lives). Whatever the child started is killed with it when it ends. A shared task's child has
    ``timeout_s`` per member still to measure.
    """
    environment = envs.environment(task.framework)
    records = _run_members(task, ctx, timeout_s, workdir, inherit_fds, environment.python)
    for rec in records:
        rec["settings"].setdefault(Setting.ENVIRONMENT, environment.record())
    return records


def _run_members(task: Task, ctx: Context, timeout_s: float, workdir: Path, inherit_fds: tuple[int, ...],
                 python: str) -> list[dict[str, Any]]:
    """The records of ``task`` (each member of a shared task in turn, in fresh children after a crash)."""
    if not task.members:
        records, reason = _child(task, ctx, timeout_s, workdir, inherit_fds, python)
        return records if records is not None else [failed_record(task, ctx, "failed", reason)]
    kept: list[dict[str, Any]] = []
    remaining = list(task.members)
    while remaining:
        part = replace(task, members=tuple(remaining))
        records, reason = _child(part, ctx, timeout_s * len(remaining), workdir, inherit_fds, python)
        if records is not None:
            return kept + records
        finished = _read_partial(workdir, task)
        kept += [r for member_records in finished for r in member_records]
        culprit = member_task(task, remaining[len(finished)])
        kept.append(failed_record(culprit, ctx, "failed", f"{reason} (measured in a process shared with "
                                                          f"{len(remaining) - 1} other variant(s))"))
        remaining = remaining[len(finished) + 1:]
    return kept


def _files(workdir: Path, task: Task) -> tuple[Path, Path, Path]:
    stem = task.key.replace("/", "__")
    spec, out, log = (workdir / f"{stem}.{ext}" for ext in ("task.json", "records.json", "log"))
    return spec, out, log


def _read_partial(workdir: Path, task: Task) -> list[list[dict[str, Any]]]:
    """The records of each member a shared child finished, in order (a torn last line is not finished)."""
    path = partial_path(_files(workdir, task)[1])
    finished = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            finished.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return finished


def _child(task: Task, ctx: Context, timeout_s: float, workdir: Path, inherit_fds: tuple[int, ...],
           python: str) -> tuple[list[dict[str, Any]] | None, str]:
    """Run one child in the interpreter ``python``: its records, or None and why it gave none."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec, out, log = _files(workdir, task)
    out.unlink(missing_ok=True)
    partial_path(out).unlink(missing_ok=True)
    threads = child_threads(task, ctx)
    payload = {"task": asdict(task), "context": {**asdict(ctx), "artifacts": str(ctx.artifacts), "threads": threads}}
    spec.write_text(json.dumps(payload), encoding="utf-8")
    env = child_env(threads, task.params.get("device", ctx.device))
    env.update(keras_env(task.framework, task.params.get("device", ctx.device)))
    if places(ctx.profile, task.kind) > 1:  # side by side: an OpenMP thread that spins while it waits takes the CPU
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # the other task needs (torch training 125 s instead of 20 s)
    # A cold start measures compilation, not the compile cache of earlier runs: a fresh child starts with an empty
    # cache of its own. Later rounds read the run's shared cache, which every fresh child's cache is added to:
    # their first call then loads what round 0 compiled (not this user's global cache, nor a recompilation).
    cache, shared_cache = workdir / "compile-cache" / spec.stem, workdir / "compile-cache" / "shared"
    env["TORCHINDUCTOR_CACHE_DIR"] = str(cache if task.params.get("fresh") else shared_cache)
    # JAX's persistent cache the same way, every compilation kept: Keras on JAX compiles each initializer of the
    # model it builds (26 s of a 2-core Xeon's load time, 3.6 s from the cache) besides the jit-compiled step
    env.update(JAX_COMPILATION_CACHE_DIR=env["TORCHINDUCTOR_CACHE_DIR"], JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)  # short: socket paths in it stay within their limit
    env["TMPDIR"] = scratch
    lifeline, parent_end = os.pipe()  # the child's watchdog sees EOF on lifeline when the parent is gone
    try:
        child = Child([python, "-m", "reportgen.process.worker", str(spec), str(out), str(lifeline)], env, log,
                      pass_fds=inherit_fds, hand_over=(lifeline,))  # launch.run closes lifeline here
        codes = launch.run([child], timeout_s)
    finally:
        os.close(parent_end)
        shutil.rmtree(scratch, ignore_errors=True)  # launch.run has killed whatever the child started
    if codes is None:
        return None, f"timed out after {timeout_s:g} s; {log_tail(log)}"
    if task.params.get("fresh") and cache.is_dir():
        try:
            shutil.copytree(cache, shared_cache, dirs_exist_ok=True)
        except (OSError, shutil.Error):
            pass  # later rounds then compile again: slower, not wrong
    (returncode,) = codes
    if returncode == 0 and out.exists():
        return json.loads(out.read_text(encoding="utf-8")), ""
    return None, f"{describe_exit(returncode)}; {log_tail(log)}".rstrip("; ")
