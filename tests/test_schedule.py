"""Tasks side by side (the smoke profile): never more than asked, never before the task that makes an input."""

from __future__ import annotations

import threading
import time

import pytest

from reportgen.process.runner import Task
from reportgen.run.schedule import run_tasks


def task(key: str, needs: tuple[str, ...] = (), produces: tuple[str, ...] = (), member_needs: tuple[str, ...] = ()
         ) -> Task:
    members = ({"framework": "x", "variant": key, "label": key, "needs": member_needs},) if member_needs else ()
    return Task(key=key, module="m", scenario="s", framework="x", variant=key, label=key, needs=needs,
                produces=produces, members=members)


class Recorder:
    """Executes a task by sleeping; notes when each started and finished and how many ran at once."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds, self.lock = seconds, threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.running = self.most = 0

    def __call__(self, t: Task) -> float:
        with self.lock:
            self.events.append(("start", t.key))
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds.get(t.key, 0.02))
        with self.lock:
            self.running -= 1
            self.events.append(("end", t.key))
        return 0.0

    def before(self, first: tuple[str, str], then: tuple[str, str]) -> bool:
        return self.events.index(first) < self.events.index(then)


def test_side_by_side_never_runs_more_than_asked_nor_before_an_inputs_maker() -> None:
    tasks = [task("weights", produces=("w.npz",)), task("member-needs", member_needs=("w.npz",)),
             task("needs-weights", needs=("w.npz",)), task("other"), task("third")]
    execute = Recorder({"weights": 0.3})
    run_tasks(tasks, execute, skip=lambda t: False, places=2)
    assert execute.most == 2 and len(execute.events) == 10
    for key in ("other", "third"):  # independent: they went ahead of the tasks that wait for the weights
        assert execute.before(("end", key), ("end", "weights"))
    for key in ("needs-weights", "member-needs"):
        assert execute.before(("end", "weights"), ("start", key))


def test_the_barrier_runs_alone_after_everything_before_it() -> None:
    tasks = [task("a"), task("b"), task("c")]
    execute = Recorder({"a": 0.1, "b": 0.15})
    seen: list[list[tuple[str, str]]] = []
    run_tasks(tasks, execute, skip=lambda t: t.key == "c", places=2, barrier=(1, lambda: seen.append(
        list(execute.events))))
    assert sorted(seen[0]) == sorted([("start", "a"), ("end", "a"), ("start", "b"), ("end", "b")])
    assert ("start", "c") not in execute.events  # skipped (a resumed run finished it already)


@pytest.mark.parametrize("at_once", [1, 2])
def test_an_error_in_one_task_stops_the_run_and_is_raised(at_once: int) -> None:
    stopped = threading.Event()

    def execute(t: Task) -> float:
        if t.key == "bad":
            raise OSError("disk full")
        time.sleep(0.05)
        return 0.0

    with pytest.raises(OSError, match="disk full"):
        run_tasks([task("ok"), task("bad"), task("later")], execute, skip=lambda t: False, places=at_once,
                  stopping=stopped.set)
    assert stopped.is_set() == (at_once > 1)  # one at a time, nothing else is running to stop
    from reportgen.process import launch

    assert not launch._STOPPING.is_set()  # a later run in this process (another test) can start children


def test_a_file_a_task_reads_where_it_was_made_is_waited_for() -> None:
    """ONNX Runtime's conversion runs the Keras export when there is one: beside the Keras task it must wait."""
    from reportgen.scenarios import conversion

    keras, ort = (next(t for t in conversion.TASKS if t.framework == f) for f in ("tensorflow", "onnxruntime"))
    assert set(keras.produces) & set(ort.reads)
    tasks = [task("keras", produces=keras.produces), task("other"),
             Task(key="ort", module="m", scenario="s", framework="x", variant="ort", label="ort", reads=ort.reads)]
    execute = Recorder({"keras": 0.2})
    run_tasks(tasks, execute, skip=lambda t: False, places=2)
    assert execute.before(("end", "keras"), ("start", "ort"))


def test_conversions_run_beside_each_other_and_a_timed_task_alone() -> None:
    """Quick's ``conversions_at_once``: conversions pair up (a later one goes ahead of a timed task that must
    wait), while a timed task never shares the CPU with anything."""
    from dataclasses import replace

    from reportgen.config import PROFILES, places, profile_settings

    quick = profile_settings(PROFILES["quick"])
    tasks = [replace(task("convert-a"), kind="conversion"), replace(task("convert-b"), kind="conversion"),
             task("timed"), replace(task("convert-c"), kind="conversion"), task("timed-too")]
    execute = Recorder({"convert-a": 0.2, "convert-b": 0.1, "convert-c": 0.1})
    run_tasks(tasks, execute, skip=lambda t: False, places=lambda t: places(quick, t.kind))
    assert execute.most == 2
    assert execute.before(("start", "convert-b"), ("end", "convert-a"))  # side by side
    assert execute.before(("start", "convert-c"), ("end", "convert-a"))  # ahead of the timed task, beside a
    for timed in ("timed", "timed-too"):
        start = execute.events.index(("start", timed))
        assert execute.events[start + 1] == ("end", timed)  # nothing started or ran while it ran
        assert all(execute.before(("end", c), ("start", timed)) for c in ("convert-a", "convert-b", "convert-c"))


def test_places_per_kind_of_a_stored_profile() -> None:
    from reportgen.config import PROFILES, TASK_KINDS, places, profile_settings

    quick, smoke, full = (profile_settings(PROFILES[n]) for n in ("quick", "smoke", "full"))
    assert [places(quick, k) for k in TASK_KINDS] == [1, 2, 1]  # timing, conversion, training
    assert {places(smoke, k) for k in TASK_KINDS} == {2}
    assert {places(full, k) for k in TASK_KINDS} == {1}
    del quick["conversions_at_once"]  # a run stored before the setting converted one at a time
    assert places(quick, "conversion") == 1
