"""Isolation: a crash, hang or exception in a measuring subprocess becomes a record, never a lost run."""

import dataclasses
import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from reportgen.config import get_profile, profile_settings
from reportgen.process import envs
from reportgen.process.runner import Context, Task, child_env, describe_exit, onednn_requested, run_isolated

WORKLOADS = textwrap.dedent('''
    import ctypes, os, signal, time
    from reportgen.store.results import make_record

    def run_task(task, ctx):
        how = task.params["how"]
        if how == "ok":
            return [make_record("inference", task.framework, task.variant, metrics={"latency_ms_p50": 1.0},
                                settings={"threads_env": os.environ["OMP_NUM_THREADS"], "threads": ctx.threads,
                                          "pid": os.getpid()})]
        if how == "raise":
            raise RuntimeError("converter said no")
        if how in ("leave-files", "leave-files-and-crash"):  # as TensorFlow's autograph does
            import tempfile

            with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as left:
                left.write("generated = True")
            if how == "leave-files-and-crash":
                with open(task.params["where"], "w") as fh:
                    fh.write(left.name)
                os.abort()
            return [make_record("inference", task.framework, task.variant, settings={"left": left.name})]
        if how == "segfault":
            print("about to crash", flush=True)
            ctypes.string_at(0)
        if how == "abort":
            os.abort()
        if how == "hang":
            time.sleep(600)
        if how == "exit":
            raise SystemExit(3)
        if how == "torch-busy":  # a real framework at work, until someone kills it
            import torch

            open(task.params["ready"], "w").close()
            while True:
                torch.randn(256, 256) @ torch.randn(256, 256)
''')


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    (tmp_path / "fake_workloads.py").write_text(WORKLOADS)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return Context(artifacts=tmp_path / "artifacts", threads=1, device="cpu", seed=0, profile={})


def task(how: str) -> Task:
    return Task(key=f"test/{how}", module="fake_workloads", scenario="inference", framework="torch",
                variant=how, label=how, params={"how": how})


def test_ok_task_returns_its_records_with_thread_env(ctx: Context, tmp_path: Path) -> None:
    (rec,) = run_isolated(task("ok"), ctx, 60, tmp_path / "w")
    assert rec["status"] == "ok"
    assert rec["settings"] == {"threads_env": "1", "threads": 1, "task": "test/ok", "pid": rec["settings"]["pid"],
                               "environment": envs.environment("torch").record()}


@pytest.mark.parametrize(("profile", "kind", "threads"), [
    ("smoke", "timing", 2), ("smoke", "conversion", 1), ("smoke", "training", 1),
    ("quick", "timing", 2), ("quick", "conversion", 1), ("quick", "training", 2)])
def test_a_task_sharing_the_cpu_gets_its_share_of_the_threads_unless_it_is_timed(
        ctx: Context, tmp_path: Path, profile: str, kind: str, threads: int) -> None:
    """Two trainings at 2 threads each on 2 cores ran up to 15x slower than alone, their threads waiting for
    each other at every operation: a conversion or a training beside another task gets its share of the cores
    (in its environment and its context), a timed task the run's count, which is what it measures."""
    run = dataclasses.replace(ctx, threads=2, profile=profile_settings(get_profile(profile)))
    (rec,) = run_isolated(dataclasses.replace(task("ok"), kind=kind), run, 60, tmp_path / "w")
    assert (rec["settings"]["threads_env"], rec["settings"]["threads"]) == (str(threads), threads)


def test_what_a_child_leaves_in_its_temporary_folder_goes_with_it(ctx: Context, tmp_path: Path) -> None:
    import tempfile

    (rec,) = run_isolated(task("leave-files"), ctx, 60, tmp_path / "w")
    left = Path(rec["settings"]["left"])
    assert left.parent.parent == Path(tempfile.gettempdir()) and not left.parent.exists()
    crash = dataclasses.replace(task("leave-files-and-crash"), params={"how": "leave-files-and-crash",
                                                                       "where": str(tmp_path / "where")})
    (crashed,) = run_isolated(crash, ctx, 60, tmp_path / "w")
    assert crashed["status"] == "failed" and "SIGABRT" in crashed["reason"]
    left = Path((tmp_path / "where").read_text())
    assert left.parent.name.startswith("reportgen-task-") and not left.parent.exists()


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("raise", "RuntimeError: converter said no"),
        ("segfault", "killed by SIGSEGV; about to crash"),
        ("abort", "killed by SIGABRT"),
        ("exit", "exited with code 3"),
    ],
)
def test_failures_become_failed_records(ctx: Context, tmp_path: Path, how: str, reason: str) -> None:
    (rec,) = run_isolated(task(how), ctx, 60, tmp_path / "w")
    assert rec["status"] == "failed"
    assert rec["framework"] == "torch" and rec["variant"] == how and rec["scenario"] == "inference"
    assert reason in rec["reason"]
    assert rec["settings"]["task"] == f"test/{how}"


