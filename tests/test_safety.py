"""Nothing a user types or a results file holds may destroy data or crash a command."""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import FIXTURE_RESULTS, SmokeRun, reportgen
from rich.console import Console

from reportgen.errors import ReportgenError
from reportgen.process.runner import Task
from reportgen.report.format import featured_run
from reportgen.report.site import SITE_MARKER, build_site, check_site_dir
from reportgen.store.results import SCHEMA_VERSION, ResultStore, make_record, utc_now
from reportgen.testing import derive_run, parse_utc


def _one_line_error(proc, match: str) -> None:  # noqa: ANN001 - a CompletedProcess
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert match in proc.stderr, proc.stderr


def _tiny_run(machine_id: str = "box-2c", **changes: object) -> dict:
    rec = make_record("machine", "numpy", "sgemm-2048", metrics={"gemm_gflops": 100.0})
    run = {"schema_version": SCHEMA_VERSION, "run_id": "20261201T000000Z-abcd", "machine_id": machine_id,
           "status": "complete", "started_at": utc_now(), "finished_at": utc_now(), "reportgen_version": "0",
           "command": ["reportgen", "run"], "seed": 0,
           "options": {"frameworks": ["torch"], "device": "cpu", "threads": 2}, "profile": {"name": "smoke"},
           "machine": {}, "records": [rec]}
    return {**run, **changes}


@pytest.mark.parametrize("where", [".", "results", "..", "home"])
def test_build_never_replaces_the_working_results_or_home_folder(tmp_path: Path, where: str) -> None:
    """`reportgen build --site-dir .` used to delete the whole working folder, results included."""
    work = tmp_path / "work"
    (work / "results").mkdir(parents=True)
    (work / "results" / "keep.txt").write_text("raw results")
    (work / "notes.txt").write_text("mine")
    target = str(Path.home()) if where == "home" else where
    proc = reportgen("build", "--site-dir", target, cwd=work)
    _one_line_error(proc, f"--site-dir {target}")
    assert (work / "results" / "keep.txt").read_text() == "raw results"
    assert (work / "notes.txt").read_text() == "mine"


def test_build_refuses_a_folder_it_did_not_build_and_replaces_one_it_did(tmp_path: Path) -> None:
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "essay.md").write_text("mine")
    with pytest.raises(ReportgenError, match="holds files that reportgen did not build"):
        check_site_dir(foreign, tmp_path / "results")
    with pytest.raises(ReportgenError, match="inside the results folder"):
        check_site_dir(tmp_path / "results" / "site", tmp_path / "results")
    proc = reportgen("run", "--site-dir", str(foreign), "--results-dir", str(tmp_path / "results"))
    _one_line_error(proc, "holds files that reportgen did not build")
    assert not (tmp_path / "results").exists()  # refused before measuring anything
    assert (foreign / "essay.md").read_text() == "mine"

    site = tmp_path / "site"
    build_site(tmp_path / "results", site)  # absent: built, with the marker
    assert (site / SITE_MARKER).is_file() and (site / "index.html").is_file()
    (site / "stale.html").write_text("from an older build")
    build_site(tmp_path / "results", site)  # a reportgen site: replaced as a whole
    assert not (site / "stale.html").exists() and (site / SITE_MARKER).is_file()


