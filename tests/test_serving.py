"""The serving scenario without a framework: which variants a run serves, its settings' errors, and a fake runtime
served by the real LoadGen, stored beside the fixture run and shown on the pages and the built site."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from reportgen import catalog
from reportgen.cli import main
from reportgen.config import ServingSettings, get_profile, load_config
from reportgen.errors import ReportgenError
from reportgen.process.runner import Task, member_task
from reportgen.report.format import fmt
from reportgen.report.pages import write_pages
from reportgen.report.site import build_site
from reportgen.scenarios import serving
from reportgen.store.records import Setting
from reportgen.store.results import ResultStore, make_record

FIXTURE_RESULTS = Path(__file__).parent / "fixtures" / "results"


def _timed(runtime: str, variant: str, ms: float, batch: int = 1, ips: float = 0.0) -> dict:
    return make_record("inference", runtime, variant, batch_size=batch, settings={"round": 0},
                       metrics={"latency_ms_p50": ms, "throughput_ips": ips or 1e3 / ms * batch})


def test_quick_serves_each_runtimes_fastest_variant_at_its_best_batch() -> None:
    (task,) = serving.plan(["onnxruntime"], "cpu")
    records = [_timed("onnxruntime", "from-torch", 10.0), _timed("onnxruntime", "int8-static", 6.0),
               _timed("onnxruntime", "int8-static", 7.0, batch=8, ips=400.0),
               _timed("onnxruntime", "int8-static", 6.5, batch=32, ips=380.0)]
    bound = serving.bind(task, records, {"serving": ServingSettings().__dict__})
    (member,) = bound.members
    assert member["variant"] == "int8-static"
    assert member["params"]["offline_batch"] == 8 and "sweep" in member["params"]["batch_from"]
    everything = serving.bind(task, records, {"serving": ServingSettings(variants="all").__dict__})
    assert [m["variant"] for m in everything.members] == [v.name for v in catalog.selected(["onnxruntime"])]
    untimed = serving.bind(task, [], {"serving": ServingSettings().__dict__})  # nothing timed: serve each, fixed
    assert len(untimed.members) == len(task.members)
    assert {m["params"]["offline_batch"] for m in untimed.members} == {ServingSettings().offline_batch}


@pytest.mark.parametrize(("text", "message"), [
    ("[serving]\nbound_ms = 0\n", "serving.bound_ms must be greater than 0, got 0.0"),
    ("[serving]\nvariants = 'some'\n", "serving.variants must be one of fastest, all, got 'some'"),
    ("[serving]\nprobes = 0\n", "serving.probes must be at least 1, got 0"),
    ("[serving]\nbound_ms = 'fast'\n", "'serving.bound_ms' must be float, got str"),
])
def test_bad_serving_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ReportgenError, match=message.replace("(", r"\(")):
        load_config(cfg, get_profile("quick"))


def test_bad_bound_is_a_one_line_error_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[serving]\nbound_ms = -5\n")
    assert main(["run", "--config", str(cfg), "--results-dir", str(tmp_path / "r"),
                 "--site-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "serving.bound_ms" in err and "Traceback" not in err, err


def test_a_fake_runtime_served_by_loadgen_reaches_the_pages_and_the_site(tmp_path: Path) -> None:
    """A runtime that sleeps 4 ms a request (40 ms a batch of 8; a bound of 25 such requests, so that a loaded
    machine still finds a capacity) served through the scenario's own code with the
    real LoadGen: three records that pass the schema, stored in the fixture run; the Serving page shows the
    capacity, the chart, why the runs are not MLPerf-valid and LoadGen's summaries, and Home's "which one when"
    has its "Serving within" line; the site builds in strict mode."""
    (planned,) = serving.plan(["onnxruntime"], "cpu")
    records = [_timed("onnxruntime", "from-torch", 4.0), _timed("onnxruntime", "from-torch", 5.0, batch=8)]
    task = member_task(planned, serving.bind(planned, records, {"serving": ServingSettings().__dict__}).members[0])
    settings = ServingSettings(bound_ms=100.0, single_stream_s=0.2, offline_s=0.2, probe_s=0.4, probes=3,
                               min_queries=16, warmup=1)
    served = serving.serve(task, lambda: time.sleep(0.004), lambda: time.sleep(0.04), 8, settings,
                           {"image_size": 224, "threads": {"fake": 1}}, threads=1)
    assert [r["settings"][Setting.LOADGEN_SCENARIO] for r in served] == ["SingleStream", "Offline", "Server"]
    single, offline, server = served
    assert 4.0 <= single["metrics"]["latency_ms_p90"]["value"] < 100.0
    assert 0 < offline["metrics"]["offline_throughput_ips"]["value"] <= 8 / 0.04 * 1.05 and offline["batch_size"] == 8
    capacity = server["metrics"]["serving_capacity_qps"]["value"]
    assert 0 < capacity < 1 / 0.004 and len(server["settings"][Setting.PROBES]) == 3
    assert all("not MLPerf-valid" not in r["settings"][Setting.MLPERF_INVALID] for r in served)  # the reason, not label
    assert all("600 s" in r["settings"][Setting.MLPERF_INVALID] for r in served)

    results = tmp_path / "results"
    shutil.copytree(FIXTURE_RESULTS, results)
    (path,) = results.glob("*/*.json")
    run = json.loads(path.read_text())
    run["records"] = [r for r in run["records"] if r["scenario"] != "serving"] + served  # the smoke run's served
    # at its own 2000 ms bound
    ResultStore(results).save(run)  # validates against the schema
    build_site(results, tmp_path / "site")
    page = (tmp_path / "site" / "serving.html").read_text()
    assert fmt(capacity) in page and "not MLPerf-valid" in page and "serving-p99-load" in page
    assert "MLPerf Results Summary" in page and "Scenario : Server" in page
    home = (tmp_path / "site" / "index.html").read_text()
    assert "Serving within 100 ms" in home and "Serving capacity" in home  # the line and the decision row
    assert "Serving capacity" in (tmp_path / "site" / "scorecard.html").read_text()


def test_a_run_without_serving_says_so(tmp_path: Path) -> None:
    loaded = ResultStore(FIXTURE_RESULTS).load_all()
    for run in loaded.runs:  # as a run stored before the scenario, or with --scenarios inference training
        run["records"] = [r for r in run["records"] if r["scenario"] != "serving"]
    write_pages(loaded, tmp_path)
    assert "no serving measurement" in (tmp_path / "serving.md").read_text()


def test_task_is_planned_per_family_with_every_supported_variant() -> None:
    tasks = serving.plan(list(catalog.families()), "cpu")
    assert [t.key for t in tasks] == [f"serving/{f}" for f in dict.fromkeys(
        v.family for v in catalog.VARIANTS if not v.cuda_only)]
    assert all(isinstance(t, Task) and t.members for t in tasks)