def shared(*hows: str) -> Task:
    members = tuple({"framework": "torch", "variant": f"{how}-{i}", "label": how, "params": {"how": how}}
                    for i, how in enumerate(hows))
    return Task(key="test/shared", module="fake_workloads", scenario="inference", framework="torch",
                variant="shared", label="shared", members=members)


def test_a_shared_task_measures_its_members_in_one_process(ctx: Context, tmp_path: Path) -> None:
    records = run_isolated(shared("ok", "raise", "ok"), ctx, 60, tmp_path / "w")
    assert [(r["variant"], r["status"]) for r in records] == [("ok-0", "ok"), ("raise-1", "failed"), ("ok-2", "ok")]
    assert records[0]["settings"]["pid"] == records[2]["settings"]["pid"]  # one import for all of them
    assert "converter said no" in records[1]["reason"] and {r["settings"]["task"] for r in records} == {"test/shared"}


@pytest.mark.parametrize("how", ["segfault", "hang"])
def test_a_crash_in_a_shared_process_loses_only_the_member_it_hit(ctx: Context, tmp_path: Path, how: str) -> None:
    records = run_isolated(shared("ok", how, "ok", "ok"), ctx, 1.5, tmp_path / "w")
    assert [(r["variant"], r["status"]) for r in records] == [("ok-0", "ok"), (f"{how}-1", "failed"), ("ok-2", "ok"),
                                                              ("ok-3", "ok")]
    assert ("killed by SIGSEGV" if how == "segfault" else "timed out") in records[1]["reason"]
    assert "shared with 3 other variant(s)" in records[1]["reason"]
    assert records[0]["settings"]["pid"] != records[2]["settings"]["pid"] == records[3]["settings"]["pid"]


def test_hang_is_killed_at_the_timeout(ctx: Context, tmp_path: Path) -> None:
    (rec,) = run_isolated(task("hang"), ctx, 2, tmp_path / "w")
    assert rec["status"] == "failed"
    assert rec["reason"].startswith("timed out after 2 s")


def test_child_env_sets_threads_and_hides_gpus_on_cpu() -> None:
    env = child_env(3, "cpu")
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert "CUDA_VISIBLE_DEVICES" not in child_env(3, "cuda") or os.environ.get("CUDA_VISIBLE_DEVICES") is not None


@pytest.mark.slow
def test_killing_a_running_framework_subprocess_is_a_failed_record(ctx: Context, tmp_path: Path) -> None:
    """What the OOM killer (or a user's ``kill -9``) does to a measuring PyTorch process: a failed record,
    with the signal named, and the parent goes on."""
    busy = Task(key="test/torch-busy", module="fake_workloads", scenario="inference", framework="torch",
                variant="eager", label="busy", params={"how": "torch-busy", "ready": str(tmp_path / "ready")})
    got: list[dict] = []
    thread = threading.Thread(target=lambda: got.extend(run_isolated(busy, ctx, 120, tmp_path / "w")))
    thread.start()
    deadline = time.monotonic() + 90
    while not (tmp_path / "ready").exists():
        assert time.monotonic() < deadline and thread.is_alive(), "the torch worker never started"
        time.sleep(0.2)
    (worker,) = [p for p in psutil.Process().children() if "reportgen.process.worker" in p.cmdline()]  # no watchdog
    worker.send_signal(signal.SIGKILL)
    thread.join(timeout=30)
    assert not thread.is_alive()
    (rec,) = got
    assert rec["status"] == "failed" and rec["framework"] == "torch" and rec["variant"] == "eager"
    assert rec["reason"].startswith("killed by SIGKILL") and "out of memory" in rec["reason"]
    (after,) = run_isolated(task("ok"), ctx, 60, tmp_path / "w")  # the next measurement runs as usual
    assert after["status"] == "ok"