def test_text_in_square_brackets_is_printed_as_written(tmp_path: Path) -> None:
    """Rich markup in a reason or a file name used to crash the run (MarkupError), and --resume with it."""
    from reportgen.run.pipeline import _report

    task = Task(key="inference/onnxruntime/x", module="m", scenario="inference", framework="onnxruntime",
                variant="x", label="Inference: [bold]ONNX[/] Runtime")
    reason = "ImportError: libonnxruntime.so: cannot open [/opt/ort/lib]; pattern '^*$' [red]"
    rec = make_record("inference", "onnxruntime", "x", status="failed", reason=reason)
    out = io.StringIO()
    _report(Console(file=out, width=300, markup=False, highlight=False), task, [rec], 1.0)
    assert reason in out.getvalue() and "[bold]ONNX[/] Runtime" in out.getvalue()

    machine = tmp_path / "results" / "box"
    machine.mkdir(parents=True)
    (machine / "r.json").write_text(json.dumps(_tiny_run(machine_id="[/x]")))
    proc = reportgen("build", "--results-dir", str(tmp_path / "results"), "--site-dir", str(tmp_path / "site"))
    assert proc.returncode == 0, proc.stderr
    assert "'[/x]' does not match" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_a_file_the_pages_cannot_render_is_listed_and_the_rest_is_built(stored_run: SmokeRun, tmp_path: Path) -> None:
    """A results file with `"machine": {}` passes the schema; it used to fail the whole build with a KeyError."""
    store = ResultStore(tmp_path / "results")
    (good,) = ResultStore(stored_run.results).load_all().runs
    store.save(good)
    broken = derive_run(good, machine_id="broken-box", started=parse_utc(good["started_at"]) + timedelta(hours=1))
    broken["machine"] = {}
    store.save(broken)
    proc = reportgen("build", "--results-dir", str(tmp_path / "results"), "--site-dir", str(tmp_path / "site"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"run {broken['run_id']} of machine broken-box: cannot be rendered" in proc.stdout
    index = (tmp_path / "site" / "index.html").read_text()
    assert good["run_id"] in index and broken["run_id"] not in index
    assert broken["run_id"] in (tmp_path / "site" / "hardware.html").read_text()  # listed with its reason


def test_a_run_that_measured_nothing_is_failed_and_never_featured(tmp_path: Path) -> None:
    """`timeout_s = 0` used to give a "complete" run of failed tasks that replaced the real one on the pages."""
    config = tmp_path / "c.toml"
    config.write_text("timeout_s = 0\n")
    proc = reportgen("run", "--config", str(config), "--results-dir", str(tmp_path / "r"), "--site-dir",
                     str(tmp_path / "s"))
    _one_line_error(proc, "timeout_s must be greater than 0")

    config.write_text("[timeouts]\ntiming = 0.01\nconversion = 0.01\n")
    proc = reportgen("run", "--profile", "smoke", "--frameworks", "onnxruntime", "--config", str(config),
                     "--results-dir", str(tmp_path / "r"), "--site-dir", str(tmp_path / "s"), timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (run,) = ResultStore(tmp_path / "r").load_all().runs
    assert run["status"] == "failed" and not any(r["status"] == "ok" for r in run["records"])
    assert "measured nothing" in (tmp_path / "s" / "index.html").read_text()
    (older,) = ResultStore(FIXTURE_RESULTS).load_all().runs  # a run that measured: featured, though older
    assert featured_run([older, run]) is older


def test_timeouts_are_set_per_kind_of_task() -> None:
    from reportgen import scenarios
    from reportgen.config import get_profile, profile_settings, task_timeout

    profile = profile_settings(get_profile("quick"))
    profile["timeouts"]["timing"] = 30.0
    kinds = {t.key.split("/")[0]: t.kind for t in scenarios.plan(["torch", "tensorflow", "onnxruntime"], profile,
                                                                  "cpu", 2)}
    assert kinds["machine"] == kinds["inference"] == "timing"
    assert kinds["prepare"] == kinds["conversion"] == "conversion" and kinds["training"] == "training"
    assert task_timeout(profile, "timing") == 30.0 and task_timeout(profile, "conversion") == 600.0
    assert task_timeout({"timeout_s": 300.0}, "training") == 300.0  # a run stored before per-kind timeouts


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["serve", "--port", "70000"], "port 70000 is out of range 1-65535"),
        (["serve", "--port", "http"], "not a port number: 'http'"),
        (["run", "--frameworks", "onnxruntime", "--dataset", "folder:/nonexistent"],
         "only the training scenario uses a data set"),
    ],
)
def test_small_bad_inputs_are_one_line(tmp_path: Path, args: list[str], match: str) -> None:
    proc = reportgen(*args, cwd=tmp_path)
    _one_line_error(proc, match)
    assert sorted(os.listdir(tmp_path)) == []


def test_a_symlink_loop_in_an_image_folder_counts_each_image_once(tmp_path: Path) -> None:
    from PIL import Image

    from reportgen.workloads.data.folder import load_folder

    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "cat" / "loop").symlink_to(tmp_path, target_is_directory=True)
    data = load_folder(tmp_path, 8)
    assert len(data.train_labels) + len(data.val_labels) == 6


def test_home_and_results_dirs_stay_even_when_site_dir_is_given_twice_removed(tmp_path: Path) -> None:
    """A parent of the results folder is refused too: replacing it would take the results with it."""
    (tmp_path / "out" / "results").mkdir(parents=True)
    with pytest.raises(ReportgenError, match="holds the results folder"):
        check_site_dir(tmp_path / "out", tmp_path / "out" / "results")
    shutil.rmtree(tmp_path / "out")


