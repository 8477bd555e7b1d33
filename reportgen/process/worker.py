"""Entry point of a measuring subprocess: ``python -m reportgen.process.worker TASK.json OUT.json [LIFELINE_FD]``.

Runs one task and writes its records. A Python exception becomes a failed record with the error; a
crash (signal, abort) leaves no output file and the parent records the exit status instead. A shared
task's members run one after another, each member's records appended to the partial file as soon as it
finishes, so that a crash loses only the member it hit.

With ``LIFELINE_FD`` (the read end of a pipe whose write end only the parent holds), a watchdog process
forked before any framework loads blocks on that pipe; when the parent dies by any signal, SIGKILL
included, the pipe reaches EOF and the watchdog kills this process group and everything the worker
started, in any session (data-parallel workers too: ``torchrun`` starts each in a session of its own).
It sleeps in ``read()``: no polling, no CPU taken from the measurement.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path

from reportgen.errors import failure_reason
from reportgen.process import launch
from reportgen.process.runner import SCRATCH_PREFIX, Context, Task, failed_record, member_task, partial_path
from reportgen.store.records import Setting
from reportgen.store.results import write_json_atomic


def start_watchdog(lifeline: int) -> int:
    """Fork the process that kills this process group once ``lifeline`` reaches EOF; returns its pid."""
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:  # the watchdog: nothing but a blocking read
        try:
            while os.read(lifeline, 1):
                pass
        except OSError:
            pass
        try:  # the parent is gone: so is every process of this task, in this group or in a session of its own
            launch.kill([worker])  # the worker and all it started (torchrun's workers lead sessions of their own)
            scratch = os.environ.get("TMPDIR", "")
            if os.path.basename(scratch).startswith(SCRATCH_PREFIX):  # the task's own temporary folder
                shutil.rmtree(scratch, ignore_errors=True)  # which the parent can no longer remove
        finally:
            os.killpg(os.getpgrp(), signal.SIGKILL)  # then the rest of this group, this watchdog with it
        os._exit(0)  # not reached
    os.close(lifeline)
    return pid


def stop_watchdog(pid: int) -> None:
    """Kill the watchdog process ``pid`` and reap it (the task ended in time)."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def main(argv: list[str]) -> int:
    """The child's entry point: run the task in ``argv[0]``, write its records to ``argv[1]``."""
    spec_path, out_path = Path(argv[0]), Path(argv[1])
    watchdog = start_watchdog(int(argv[2])) if len(argv) > 2 else None
    try:
        return _run(spec_path, out_path)
    finally:
        if watchdog is not None:
            stop_watchdog(watchdog)


def _run(spec_path: Path, out_path: Path) -> int:
    payload = json.loads(spec_path.read_text(encoding="utf-8"))
    task_data = payload["task"]
    task = Task(**{**task_data, **{k: tuple(task_data.get(k, ())) for k in ("needs", "produces", "reads", "members")}})
    ctx = Context(**{**payload["context"], "artifacts": Path(payload["context"]["artifacts"])})
    pin = ctx.profile.get("pin_cpus")
    if pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(pin))  # before any framework starts its thread pools
    if not task.members:
        records = _measure(task, ctx)
    else:
        records = []
        with open(partial_path(out_path), "a", encoding="utf-8") as partial:
            for member in task.members:
                done = _measure(member_task(task, member), ctx)
                partial.write(json.dumps(done) + "\n")
                partial.flush()
                os.fsync(partial.fileno())
                records += done
    write_json_atomic(out_path, records)
    return 0


def _measure(task: Task, ctx: Context) -> list[dict]:
    try:
        module = importlib.import_module(task.module)
        records = module.run_task(task, ctx)
    except Exception as exc:  # a failed measurement is a result, not a crash
        traceback.print_exc()
        records = [failed_record(task, ctx, "failed", failure_reason(exc))]
    for record in records:
        record["settings"].setdefault(Setting.TASK, task.key)
    return records


def leave(code: int) -> None:
    """End the measuring process without the interpreter's teardown: TensorFlow and PyTorch spend about a
    second unwinding their modules and thread pools at exit (1.1-1.4 s and 0.9-1.0 s measured on a 2-core
    EPYC), paid by every child of a run, while the records are already written and fsynced. The standard
    streams (the task's log; unbuffered in a run's children) are flushed first all the same."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    leave(main(sys.argv[1:]))