def test_child_env_turns_tensorflow_onednn_on_unless_the_user_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert child_env(2, "cpu")["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert onednn_requested(child_env(2, "cpu"))  # what data-parallel records say, without importing TensorFlow
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert child_env(2, "cpu")["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert not onednn_requested(child_env(2, "cpu"))


def test_describe_exit() -> None:
    assert describe_exit(-9).startswith("killed by SIGKILL")
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(2) == "exited with code 2"


SPAWNER = textwrap.dedent('''
    import os, subprocess, sys, tempfile, time

    def run_task(task, ctx):
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with tempfile.NamedTemporaryFile(delete=False) as left:  # in the task's own temporary folder
            left.write(b"left behind")
        with open(task.params["pids"], "w") as fh:
            fh.write(f"{os.getpid()} {grandchild.pid} {left.name}")
        time.sleep(600)
''')

DRIVER = textwrap.dedent('''
    import sys
    from pathlib import Path
    from reportgen.store.lock import RunLock
    from reportgen.process.runner import Context, Task, run_isolated

    root = Path(sys.argv[1])
    ctx = Context(artifacts=root / "artifacts", threads=1, device="cpu", seed=0, profile={})
    task = Task(key="test/spawn", module="spawner", scenario="inference", framework="torch", variant="spawn",
                label="spawn", params={"pids": str(root / "pids")})
    with RunLock(root / "results") as lock:
        run_isolated(task, ctx, 600, root / "w", inherit_fds=(lock.fd,))
''')


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_children_die_with_a_sigkilled_parent_and_release_the_run_lock(tmp_path: Path) -> None:
    """SIGKILL of `reportgen run` used to leave its measuring child running at 96% CPU beside a --resume."""
    import subprocess
    import sys

    from reportgen.errors import ReportgenError
    from reportgen.store.lock import RunLock

    (tmp_path / "spawner.py").write_text(SPAWNER)
    (tmp_path / "results").mkdir()
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    parent = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path)], env=env)
    deadline = time.monotonic() + 60
    while not (tmp_path / "pids").is_file() or not (tmp_path / "pids").read_text():
        assert time.monotonic() < deadline and parent.poll() is None, "the measuring child never started"
        time.sleep(0.1)
    child, grandchild, left = (tmp_path / "pids").read_text().split()
    child, grandchild, left = int(child), int(grandchild), Path(left)
    with pytest.raises(ReportgenError, match=f"another reportgen run \\(pid {parent.pid}"):
        RunLock(tmp_path / "results").__enter__()
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while (_alive(child) or _alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child) and not _alive(grandchild), "a measuring process outlived its parent"
    assert not left.parent.exists(), "the task's temporary folder outlived its parent"
    with RunLock(tmp_path / "results"):  # the lock went with the last process of the run
        pass


@pytest.mark.slow
def test_each_library_roof_is_its_own_task(ctx: Context, tmp_path: Path) -> None:
    """An ONNX Runtime that fails to import used to lose the NumPy and torch roofs as well. The GEMM sizes are
    the profile's."""
    from reportgen.scenarios import roof

    smoke = get_profile("smoke")
    ctx = dataclasses.replace(ctx, profile=profile_settings(smoke), device="cuda")  # as in a CUDA run: CPU roofs

    broken = tmp_path / "onnxruntime"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('libonnxruntime.so: cannot open [/opt/ort/lib]')\n")
    tasks = {t.framework: t for t in roof.plan()}
    assert {"numpy", "onnxruntime"} <= set(tasks) and len({t.key for t in tasks.values()}) == len(tasks)
    (ort,) = run_isolated(tasks["onnxruntime"], ctx, 60, tmp_path / "w")
    (numpy,) = run_isolated(tasks["numpy"], ctx, 60, tmp_path / "w")
    assert ort["status"] == "failed" and "[/opt/ort/lib]" in ort["reason"] and ort["device"] == "cpu"
    assert numpy["status"] == "ok" and numpy["metrics"]["gemm_gflops"]["value"] > 0
    assert set(numpy["settings"]["gflops_per_size"]) == {str(size) for size in smoke.roof.sizes}


