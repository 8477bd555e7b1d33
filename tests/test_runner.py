"""Isolation: a crash, hang or exception in a measuring subprocess becomes a record, never a lost run."""

import os
import textwrap
from pathlib import Path

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


def test_describe_exit() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(2) == "exited with code 2"
