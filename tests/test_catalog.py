"""The catalog drives every part: a variant registered there alone reaches the results, every page and export."""

from __future__ import annotations

import csv
import html
import io
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import FIXTURE_RESULTS, reportgen

from reportgen import catalog
from reportgen.report.pages import write_pages
from reportgen.store.results import ResultStore
from reportgen.testing import derive_run, parse_utc

TOY_PLUGIN = textwrap.dedent('''
    """A toy runtime: ResNet-18's input through one random NumPy projection. Registered through the catalog only."""
    import numpy as np

    from reportgen import catalog

    catalog.register_runtime(catalog.Runtime("numpytoy", "NumPy toy", "numpytoy", __name__, ("numpy",)))
    catalog.register_variant(catalog.Variant("numpytoy", "matmul", "NumPy toy matmul", "pytorch", "eager"))


    class ToyBackend:
        def thread_settings(self):
            return {"numpy": "default"}

        def load(self, state, artifacts, num_classes, image_size):
            self.weights = np.random.default_rng(0).standard_normal((3 * image_size**2, num_classes), np.float32)

        def to_input(self, images_nchw):
            return images_nchw.reshape(len(images_nchw), -1)

        def predict(self, inputs):
            return inputs @ self.weights

        def sync(self, outputs):
            pass

        def to_numpy(self, outputs):
            return outputs

        def peak_gpu_mem_mb(self):
            return None


    def make_backend(variant, threads, device):
        return ToyBackend()
''')


@pytest.mark.slow
def test_a_variant_registered_in_the_catalog_reaches_results_pages_and_export(tmp_path: Path) -> None:
    (tmp_path / "toy_plugin.py").write_text(TOY_PLUGIN)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           catalog.PLUGINS_ENV: "toy_plugin"}
    config = tmp_path / "small.toml"
    config.write_text("[inference]\nthread_counts = [0]\nbatch_sizes = [1, 2]\n")

    run = subprocess.run([sys.executable, "-m", "reportgen", "run", "--profile", "smoke", "--frameworks", "numpytoy",
                          "--config", str(config), "--results-dir", str(tmp_path / "results"), "--site-dir",
                          str(tmp_path / "site")], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    export = subprocess.run([sys.executable, "-m", "reportgen", "export", "--results-dir", str(tmp_path / "results"),
                             "--format", "csv"], env=env, capture_output=True, text=True, timeout=120)
    rows = [r for r in csv.DictReader(io.StringIO(export.stdout)) if r["framework"] == "numpytoy"]
    assert {r["metric"] for r in rows if r["status"] == "ok"} >= {"latency_ms_p50", "throughput_ips", "cold_start_s",
                                                                  "max_abs_diff"}
    assert {r["batch_size"] for r in rows if r["metric"] == "throughput_ips"} == {"1", "2"}
    # Compare and History need a second machine and a second run: derived from this one by the store's own API
    store = ResultStore(tmp_path / "results")
    (base,) = store.load_all().runs
    for machine, hours in ((base["machine_id"], 24), ("other-box-4c", 1)):
        store.save(derive_run(base, machine_id=machine, started=parse_utc(base["started_at"]) - timedelta(hours=hours),
                              factor=1.5))
    build = subprocess.run([sys.executable, "-m", "reportgen", "build", "--results-dir", str(tmp_path / "results"),
                            "--site-dir", str(tmp_path / "site")], env=env, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0 and "skipped" not in build.stdout, build.stdout + build.stderr
    site = tmp_path / "site"
    for page in ("index.html", "inference.html", "scorecard.html", "hardware.html", "compare.html", "history.html"):
        assert "NumPy toy" in (site / page).read_text(), page
    assert "numpytoy" in next((site / "downloads").rglob("*.csv")).read_text()


def test_the_catalog_is_consistent() -> None:
    """Every link between entries points at an entry that exists; nothing is declared twice."""
    keys = [(v.runtime, v.name) for v in catalog.VARIANTS]
    assert len(keys) == len(set(keys)) and sum(v.role == catalog.REFERENCE for v in catalog.VARIANTS) == 1
    for v in catalog.VARIANTS:
        assert v.runtime in catalog.RUNTIMES
        if v.accuracy:
            catalog.candidate(*v.accuracy)
        if v.conversion:
            assert catalog.conversion(*v.conversion).model == "inference"
            assert catalog.conversion(*v.conversion).precision == v.precision
    for c in catalog.CONVERSIONS:  # each trained model's file is checked by one parity candidate of its precision
        assert (c.check is not None) == (c.model == "digits"), c
        if c.check:
            assert catalog.candidate(*c.check).precision == c.precision
    checks = [c.check for c in catalog.CONVERSIONS if c.check]
    assert len(checks) == len(set(checks))
    assert {r.family for r in catalog.RUNTIMES.values()} == set(catalog.families())
    assert reportgen("run", "--frameworks", "numpytoy").returncode == 2  # not registered without the plugin


def test_the_home_page_names_every_runtime_of_the_catalog(tmp_path: Path) -> None:
    """Titles and introductions read the runtimes from the catalog: none is left out, as three of six once were."""
    write_pages(ResultStore(FIXTURE_RESULTS).load_all(), tmp_path)
    intro = " ".join(html.unescape((tmp_path / "index.md").read_text(encoding="utf-8")).split()[:80])
    for runtime in catalog.RUNTIMES.values():
        assert runtime.display in intro, runtime
