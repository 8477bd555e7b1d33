"""Launchers: a group of N processes that times out, fails to start or finishes leaves nothing running and
no log file open, even where a worker starts a process in a session of its own (as torchrun does)."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from reportgen.process import launch

# A worker that starts two grandchildren, one in its own process group and one in a session of its own
# (what torchrun does with each of its workers), writes all three pids, then sleeps or exits.
WORKER = textwrap.dedent('''
    import os, subprocess, sys, time

    sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
    same = subprocess.Popen(sleep)
    other = subprocess.Popen(sleep, start_new_session=True)
    with open(sys.argv[1] + ".tmp", "w") as fh:
        fh.write(f"{os.getpid()} {same.pid} {other.pid}")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    print("worker started", flush=True)
    if sys.argv[2] == "sleep":
        time.sleep(600)
    os._exit(int(sys.argv[2]))  # leaves both grandchildren behind as strays
''')


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _children(tmp_path: Path, then: list[str]) -> list[launch.Child]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    return [launch.Child([sys.executable, str(script), str(tmp_path / f"pids{i}"), how], dict(os.environ),
                         tmp_path / f"worker{i}.log") for i, how in enumerate(then)]


def _pids(tmp_path: Path, count: int) -> list[int]:
    return [int(p) for i in range(count) for p in (tmp_path / f"pids{i}").read_text().split()]


def _all_gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 5  # SIGKILL is delivered at once; the kernel may take a moment to tear down
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(p) for p in pids)


@pytest.mark.parametrize("own_session", [True, False], ids=["own-session", "caller-group"])
def test_a_timed_out_group_leaves_no_process_behind_and_no_log_open(tmp_path: Path, own_session: bool) -> None:
    before = _open_fds()
    children = _children(tmp_path, ["sleep", "sleep", "sleep"])
    started = time.monotonic()
    assert launch.run(children, 2, own_session=own_session) is None
    assert time.monotonic() - started < 20
    pids = _pids(tmp_path, 3)
    assert len(set(pids)) == 9
    assert _all_gone(pids), [p for p in pids if _alive(p)]
    assert _open_fds() == before
    assert all("worker started" in c.log.read_text() for c in children)


def test_strays_of_a_finished_group_are_killed(tmp_path: Path) -> None:
    """Strays in a worker's process group die with it. One that a worker left in a session of its own is out
    of reach once the worker has exited (nothing links it to the launch any more): the test kills those."""
    before = _open_fds()
    children = _children(tmp_path, ["0", "3"])
    try:
        assert launch.run(children, 60) == [0, 3]
        worker, same, _ = _pids(tmp_path, 1)
        worker1, same1, _ = _pids(tmp_path, 2)[3:]
        assert _all_gone([worker, same, worker1, same1])
        assert _open_fds() == before
        assert [c.log.read_text() for c in children] == ["worker started\n"] * 2
    finally:
        launch.kill(groups=[int(p) for i in range(2) for p in (tmp_path / f"pids{i}").read_text().split()[2:]])


def test_a_child_that_cannot_start_takes_down_those_already_started(tmp_path: Path) -> None:
    before = _open_fds()
    children = _children(tmp_path, ["sleep"])
    missing = launch.Child([str(tmp_path / "no-such-program")], dict(os.environ), tmp_path / "missing.log")
    deadline = time.monotonic() + 30
    with pytest.raises(FileNotFoundError):
        launch.run([*children, missing], 60)
    assert time.monotonic() < deadline
    assert _open_fds() == before
    # the first worker was killed at once, perhaps before it wrote its pids: none of its processes may remain
    pids = _pids(tmp_path, 1) if (tmp_path / "pids0").exists() else []
    assert _all_gone(pids)
    assert not [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


def test_handed_over_fds_are_closed_here_and_kept_fds_stay_open(tmp_path: Path) -> None:
    kept_r, kept_w = os.pipe()
    given_r, given_w = os.pipe()
    try:
        child = launch.Child([sys.executable, "-c", "import os, sys; os.fstat(int(sys.argv[1])); "
                              "os.fstat(int(sys.argv[2]))", str(kept_r), str(given_r)], dict(os.environ),
                             tmp_path / "fds.log", pass_fds=(kept_r,), hand_over=(given_r,))
        assert launch.run([child], 60) == [0], child.log.read_text()
        os.fstat(kept_r)
        with pytest.raises(OSError):
            os.fstat(given_r)
    finally:
        for fd in (kept_r, kept_w, given_w):
            os.close(fd)


def test_tf_multi_worker_gives_every_worker_the_cluster_and_its_index(tmp_path: Path) -> None:
    import json

    logs = [tmp_path / f"w{i}.log" for i in range(3)]
    children = launch.tf_multi_worker("reportgen.workloads.training.distributed_keras", ["job.json"], {"A": "1"}, logs)
    configs = [json.loads(c.env["TF_CONFIG"]) for c in children]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
    assert len({tuple(c["cluster"]["worker"]) for c in configs}) == 1 and len(configs[0]["cluster"]["worker"]) == 3
    assert all(c.env["A"] == "1" and c.argv[-3:] == ["-m", "reportgen.workloads.training.distributed_keras", "job.json"]
               for c in children)
    (torchrun,) = launch.torchrun("reportgen.workloads.training.distributed_torch", ["job.json"], 2, {}, logs[0])
    assert torchrun.argv[1:] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                                 "-m", "reportgen.workloads.training.distributed_torch", "job.json"]


def test_after_stop_all_no_child_starts_until_starts_are_allowed_again(tmp_path: Path) -> None:
    """Tasks side by side: once Ctrl-C stopped the run, a thread about to start its next child cannot."""
    sleeper = launch.Child([sys.executable, "-c", "import time; time.sleep(30)"], dict(os.environ), tmp_path / "a.log")
    launch.stop_all()
    try:
        started = time.monotonic()
        with pytest.raises(launch.Stopped):
            launch.run([sleeper], timeout_s=60)
        assert time.monotonic() - started < 10  # killed at once, not waited for
        left = [p for p in psutil.process_iter(["cmdline"]) if "time.sleep(30)" in " ".join(p.info["cmdline"] or [])]
        assert not left
    finally:
        launch.allow_starts()
    quick = launch.Child([sys.executable, "-c", "pass"], dict(os.environ), tmp_path / "b.log")
    assert launch.run([quick], timeout_s=60) == [0]