def _stored_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the stored fixture results and the path of its one results file."""
    from conftest import FIXTURE_RESULTS

    results = tmp_path / "results"
    shutil.copytree(FIXTURE_RESULTS, results)
    return results, next(results.glob("*/*.json"))


@pytest.mark.parametrize("where", ["the run's file", "a history file", "a site file"])
def test_export_output_never_replaces_results_history_or_site_files(tmp_path: Path, where: str) -> None:
    """`export --output r/<machine>/<run>.json` used to replace the raw results with CSV (issue 42, finding 1)."""
    results, stored = _stored_copy(tmp_path)
    history = tmp_path / "history" / "box" / "old.json"
    history.parent.mkdir(parents=True)
    shutil.copy(stored, history)
    site = tmp_path / "site"
    site.mkdir()
    (site / SITE_MARKER).write_text("")
    (site / "index.html").write_text("<html></html>")
    target = {"the run's file": stored, "a history file": history, "a site file": site / "index.html"}[where]
    before = target.read_bytes()
    proc = reportgen("export", "--results-dir", str(results), "--output", str(target), cwd=tmp_path)
    _one_line_error(proc, f"--output {target}")
    assert target.read_bytes() == before


def test_export_output_is_written_whole_and_follows_the_umask(tmp_path: Path) -> None:
    results, _ = _stored_copy(tmp_path)
    out = tmp_path / "rows.csv"
    proc = reportgen("export", "--results-dir", str(results), "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("run_id,")
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    (run,) = ResultStore(results).load_all().runs
    saved = ResultStore(tmp_path / "again").save(run)  # a results file, as a run stores it
    assert saved.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fake_demo(folder: Path, seed: int) -> None:
    """A demo folder with a minimal valid ONNX protobuf (IR version, empty graph) and a real gallery."""
    import numpy as np

    from reportgen import catalog, web

    folder.mkdir(parents=True)
    (folder / web.model_name(catalog.BROWSER[0])).write_bytes(b"\x08\x08\x3a\x00")
    np.savez(folder / web.GALLERY_FILE, **web.gallery(seed))


@pytest.mark.parametrize("bad", ["symlink to a local file", "not an onnx model", "corrupt gallery", "fifo"])
def test_a_bad_demo_file_drops_the_try_it_page_with_its_reason_not_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    """A link in <run>.demo/ was followed into the site (issue 42, finding 2: /etc/shadow published); a corrupt
    gallery stopped the whole build."""
    from reportgen import catalog, web
    from reportgen.report.pages import tryit

    monkeypatch.setattr(web, "runtime_missing", lambda: None)  # the npm runtime is not what is tested here
    results, stored = _stored_copy(tmp_path)
    run = json.loads(stored.read_text())
    demo = web.demo_dir(stored)
    _fake_demo(demo, run["seed"])
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$not-for-the-site")
    model = demo / web.model_name(catalog.BROWSER[0])
    if bad == "symlink to a local file":
        model.unlink()
        model.symlink_to(secret)
    elif bad == "not an onnx model":
        model.write_bytes(secret.read_bytes())
    elif bad == "corrupt gallery":
        (demo / web.GALLERY_FILE).write_bytes(b"PK\x03\x04 not a zip")
    else:
        model.unlink()
        os.mkfifo(model)
    loaded = ResultStore(results).load_all()
    reason = tryit.not_built(loaded)
    assert reason is not None and reason.startswith(demo.name), reason
    loaded = build_site(results, tmp_path / "site")
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and not (site / tryit.ASSETS).exists()
    assert not any("not-for-the-site" in p.read_text(errors="ignore") for p in site.rglob("*") if p.is_file())
    assert demo.name in (site / "tryit.html").read_text()  # the page says why the demo is absent


def test_a_valid_demo_folder_passes_the_checks(tmp_path: Path) -> None:
    from reportgen import web

    _fake_demo(tmp_path / "x.demo", 0)
    assert web.demo_problem(tmp_path / "x.demo") is None


def test_a_results_file_that_is_a_pipe_or_a_link_is_skipped_not_waited_on(tmp_path: Path) -> None:
    results, stored = _stored_copy(tmp_path)
    os.mkfifo(stored.parent / "pipe.json")
    (stored.parent / "link.json").symlink_to(stored)
    loaded = ResultStore(results).load_all()
    assert len(loaded.runs) == 1
    assert sorted(Path(p.split(":")[0]).name for p in loaded.problems) == ["link.json", "pipe.json"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"timeout_s = inf\n", "'timeout_s' must be a finite number, got inf"),
        (b"[training]\nmomentum = 1e400\n", "'training.momentum' must be a finite number, got inf"),
        (b"[training]\nmomentum = nan\n", "'training.momentum' must be a finite number, got nan"),
        (b"# caf\xe9\ntimeout_s = 60\n", "not UTF-8 text (invalid continuation byte at byte 5)"),
        (b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply to read"),
    ],
    ids=["inf", "1e400", "nan", "latin-1", "deep"],
)
def test_a_config_value_or_file_that_cannot_be_used_is_one_line_before_anything_is_made(
        tmp_path: Path, text: bytes, match: str) -> None:
    """`timeout_s = inf` died at the run's first save, leaving its lock and an empty machine folder; a file that
    is not UTF-8, or nested 100,000 deep, was a traceback (finding 7)."""
    (tmp_path / "c.toml").write_bytes(text)
    proc = reportgen("run", "--config", "c.toml", cwd=tmp_path)
    _one_line_error(proc, f"config file c.toml: {match}")
    assert sorted(os.listdir(tmp_path)) == ["c.toml"]


def _into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """``reportgen ARGS`` writing into a pipe whose reader has already gone, as after ``| head -1``."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "reportgen", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)


