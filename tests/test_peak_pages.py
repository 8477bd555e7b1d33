"""The Inference and Hardware pages of the stored run (a peak from the nominal clock, no core details) and of the
same run as this code stores it now (no maximum clock reported, an SMT machine)."""

import copy
import html
import json
import re
from pathlib import Path

import pytest
from conftest import FIXTURE_RESULTS

from reportgen.report.pages import write_pages
from reportgen.scenarios import roof
from reportgen.store.results import LoadedResults, ResultStore

EPYC = frozenset({"sse2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"})


def pages(run: dict, tmp_path: Path) -> dict[str, str]:
    loaded = ResultStore(FIXTURE_RESULTS).load_all()
    write_pages(LoadedResults(runs=[run], root=loaded.root), tmp_path)
    return {name: html.unescape((tmp_path / f"{name}.md").read_text(encoding="utf-8"))
            for name in ("inference", "hardware")}


def test_a_stored_peak_from_the_nominal_clock_is_not_shown(tmp_path: Path) -> None:
    """Runs stored before the peak rule (the version-1 fixture, an EPYC) kept a peak from the nominal clock."""
    (run,) = ResultStore(FIXTURE_RESULTS.parent / "v1" / "results").load_all().runs
    text = pages(run, tmp_path)
    assert "No theoretical peak is shown for this run" in text["inference"] and "332.3" not in text["inference"]
    assert "| cores (physical / logical / available to the run) | 2 / 2 / 2 |" in text["hardware"]


def test_without_a_maximum_clock_the_pages_say_so_and_show_the_cores(tmp_path: Path) -> None:
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    run = copy.deepcopy(run)
    run["machine"]["cpu"].update(physical_cores=2, logical_cores=4, available_cores=4, available_physical_cores=2,
                                 threads_per_core=2, max_mhz=None, max_mhz_source=None)
    for rec in run["records"]:
        if rec["scenario"] == "machine" and rec["status"] == "ok":
            for key in ("peak_gflops", "peak_formula"):
                rec["settings"].pop(key, None)
            top = roof.peak(rec["precision"], rec["settings"]["threads"], EPYC, None)
            rec["settings"].update({"peak": top} if top else {})
    text = pages(run, tmp_path)
    assert "Peak unknown: the clock this CPU runs at is not reported, so no theoretical peak is shown" \
        in text["inference"]
    assert "unknown (the roof implies ≥" in text["inference"]
    for row in ("| logical CPUs per core | 2 (SMT) |", "| physical cores available to the run | 2 |",
                "| maximum clock | not reported (the theoretical peak is unknown) |",
                "| threads per measuring process | 2 ("):
        assert row in text["hardware"], row
    assert "(one per physical core available) |" in text["hardware"]


def test_each_efficiency_bar_is_drawn_against_the_roof_of_its_own_precision(tmp_path: Path) -> None:
    """One fp32 roof line beside bf16 and INT8 bars judged against other roofs misread them: each bar gets a tick
    at the GEMM roof its own precision and thread count measured, the one its roof fraction was divided by."""
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    text = pages(run, tmp_path)["inference"]
    spec = json.loads(re.search(r'id="efficiency-spec">(.*?)</script>', text, re.S).group(1).replace("<\\/", "</"))
    bars, ticks = spec["data"]
    roofs = {(r["precision"], r["settings"].get("threads")): r["metrics"]["gemm_gflops"]["value"]
             for r in sorted((r for r in run["records"] if "gemm_gflops" in r["metrics"]),
                             key=lambda r: r["metrics"]["gemm_gflops"]["value"])}
    assert bars["type"] == "bar" and ticks["type"] == "scatter" and set(ticks["customdata"]) >= {"fp32", "int8"}
    threads = run["options"]["threads"]
    for precision, roof_x in zip(ticks["customdata"], ticks["x"], strict=True):
        assert roof_x == pytest.approx(roofs[(precision, threads)])
    assert len(set(ticks["x"])) > 1  # not one line for all
