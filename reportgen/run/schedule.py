"""The order tasks run in: the plan's order, one at a time, or side by side where a task's ``places`` allow it
(:func:`reportgen.config.places`: every task of a profile whose timings are not meant to be read, smoke; the
conversions of quick, beside each other only): whenever a place is free, the first task in plan order whose
inputs no earlier unfinished task still makes and which fits beside those running.

Side by side, tasks run in threads of this process (each waits for its own measuring subprocess), and the
records of every task that may share the CPU are stamped ``tasks_at_once`` so that no page reads them as a calm
measurement. Ctrl-C or an error stops every running child at once (:func:`reportgen.process.launch.stop_all`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from reportgen.process import launch
from reportgen.process.runner import Task


def inputs(task: Task) -> set[str]:
    """The artifacts ``task`` reads: its own needs and each member's, and those it uses where they were made."""
    return set(task.needs).union(task.reads, *(m.get("needs", ()) for m in task.members))


def run_tasks(tasks: Sequence[Task], execute: Callable[[Task], object], skip: Callable[[Task], bool],
              places: int | Callable[[Task], int] = 1, barrier: tuple[int, Callable[[], None]] | None = None,
              stopping: Callable[[], None] = lambda: None) -> None:
    """Execute every task not skipped, in order. ``places``: how many tasks, itself included, may run while a
    task runs (one number for all, or per task); a task starts only where it fits beside every running one and
    they beside it. ``barrier`` is ``(index, then)``: once every task up to ``index`` has finished, ``then()``
    runs alone (it may execute more tasks). ``stopping`` is called first when an error or Ctrl-C ends the run
    while tasks run side by side."""
    launch.allow_starts()
    room = places if callable(places) else (lambda _task, n=places: n)
    at_once = max((room(t) for t in tasks), default=1)
    if at_once <= 1:
        for index, task in enumerate(tasks):
            if not skip(task):
                execute(task)
            if barrier and index == barrier[0]:
                barrier[1]()
        return
    pool = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="task")
    waiting = [(i, t) for i, t in enumerate(tasks)]  # in plan order; skip() is asked when a task's turn comes
    running: dict[Future[object], int] = {}
    unfinished: set[int] = set(range(len(tasks)))
    try:
        while waiting or running:
            for index, task in list(waiting):
                if len(running) == at_once:
                    break
                if len(running) >= min([room(task)] + [room(tasks[i]) for i in running.values()]):
                    continue  # it does not fit beside the running tasks: a later one may
                if barrier and index > barrier[0]:
                    break  # the barrier comes first
                if any(j < index and set(tasks[j].produces) & inputs(task) for j in unfinished):
                    continue  # an earlier task still makes one of its inputs: later ones may go first
                waiting.remove((index, task))
                if skip(task):
                    unfinished.discard(index)
                    continue
                running[pool.submit(execute, task)] = index
            if barrier and not running and not any(i <= barrier[0] for i, _ in waiting):
                then, barrier = barrier[1], None
                then()  # alone: every task up to it has finished
                continue
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    unfinished.discard(running.pop(future))
                    future.result()  # an exception in a task ends the run here
    except BaseException:
        stopping()
        launch.stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        launch.allow_starts()  # every thread is done: later runs in this process may start children again
