"""Checks on the folders a command writes to."""

from __future__ import annotations

import tempfile
from pathlib import Path

from reportgen.errors import ReportgenError


def ensure_writable(folder: Path, what: str) -> None:
    """Fail early, with one line, when ``folder`` cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ReportgenError(f"{what} {folder} is not writable: {exc.strerror or exc}") from None
