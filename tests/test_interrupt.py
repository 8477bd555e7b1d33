"""Ctrl-C during a real run keeps what was measured and the old site; --resume finishes the run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportgen.report.site import SITE_MARKER
from reportgen.store.results import ResultStore

SMALL = """
[inference]
thread_counts = [0]
batch_sizes = [1]

[conversion]
train_epochs = 1
"""


def start_run(root: Path, *extra: str) -> subprocess.Popen[str]:
    # no browser: its ~20 s of Chromium prove nothing here (the smoke run and test_browser measure it)
    env = {**os.environ, "REPORTGEN_CHROMIUM": str(root / "no-chromium")}
    return subprocess.Popen(
        [sys.executable, "-m", "reportgen", "run", "--profile", "smoke", "--frameworks", "onnxruntime",
         "--config", str(root / "small.toml"), "--results-dir", str(root / "results"), "--site-dir",
         str(root / "site"), *extra],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored_runs(root: Path) -> list[dict]:
    return ResultStore(root / "results").load_all().runs


@pytest.mark.slow
def test_sigint_keeps_results_and_site_then_resume_finishes(tmp_path: Path) -> None:
    (tmp_path / "small.toml").write_text(SMALL)
    old_site = tmp_path / "site"
    old_site.mkdir()
    (old_site / "index.html").write_text("the previous site")
    (old_site / SITE_MARKER).write_text("built by reportgen")  # only a site reportgen built is ever replaced

    proc = start_run(tmp_path)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait until the first measurement is stored
        runs = stored_runs(tmp_path)
        if runs and runs[0]["records"]:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    else:
        raise AssertionError("no measurement was stored in time")
    interrupted_at = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - interrupted_at < 10  # stops within a few seconds
    assert proc.returncode == 130, err
    assert "interrupted" in err and "reportgen run --resume" in err and "Traceback" not in err

    (run,) = stored_runs(tmp_path)
    assert run["status"] == "incomplete" and run["records"]
    kept = [json.dumps(r, sort_keys=True) for r in run["records"] if r["scenario"] not in ("inference", "startup")]
    assert (old_site / "index.html").read_text() == "the previous site"  # untouched: no new site was built
    assert not any(p.name.startswith(".site.") for p in tmp_path.iterdir())  # no half-built site either

    build = subprocess.run([sys.executable, "-m", "reportgen", "build", "--results-dir", str(tmp_path / "results"),
                            "--site-dir", str(tmp_path / "site")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "incomplete" in (old_site / "index.html").read_text()  # the page says the run was interrupted

    resumed = start_run(tmp_path, "--resume")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out + err
    assert f"Resuming run {run['run_id']}" in out
    (done,) = stored_runs(tmp_path)
    assert done["run_id"] == run["run_id"] and done["status"] == "complete"
    after = {json.dumps(r, sort_keys=True) for r in done["records"]}
    assert kept and all(record in after for record in kept)  # finished measurements were kept, not repeated
    assert any(r["scenario"] == "inference" and r["status"] == "ok" for r in done["records"])
    assert not (tmp_path / "results" / done["machine_id"] / f"{done['run_id']}.work").exists()
    # the working files are gone; the trained model's files the Try-it page shows are kept beside the results
    assert sorted(os.listdir(tmp_path / "results" / done["machine_id"])) == \
        [f"{done['run_id']}.demo", f"{done['run_id']}.json"]


def test_resume_without_an_interrupted_run_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "small.toml").write_text(SMALL)
    proc = start_run(tmp_path, "--resume")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip().startswith("reportgen: error: --resume: no incomplete run of this machine")
