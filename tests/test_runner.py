"""Isolation: a crash, hang or exception in a measuring subprocess becomes a record, never a lost run."""

import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from reportgen.runner import Context, Task, child_env, describe_exit, run_isolated

WORKLOADS = textwrap.dedent('''
    import ctypes, os, signal, time
    from reportgen.results import make_record

    def run_task(task, ctx):
        how = task.params["how"]
        if how == "ok":
            return [make_record("inference", task.framework, task.variant, metrics={"latency_ms_p50": 1.0},
                                settings={"threads_env": os.environ["OMP_NUM_THREADS"]})]
        if how == "raise":
            raise RuntimeError("converter said no")
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
    assert rec["settings"] == {"threads_env": "1", "task": "test/ok"}


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
    (worker,) = [p for p in psutil.Process().children(recursive=True) if "reportgen.worker" in p.cmdline()]
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
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert child_env(2, "cpu")["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_describe_exit() -> None:
    assert describe_exit(-9).startswith("killed by SIGKILL")
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(2) == "exited with code 2"
