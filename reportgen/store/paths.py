"""Checks on the folders and files a command writes to, and the one way files are written atomically."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from reportgen.errors import ReportgenError


def path_argument(text: str) -> Path:
    """A command-line path the system can look up, or argparse's one-line error (a name over 255 characters)."""
    path = Path(text)
    try:
        path.exists()  # a missing path is each command's to judge; a name too long fails here, for every command
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: {exc.strerror or exc}") from None
    return path


def ensure_writable(folder: Path, what: str) -> None:
    """Fail early, with one line, when ``folder`` cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ReportgenError(f"{what} {folder} is not writable: {exc.strerror or exc}") from None


def _file_mode() -> int:
    """The mode a new file gets under the process's umask (``mkstemp`` alone gives 0600 whatever it is)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_staged(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new temporary file beside ``path`` (synced, mode from the umask) and return it; the
    caller moves it into place (``os.replace`` or ``os.link``) and removes it when that fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old content or the complete new one, never a mix."""
    tmp = write_staged(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _holds_results(path: Path) -> bool:
    """Whether ``path`` is a regular file whose content is a reportgen results file (a run or a history's)."""
    try:
        if not path.is_file() or path.stat().st_size > 512 * 1024 * 1024:
            return False
        with path.open("rb") as fh:
            head = fh.read(1)
            if head != b"{":
                return False
            data = json.loads(head + fh.read())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "run_id" in data and "records" in data


def check_output_file(output: Path, results_dir: Path, site_marker: str) -> Path:
    """``output`` resolved when a command may write a file there, else a one-line error.

    Never a results or history file (nor anything inside the results folder), never a file of a site reportgen
    built (a folder above it carries ``site_marker``), never a folder.
    """
    target = output.resolve()
    results = results_dir.resolve()
    if target == results or results in target.parents:
        raise ReportgenError(f"--output {output} is inside the results folder {results_dir}; it would replace "
                             "stored results: write the export somewhere else")
    if target.is_dir():
        raise ReportgenError(f"--output {output} is a folder; name a file")
    if _holds_results(target):
        raise ReportgenError(f"--output {output} is a reportgen results file; it would be replaced: write the "
                             "export somewhere else")
    if any((folder / site_marker).is_file() for folder in target.parents):
        raise ReportgenError(f"--output {output} is inside a site reportgen built; the next build replaces it: "
                             "write the export somewhere else")
    return target