def test_compare_and_export_say_what_they_compare_and_print_what_is_stored(tmp_path: Path) -> None:
    """compare exited 1, the regression code, into a closed pipe, and compared runs sharing no variant, from
    two machines or in reverse order without a word; the build hint pasted a folder named $(id) unquoted; the
    Markdown export printed nan, <NA> and 6 significant digits (finding 10)."""
    results, stored = _stored_copy(tmp_path)
    store = ResultStore(results)
    (run,) = store.load_all().runs
    started = parse_utc(run["started_at"])
    later = derive_run(run, machine_id="other-box", started=started + timedelta(days=1))
    store.save(later)
    bare = derive_run(run, machine_id=run["machine_id"], started=started + timedelta(days=2))
    bare["records"] = [r for r in bare["records"] if r["scenario"] != "inference"]
    store.save(bare)

    proc = reportgen("compare", later["run_id"], run["run_id"], "--results-dir", str(results))
    assert proc.returncode == 0, proc.stderr
    assert f"two machines ({later['machine_id']}, {run['machine_id']})" in proc.stdout, proc.stdout
    assert f"BASE {later['run_id']} started after NEW {run['run_id']}" in proc.stdout, proc.stdout
    proc = reportgen("compare", run["run_id"], bare["run_id"], "--results-dir", str(results))
    assert proc.returncode == 0 and "two machines" not in proc.stdout and "started after" not in proc.stdout
    assert "No batch-1 variant was measured in both runs" in proc.stdout, proc.stdout
    assert "exit status: 0 when compared" in reportgen("compare", "--help").stdout

    for args in (["compare", run["run_id"], later["run_id"]], ["export", "--format", "markdown"]):
        proc = _into_closed_pipe(*args, "--results-dir", str(results))
        assert proc.returncode == 141 and "Traceback" not in proc.stderr, (args, proc.stderr)

    rows = reportgen("export", "--results-dir", str(results), "--run", run["run_id"], "--format", "markdown").stdout
    assert "nan" not in rows and "<NA>" not in rows
    value = next(r for r in run["records"] if "gemm_gflops" in r["metrics"])["metrics"]["gemm_gflops"]["value"]
    assert f"| {value!r} " in rows and len(repr(value)) > 8, rows[:2000]

    site = tmp_path / "$(id)"
    proc = reportgen("build", "--results-dir", str(results), "--site-dir", str(site))
    assert proc.returncode == 0, proc.stderr
    assert f"reportgen serve --site-dir {shlex.quote(str(site))}" in proc.stdout.replace("\n", "")
    assert f"--site-dir '{site}'" in proc.stdout.replace("\n", "")


def test_a_path_too_long_or_one_the_terminal_cannot_show_is_not_a_traceback(tmp_path: Path) -> None:
    """A name over 255 characters was an OSError traceback in build, merge --into, serve, export and compare;
    PYTHONIOENCODING=ascii ended a successful build into a non-ASCII folder with UnicodeEncodeError (finding 8)."""
    from conftest import FIXTURE_RESULTS

    long = str(tmp_path / ("a" * 300))
    for args in (["build", "--results-dir", long], ["build", "--site-dir", long],
                 ["merge", str(FIXTURE_RESULTS), "--into", long], ["serve", "--site-dir", long],
                 ["export", "--results-dir", long], ["export", "--output", f"{long}/rows.csv"],
                 ["compare", "--results-dir", long]):
        _one_line_error(reportgen(*args, cwd=tmp_path), "File name too long")
    assert sorted(os.listdir(tmp_path)) == []

    site = tmp_path / "café"
    proc = subprocess.run([sys.executable, "-m", "reportgen", "build", "--results-dir", str(FIXTURE_RESULTS),
                           "--site-dir", str(site)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "caf\\xe9" in proc.stdout and (site / "index.html").is_file()


def test_too_few_file_handles_is_one_line_and_keeps_the_previous_site(tmp_path: Path) -> None:
    """A process limit of a few open files (``ulimit -n``) fails the build with EMFILE: one line, exit 2, and
    the site already built stays as it was (finding 8: OSError from the environment caught where it enters)."""
    import resource

    from conftest import FIXTURE_RESULTS

    site = tmp_path / "site"
    assert reportgen("build", "--results-dir", str(FIXTURE_RESULTS), "--site-dir", str(site)).returncode == 0
    before = (site / "index.html").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "reportgen", "build", "--results-dir", str(FIXTURE_RESULTS), "--site-dir", str(site)],
        capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (6, 6)))
    _one_line_error(proc, "Too many open files")
    assert (site / "index.html").read_bytes() == before
