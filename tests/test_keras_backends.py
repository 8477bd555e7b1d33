"""Keras 3 on JAX and on PyTorch (issue 45): declared once in the catalog, each backend set before Keras is imported,
a missing package a skip with its reason, and rows of their own on every page the catalog reaches."""

from __future__ import annotations

import csv
import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import FIXTURE_RESULTS

from reportgen import catalog, thresholds
from reportgen.backends import missing_reason
from reportgen.process import envs
from reportgen.process.runner import keras_env
from reportgen.report import findings
from reportgen.report.format import records
from reportgen.report.site import build_site
from reportgen.store.results import ResultStore
from reportgen.testing import derive_run, parse_utc

STORED = FIXTURE_RESULTS  # the main fixture: a real smoke run with both Keras backends in it

KERAS = {"keras-jax": ("Keras (JAX)", "jax"), "keras-torch": ("Keras (PyTorch)", "torch")}


def test_each_backend_is_a_family_with_its_keras_backend_and_environment() -> None:
    for runtime, (display, backend) in KERAS.items():
        entry = catalog.RUNTIMES[runtime]
        assert (entry.display, entry.family, entry.keras_backend) == (display, runtime, backend)
        assert runtime in catalog.families() and runtime in catalog.trainer_families()
        assert runtime in envs.EXTRAS and envs.lock_file(runtime, "cpu").is_file()
        assert envs.lock_file(runtime, "cuda").is_file()
        assert [v.name for v in catalog.VARIANTS if v.runtime == runtime] and catalog.training_variant(runtime, "fit")
    assert catalog.keras_backend("tensorflow") == "tensorflow" and catalog.keras_backend("torch") is None
    # the variable every child of a Keras family starts with, whatever the user's shell says
    assert keras_env("keras-jax", "cpu") == {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    assert keras_env("keras-jax", "cuda") == {"KERAS_BACKEND": "jax", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    assert keras_env("keras-torch", "cpu") == {"KERAS_BACKEND": "torch"}
    assert keras_env("onnxruntime", "cpu") == {}
    # the torch lock pins the torch release keras-torch runs on; keras is the same release on every backend
    pins = {name: {line.split(";")[0].strip() for line in envs.lock_file(name, "cpu").read_text().splitlines()
                   if line[:1].isalnum()} for name in ("torch", "keras-torch", "keras-jax", "tensorflow")}
    assert {p for p in pins["torch"] if p.startswith("torch==")} <= pins["keras-torch"]
    assert len({p for name in ("keras-torch", "keras-jax", "tensorflow") for p in pins[name]
                if p.startswith("keras==")}) == 1


def test_a_backend_without_keras_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envs, "unavailable", lambda framework: None)
    monkeypatch.setattr(envs, "importable", lambda module, framework: module != "keras")
    assert missing_reason("keras-jax") == "keras is not installed (pip install 'reportgen[jax]')"
    monkeypatch.setattr(envs, "importable", lambda module, framework: module != "jax")
    assert missing_reason("keras-jax") == "jax is not installed (pip install 'reportgen[jax]')"


@pytest.fixture(scope="module")
def keras_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The stored run, a copy of it on a second machine (for Compare), and the site built from both."""
    root = tmp_path_factory.mktemp("keras")
    (base,) = ResultStore(STORED).load_all().runs
    store = ResultStore(root / "results")
    store.save(base)
    store.save(derive_run(base, machine_id="other-box-8c-32g-cpu-0a1b2c", factor=0.5, cpu_model="Other CPU 8-core",
                          started=parse_utc(base["started_at"]) - timedelta(hours=1)))
    build_site(root / "results", root / "site")
    return base, root / "site"


def test_the_stored_run_has_both_backends_within_the_fp32_limit() -> None:
    (run,) = ResultStore(STORED).load_all().runs
    for runtime in KERAS:
        (batch1,) = [r for r in records(run, "inference") if r["framework"] == runtime and r["batch_size"] == 1]
        assert batch1["metrics"]["max_abs_diff"]["value"] <= thresholds.agreement_limit("fp32")
        assert findings.agrees(batch1)
        (fit,) = [r for r in records(run, "training") if r["framework"] == runtime]
        assert fit["settings"]["keras_backend"] == KERAS[runtime][1]
    rows = findings.keras_backends_note(records(run, "training"))
    assert {r["record"]["framework"] for r in rows} == set(KERAS)
    assert all(r["tensorflow"]["framework"] == "tensorflow" and r["start_gap"] < 1e-3 for r in rows)


@pytest.mark.parametrize("page", ["index", "inference", "training", "scorecard", "compare"])
def test_both_backends_have_rows_of_their_own(keras_site: tuple[dict, Path], page: str) -> None:
    text = html.unescape((keras_site[1] / f"{page}.html").read_text(encoding="utf-8"))
    for display, _ in KERAS.values():
        assert display in text, (page, display)


def test_downloads_hold_both_backends(keras_site: tuple[dict, Path]) -> None:
    base, site = keras_site
    (table,) = list((site / "downloads").rglob(f"{base['run_id']}*.csv"))
    frameworks = {row["framework"] for row in csv.DictReader(table.open(encoding="utf-8"))}
    assert set(KERAS) <= frameworks


def test_quick_leaves_the_keras_backends_out_unless_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A default quick run measures every family but Keras on JAX and on PyTorch; ``--frameworks all`` or their
    names bring them back; every other profile measures them by default."""
    from reportgen import cli
    from reportgen.config import FRAMEWORKS, PROFILES
    from reportgen.run import pipeline

    chosen: list[list[str]] = []

    def measure(opts: pipeline.RunOptions, console: object) -> None:
        chosen.append(opts.frameworks)
        raise SystemExit(0)  # nothing is measured: the choice is what this test reads

    monkeypatch.setattr(pipeline, "measure", measure)
    for args in ([], ["--frameworks", "all"], ["--frameworks", "keras-jax", "torch"], ["--profile", "standard"]):
        with pytest.raises(SystemExit):
            cli.main(["run", "--no-build", "--results-dir", str(tmp_path), *args])
    assert chosen == [[f for f in FRAMEWORKS if f not in KERAS], list(FRAMEWORKS), ["keras-jax", "torch"],
                      list(FRAMEWORKS)]
    assert [p.name for p in PROFILES.values() if p.leaves_out] == ["quick"]


def test_every_page_names_the_families_its_run_did_not_measure(tmp_path: Path) -> None:
    """A quick-like run without the Keras backends says on its pages that they were not measured, why, and how to
    measure them; a run whose --frameworks left a family out says that instead."""
    (base,) = ResultStore(STORED).load_all().runs
    store = ResultStore(tmp_path / "results")
    quick = {**base, "profile": {**base["profile"], "leaves_out": list(KERAS)},
             "options": {**base["options"], "frameworks": [f for f in catalog.families() if f not in KERAS]},
             "records": [r for r in base["records"] if r["framework"] not in KERAS]}
    store.save(quick)
    build_site(tmp_path / "results", tmp_path / "site")
    for page in ("index.html", "inference.html", "training.html", "serving.html"):
        markup = (tmp_path / "site" / page).read_text(encoding="utf-8")
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())
        assert "Not measured in this run: Keras (JAX) and Keras (PyTorch), which profile smoke measures only when " \
               "--frameworks names them (reportgen run --frameworks all measures every framework)" in text, page
    narrow = {**quick, "profile": base["profile"], "options": {**base["options"], "frameworks": ["torch"]}}
    from reportgen.report.format import not_measured

    assert not_measured(narrow) == {"option": "TensorFlow/Keras, Keras (JAX), Keras (PyTorch), ONNX Runtime and "
                                              "OpenVINO"}
    assert not_measured(base) == {}