# A measuring task that starts two data-parallel "workers" the way the training scaling task does, each of
# which starts a process in a session of its own, as torchrun does with each of its workers.
LAUNCHER = textwrap.dedent('''
    import os, sys
    from pathlib import Path
    from reportgen.process import launch

    TORCHRUN_LIKE = """
    import os, subprocess, sys, time
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    with open(sys.argv[1] + ".tmp", "w") as fh:
        fh.write(f"{os.getpid()} {worker.pid}")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(600)
    """

    def run_task(task, ctx):
        root = Path(task.params["root"])
        (root / "measuring").write_text(str(os.getpid()))
        launch.run([launch.Child([sys.executable, "-c", TORCHRUN_LIKE, str(root / f"group{i}")], dict(os.environ),
                                 root / f"group{i}.log") for i in range(2)], 600, own_session=False)
''')

LAUNCH_DRIVER = textwrap.dedent('''
    import sys
    from pathlib import Path
    from reportgen.process.runner import Context, Task, run_isolated

    root = Path(sys.argv[1])
    ctx = Context(artifacts=root / "artifacts", threads=1, device="cpu", seed=0, profile={})
    task = Task(key="test/launcher", module="launcher", scenario="training-scaling", framework="torch",
                variant="data-parallel", label="launcher", params={"root": str(root)})
    run_isolated(task, ctx, 600, root / "w")
''')


def _launcher_task(root: Path) -> Task:
    (root / "launcher.py").write_text(LAUNCHER)
    return Task(key="test/launcher", module="launcher", scenario="training-scaling", framework="torch",
                variant="data-parallel", label="launcher", params={"root": str(root)})


def _group_pids(root: Path, wait_s: float = 60) -> list[int]:
    """The measuring process, then each worker and the process it started in a session of its own."""
    deadline = time.monotonic() + wait_s
    while not all((root / name).is_file() for name in ("measuring", "group0", "group1")):
        assert time.monotonic() < deadline, "the data-parallel workers never started"
        time.sleep(0.1)
    return [int((root / "measuring").read_text())] + [int(p) for i in range(2)
                                                        for p in (root / f"group{i}").read_text().split()]


def _gone(pids: list[int], wait_s: float = 10) -> bool:
    deadline = time.monotonic() + wait_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(_alive(p) for p in pids)


@pytest.mark.slow
def test_a_timed_out_measurement_takes_down_workers_in_sessions_of_their_own(ctx: Context, tmp_path: Path) -> None:
    (rec,) = run_isolated(_launcher_task(tmp_path), ctx, 8, tmp_path / "w")
    assert rec["status"] == "failed" and rec["reason"].startswith("timed out after 8 s")
    pids = _group_pids(tmp_path, wait_s=0)
    assert _gone(pids), [p for p in pids if _alive(p)]


def test_a_measuring_process_killed_from_outside_takes_down_its_workers(ctx: Context, tmp_path: Path) -> None:
    """The OOM killer picks the measuring process: what it launched (torchrun, and the workers torchrun put
    in sessions of their own) must not keep running."""
    got: list[dict] = []
    thread = threading.Thread(target=lambda: got.extend(run_isolated(_launcher_task(tmp_path), ctx, 600,
                                                                     tmp_path / "w")))
    thread.start()
    pids = _group_pids(tmp_path)
    os.kill(pids[0], signal.SIGKILL)
    thread.join(timeout=30)
    assert not thread.is_alive()
    (rec,) = got
    assert rec["status"] == "failed" and rec["reason"].startswith("killed by SIGKILL")
    assert _gone(pids), [p for p in pids if _alive(p)]


def test_workers_in_sessions_of_their_own_die_with_a_sigkilled_parent(tmp_path: Path) -> None:
    import subprocess
    import sys

    _launcher_task(tmp_path)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    parent = subprocess.Popen([sys.executable, "-c", LAUNCH_DRIVER, str(tmp_path)], env=env)
    try:
        pids = _group_pids(tmp_path)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert _gone(pids), "a data-parallel worker outlived the run that started it"
