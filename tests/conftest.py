"""Shared fixtures: one real smoke run (every framework in its own subprocess) for the whole session."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


@dataclass(frozen=True)
class SmokeRun:
    results: Path
    site: Path
    stdout: str


def reportgen(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the installed ``reportgen`` command the way a user does."""
    return subprocess.run([sys.executable, "-m", "reportgen", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """``reportgen run --profile smoke`` into a temporary results and site directory."""
    root = tmp_path_factory.mktemp("smoke")
    proc = reportgen("run", "--profile", "smoke", "--results-dir", str(root / "results"),
                     "--site-dir", str(root / "site"), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return SmokeRun(root / "results", root / "site", proc.stdout)
