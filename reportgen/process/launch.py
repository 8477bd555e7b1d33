"""Start child processes and take them down: one measuring process, or a group of N (torchrun, TF multi-worker).

Every launch goes the same way (:func:`run`):

- each process writes stdout and stderr to its log file; the parent's handle is closed once it has started;
- the parent sleeps in ``wait()`` until every process has exited or the shared deadline has passed
  (``Popen.wait`` with a timeout sleeps between checks, so it takes no CPU from a measurement);
- then, on timeout, on an exception or Ctrl-C, and after a normal exit too (for strays), SIGKILL reaches
  everything they started (:func:`kill`): their process groups, and the group of every descendant in any
  session. ``torchrun`` starts each worker in a session of its own, where killing torchrun's group (or
  torchrun itself) does not reach it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

LOG_TAIL_LINES = 6
_LEADERS: set[int] = set()  # pids of the session leaders run() is waiting for, in any thread
_LEADERS_LOCK = threading.Lock()
_STOPPING = threading.Event()  # set by stop_all(): no run() may start a child until allow_starts()


class Stopped(Exception):
    """A child was to start after :func:`stop_all`: the run is stopping."""


@dataclass(frozen=True)
class Child:
    """One process to start."""

    argv: list[str]
    env: dict[str, str]
    log: Path  # stdout and stderr together
    pass_fds: tuple[int, ...] = ()  # stay open in the child (and here)
    hand_over: tuple[int, ...] = ()  # passed to the child, then closed here: only the child holds them


def run(children: Sequence[Child], timeout_s: float, *, own_session: bool = True) -> list[int] | None:
    """Start ``children`` and wait for all of them: their exit codes, or None when ``timeout_s`` passed first.

    With ``own_session`` each child leads a new session and process group (a measuring process). Without,
    they stay in the caller's group, so that whatever kills that group (a measuring process's watchdog,
    its parent) kills them too: data-parallel workers started inside a measuring process. Either way,
    when this returns or raises, nothing they started is left running and no log file is open.
    """
    procs: list[subprocess.Popen[bytes]] = []
    try:
        try:
            for child in children:
                with open(child.log, "wb") as log:
                    procs.append(subprocess.Popen(
                        child.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=child.env,
                        start_new_session=own_session, pass_fds=(*child.pass_fds, *child.hand_over)))
                with _LEADERS_LOCK:  # registered under the lock that stop_all() takes: it kills it, or it stops here
                    if own_session:
                        _LEADERS.add(procs[-1].pid)
                    if _STOPPING.is_set():
                        raise Stopped("the run is stopping")
        finally:
            for fd in (fd for child in children for fd in child.hand_over):
                os.close(fd)
        deadline = time.monotonic() + timeout_s
        try:
            return [proc.wait(timeout=max(0.0, deadline - time.monotonic())) for proc in procs]
        except subprocess.TimeoutExpired:
            return None
    finally:  # also on Ctrl-C or SIGTERM in the caller, and after a normal exit (strays of the children)
        pids = [proc.pid for proc in procs]
        kill(pids, groups=pids if own_session else ())
        for proc in procs:
            proc.wait()
        with _LEADERS_LOCK:
            _LEADERS.difference_update(pids)


def stop_all() -> None:
    """Kill everything every :func:`run` of this process is waiting for, from any thread, and let no new child
    start (a ``run()`` that tries raises :class:`Stopped`): tasks run side by side are in other threads'
    ``run()`` calls, which then return (and clean up) at once, and none can start its next child after."""
    with _LEADERS_LOCK:
        _STOPPING.set()
        leaders = list(_LEADERS)
    kill(leaders, groups=leaders)


def allow_starts() -> None:
    """Let children start again (a new run in this process, after one that was stopped)."""
    _STOPPING.clear()


def kill(pids: Iterable[int] = (), groups: Iterable[int] = ()) -> None:
    """SIGKILL ``pids``, the members of process ``groups``, and everything they started, in any session.

    A process outside the caller's group dies with its whole group (its strays included); one inside it
    is killed on its own, and never the caller itself. Everything found is stopped (SIGSTOP) first, until
    no new process appears, so that none can start another between the look and the kill.
    """
    pids, groups = set(pids), set(groups)
    found: tuple[set[int], set[int]] = (set(), set())
    try:
        for _ in range(20):
            family = _family(pids | found[0], groups | found[1])
            if family[0] <= found[0] and family[1] <= found[1]:
                break
            found = (found[0] | family[0], found[1] | family[1])
            _signal(*found, signal.SIGSTOP)
    finally:  # whatever happened, nothing is left stopped
        _signal(*found, signal.SIGKILL)


def _family(pids: set[int], groups: set[int]) -> tuple[set[int], set[int]]:
    """``pids``, the members of ``groups`` and all their descendants, and every group they belong to, closed
    under both (the caller's own group is never expanded to its members)."""
    own = os.getpgrp()
    parent_group: dict[int, tuple[int, int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        try:
            parent_group[proc.pid] = (proc.info["ppid"], os.getpgid(proc.pid))
        except OSError:  # gone meanwhile
            continue
    children, members = defaultdict(list), defaultdict(list)
    for pid, (ppid, pgid) in parent_group.items():
        children[ppid].append(pid)
        members[pgid].append(pid)
    groups = {g for g in groups if g != own}
    found: set[int] = set()
    todo = [p for p in pids if p in parent_group] + [p for g in groups for p in members[g]]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo += children[pid]
        pgid = parent_group[pid][1]
        if pgid != own and pgid not in groups:
            groups.add(pgid)
            todo += members[pgid]
    return found, groups


def _signal(pids: set[int], groups: set[int], sig: signal.Signals) -> None:
    own, me = os.getpgrp(), os.getpid()
    for pgid in groups - {own}:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in pids - {me}:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def torchrun(module: str, args: list[str], workers: int, env: dict[str, str], log: Path) -> list[Child]:
    """``torchrun --standalone`` starting ``workers`` processes of ``python -m module args`` on this machine."""
    return [Child([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={workers}",
                   "-m", module, *args], env, log)]


def tf_multi_worker(module: str, args: list[str], env: dict[str, str], logs: list[Path]) -> list[Child]:
    """One ``python -m module args`` per log, each with its ``TF_CONFIG``: a cluster of workers on localhost."""
    cluster = {"worker": [f"localhost:{free_port()}" for _ in logs]}
    return [Child([sys.executable, "-m", module, *args],
                  {**env, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}, log)
            for i, log in enumerate(logs)]


def free_port() -> int:
    """A TCP port on localhost that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def describe_exit(returncode: int) -> str:
    """``killed by SIGSEGV`` or ``exited with code 3``; a SIGKILL names the usual culprit."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"killed by signal {-returncode}"
        if name == "SIGKILL":  # nothing in reportgen sends it to a child that is still within its timeout
            return "killed by SIGKILL (from outside; out of memory, if the kernel's OOM killer sent it)"
        return f"killed by {name}"
    return f"exited with code {returncode}"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last non-empty lines of a child's output, joined for a one-line reason."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail)[-800:]
