"""One environment per framework family: a child runs in its family's interpreter, a family whose environment
failed is skipped with the reason, and one interpreter for everything stays an option."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import reportgen

from reportgen.backends import missing_reason
from reportgen.process import envs
from reportgen.process.runner import Context, Task, run_isolated

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD = '''
import os, sys
from reportgen.store.results import make_record

def run_task(task, ctx):
    return [make_record("inference", task.framework, task.variant, metrics={"latency_ms_p50": 1.0},
                        settings={"wrapper": os.environ.get("WRAPPED_BY", "")})]
'''


def _fake_envs(folder: Path, failed: tuple[str, ...] = ()) -> Path:
    """A manifest whose families run this interpreter through a wrapper that says which family it is."""
    entries = {}
    for family in ("torch", "tensorflow", "onnxruntime", "openvino"):
        if family in failed:
            entries[family] = {"status": "failed", "reason": f"installing {family}-cpu.txt failed: no wheel"}
            continue
        python = folder / family / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text(f'#!/bin/sh\nWRAPPED_BY={family} exec "{sys.executable}" "$@"\n')
        python.chmod(0o755)
        this = envs.describe_this_interpreter(family)
        entries[family] = {"status": "ok", "build": "cpu", "lock": f"locks/{family}.txt", "lock_sha256": "0" * 64,
                           "versions": this.versions, "modules": list(this.modules)}
    (folder / envs.MANIFEST).write_text(json.dumps({"schema": 1, "build": "cpu", "environments": entries}))
    return folder


@pytest.fixture
def per_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = _fake_envs(tmp_path / "envs", failed=("onnxruntime",))
    (tmp_path / "fake_family_workload.py").write_text(WORKLOAD)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv(envs.ENVS_VARIABLE, str(folder))
    envs.clear_cache()
    yield folder
    envs.clear_cache()


def _task(framework: str) -> Task:
    return Task(key=f"test/{framework}", module="fake_family_workload", scenario="inference", framework=framework,
                variant="x", label=framework)


@pytest.mark.parametrize(("framework", "family"), [("torch", "torch"), ("tflite", "tensorflow"),
                                                   ("openvino", "openvino")])
def test_a_measuring_child_runs_in_its_familys_interpreter(per_family: Path, tmp_path: Path, framework: str,
                                                           family: str) -> None:
    ctx = Context(artifacts=tmp_path / "a", threads=1, device="cpu", seed=0, profile={})
    (rec,) = run_isolated(_task(framework), ctx, 60, tmp_path / "w")
    assert rec["status"] == "ok", rec
    assert rec["settings"]["wrapper"] == family  # started by that family's interpreter
    environment = rec["settings"]["environment"]  # and the record says so: name, lock, interpreter, versions
    assert environment["name"] == family and environment["lock_sha256"] == "0" * 64
    assert environment["python"].endswith(f"{family}/bin/python") and environment["versions"]["numpy"]


def test_a_family_whose_environment_failed_is_skipped_with_the_reason(per_family: Path) -> None:
    reason = missing_reason("onnxruntime")
    assert reason == "onnxruntime environment failed: installing onnxruntime-cpu.txt failed: no wheel"
    assert missing_reason("onnxruntime-web") == reason  # the browser comes with the family
    assert missing_reason("torch") is None and missing_reason("tensorflow") is None  # the others are measured
    assert not envs.importable("onnxruntime", "onnxruntime")


def test_children_of_no_family_run_in_the_harness(per_family: Path) -> None:
    env = envs.environment("numpy")  # NumPy's roof
    assert env.name == envs.HARNESS and env.python == sys.executable


def test_one_interpreter_for_everything_is_an_option(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(envs.ENVS_VARIABLE, envs.SINGLE)
    envs.clear_cache()
    try:
        for framework in ("torch", "tensorflow", "onnxruntime", "numpy"):
            env = envs.environment(framework)
            assert (env.name, env.python, env.status) == (envs.SINGLE, sys.executable, "ok")
        assert envs.summary()["mode"] == envs.SINGLE
    finally:
        envs.clear_cache()


def test_an_environments_folder_without_a_manifest_is_a_one_line_error(tmp_path: Path) -> None:
    proc = reportgen("run", "--profile", "smoke", "--envs", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "no manifest.json there" in proc.stderr, proc.stderr
    assert not (tmp_path / "results").exists()


def test_every_lock_file_exists_and_pins_every_package() -> None:
    """make install syncs from these: a family without its lock could not be installed."""
    for family in ("harness", "torch", "tensorflow", "onnxruntime", "openvino"):
        for build in envs.BUILDS:
            lock = envs.lock_file(family, build)
            pins = [line for line in lock.read_text().splitlines() if line and not line.startswith((" ", "#"))]
            assert pins and all("==" in line for line in pins), lock


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None and not (Path(sys.executable).parent / "uv").is_file(),
                    reason="uv is not installed (make install installs it)")
def test_the_cuda_locks_resolve_as_committed() -> None:
    """A GPU user's install, checked on this CPU machine: resolution only (PyPI metadata), nothing installed."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "envs.py"), "check-cuda"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from reportgen import catalog

    assert proc.stdout.count("resolves as committed") == len(catalog.families()), proc.stdout  # one per family
