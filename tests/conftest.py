"""Shared fixtures, split along measure / publish.

Measure side: ``smoke_run``, one real smoke run (every framework in its own subprocess) for the whole
session; every test that uses it is marked ``slow``. Publish side: ``stored_run``, the site built from
``tests/fixtures/results``, a real smoke run stored by ``scripts/make_fixture.py`` (never edited by hand):
pages, charts, tables, history, compare, export and the browser are tested on it in seconds.
``pytest -m "not slow"`` is the edit loop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


FIXTURE_RESULTS = Path(__file__).parent / "fixtures" / "results"


@dataclass(frozen=True)
class SmokeRun:
    results: Path
    site: Path
    stdout: str


# Costly fixtures made once per pytest worker that asks for them: their tests share one worker of ``pytest -n``
# (``--dist loadgroup``), so each is made once per test session
ONE_WORKER = {"smoke_run": "smoke-run"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whatever needs the real smoke run is slow, wherever it is; the tests of each costly fixture run in one
    worker."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "smoke_run" in names:
            item.add_marker(pytest.mark.slow)
        group = next((ONE_WORKER[n] for n in names if n in ONE_WORKER), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


def reportgen(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the installed ``reportgen`` command the way a user does."""
    return subprocess.run([sys.executable, "-m", "reportgen", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """``reportgen run --profile smoke`` into a temporary results and site directory."""
    root = tmp_path_factory.mktemp("smoke")
    proc = reportgen("run", "--profile", "smoke", "--results-dir", str(root / "results"),
                     "--site-dir", str(root / "site"), cwd=root, timeout=1500)  # ~4 min on 2 idle cores
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return SmokeRun(root / "results", root / "site", proc.stdout)


@pytest.fixture(scope="session")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """The stored smoke run (a copy: tests may add files) and the site built from it, without measuring."""
    from reportgen.report.site import build_site

    root = tmp_path_factory.mktemp("stored")
    shutil.copytree(FIXTURE_RESULTS, root / "results")
    build_site(root / "results", root / "site")
    return SmokeRun(root / "results", root / "site", "")


@dataclass(frozen=True)
class HistorySite:
    """The stored smoke run plus runs derived from it: two more on its machine, one on a second machine."""

    results: Path
    site: Path
    base: dict
    other_machine: str
    factors: dict[str, float]  # run id -> how many times slower than the smoke run


@pytest.fixture(scope="session")
def history_site(stored_run: SmokeRun, tmp_path_factory: pytest.TempPathFactory) -> HistorySite:
    """A results directory with 3 runs on the smoke run's machine and 1 on another, and its built site."""
    from reportgen.report.site import build_site
    from reportgen.store.results import ResultStore
    from reportgen.testing import derive_run, parse_utc

    root = tmp_path_factory.mktemp("history")
    (base,) = ResultStore(stored_run.results).load_all().runs
    store = ResultStore(root / "results")
    store.save(base)
    other = "other-box-8c-32g-cpu-0a1b2c"
    plan = [(base["machine_id"], timedelta(days=2), 1.25, None), (base["machine_id"], timedelta(days=1), 0.8, None),
            (other, timedelta(hours=1), 0.5, "Other CPU 8-core")]
    factors = {base["run_id"]: 1.0}
    for machine, earlier, factor, cpu in plan:
        run = derive_run(base, machine_id=machine, started=parse_utc(base["started_at"]) - earlier, factor=factor,
                         cpu_model=cpu)
        store.save(run)
        factors[run["run_id"]] = factor
    build_site(root / "results", root / "site")
    return HistorySite(root / "results", root / "site", base, other, factors)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in one line what was not tested for want of a browser, and how to get it."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = {str(getattr(r, "longrepr", ""))for r in skipped}
    if any("Chromium" in reason or "playwright" in reason for reason in reasons):
        terminalreporter.write_line("NOT TESTED: the site in a real browser (no Chromium or Playwright here); "
                                    "install it with `apt-get install chromium` (or set REPORTGEN_CHROMIUM) and "
                                    "`pip install -e '.[test]'`, as .ci/run does", yellow=True, bold=True)


class LinearRuntime:
    """A runtime whose logits are a fixed linear map of the image (no framework), recording the batch and memory
    layout of every call; each call does the ``counter``'s work where one is given (a fake energy counter)."""

    def __init__(self, counter: Any = None) -> None:
        self.counter = counter
        self.batches: list[int] = []
        self.layouts: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()  # (shape, strides) of each input
        self.weights = np.random.default_rng(1).standard_normal((3 * 8 * 8, 10)).astype(np.float32)

    def load(self, *args: object) -> None: ...
    def to_input(self, images: np.ndarray) -> np.ndarray: return images
    def sync(self, outputs: np.ndarray) -> None: ...
    def to_numpy(self, outputs: np.ndarray) -> np.ndarray: return outputs
    def thread_settings(self) -> dict: return {}
    def peak_gpu_mem_mb(self) -> None: return None

    def predict(self, images: np.ndarray) -> np.ndarray:
        if self.counter is not None:
            self.counter.work()
        self.batches.append(len(images))
        self.layouts.add((images.shape, images.strides))
        return images.reshape(len(images), -1) @ self.weights
