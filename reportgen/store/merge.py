"""``reportgen merge``: add results folders from any number of machines to one history folder.

The history is append-only: every file is validated with the store's own schema check, a file already
in the history is never replaced (an identical copy is skipped, a different one with the same name is
an error naming both), and each new file is written atomically without clobbering. A run that rejects
anything says so and exits with status 2, after adding every file that was fine.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from reportgen.errors import ReportgenError
from reportgen.store.paths import path_argument, write_staged
from reportgen.store.results import ResultsFileError, ResultStore

LAYOUT = "<machine-id>/<run-id>.json"


@dataclass
class MergeReport:
    """What a merge did, file by file: (source, history file) pairs and (source, reason) rejections."""

    added: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, Path]] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)


def results_files(src: Path) -> list[Path]:
    """Every ``.json`` file under ``src``, in a stable order.

    Hidden files and folders are left out, and so are the ``<run-id>.work`` folders an unfinished run
    leaves beside its results file (models and logs, not results).
    """
    if not src.is_dir():
        raise ReportgenError(f"{src}: no such results folder")
    return sorted(p for p in src.rglob("*.json")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts)
                  and not any(part.endswith(".work") for part in p.relative_to(src).parts[:-1]))


def _conflict(dest: Path, run: dict[str, Any]) -> str | None:
    """None when ``dest`` holds the same run as ``run``, else why the two cannot both be kept."""
    try:
        kept = json.loads(dest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        return f"{dest} already exists in the history and cannot be read ({exc}); it is left as it is"
    if kept == run:
        return None
    return f"conflicts with {dest}: same file name, different content; the history file is left as it is"


def _write_new(src: Path, dest: Path) -> bool:
    """Copy ``src`` to ``dest`` atomically, only if ``dest`` does not exist; False when it does."""
    tmp = write_staged(dest, src.read_bytes())  # byte for byte: the site publishes the raw files
    try:
        try:
            os.link(tmp, dest)  # fails if dest exists: no window in which another file could be replaced
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links
            if dest.exists():
                return False
            os.replace(tmp, dest)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _add(path: Path, run: dict[str, Any], history: ResultStore, report: MergeReport) -> None:
    """Add the validated results file ``path`` (holding ``run``) to ``history`` unless it, or a different
    namesake, is there."""
    dest = history.path_for(run)
    for _ in range(2):  # a second look only if the file appeared between the check and the write
        if dest.exists():
            why = _conflict(dest, run)
            if why is None:
                report.skipped.append((path, dest))
            else:
                report.rejected.append((path, f"{path} {why}"))
            return
        try:
            if _write_new(path, dest):
                report.added.append((path, dest))
                return
        except OSError as exc:
            report.rejected.append((path, f"{path}: cannot add it as {dest}: {exc.strerror or exc}"))
            return
    report.rejected.append((path, f"{path}: {dest} keeps changing; not added"))


def merge_results(sources: list[Path], into: Path) -> MergeReport:
    """Add every results file under ``sources`` to the history folder ``into``.

    A source is laid out like ``results/`` (``<machine-id>/<run-id>.json``) or holds such folders one
    level down (a folder of downloaded artifacts). Files at any other depth are rejected, as are files
    that fail validation or whose name does not match the run they hold. Every file is validated before
    any is added, so a bad file can never stop a merge part-way.
    """
    history = ResultStore(into)
    report = MergeReport()
    valid: list[tuple[Path, dict[str, Any]]] = []
    for src in sources:
        for path in results_files(src):
            depth = len(path.relative_to(src).parts)
            if depth not in (2, 3):
                report.rejected.append((path, f"{path}: not laid out as {LAYOUT} under {src}"))
                continue
            try:
                valid.append((path, history.load(path)))
            except ResultsFileError as exc:
                report.rejected.append((path, str(exc)))
    for path, run in valid:
        _add(path, run, history, report)
    return report


def add_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register ``reportgen merge`` on the CLI's subparsers."""
    merge = sub.add_parser(
        "merge", help="add results folders from other machines to a history folder, never overwriting a file",
        description="Add each SRC folder's results files (laid out as <machine-id>/<run-id>.json, or one "
                    "folder deeper, as downloaded artifacts are) to HISTORY. Every file is validated; a file "
                    "already in HISTORY is skipped when identical and an error when different; nothing in "
                    "HISTORY is ever replaced. Exits with status 2 when any file was rejected.")
    merge.add_argument("sources", nargs="+", type=path_argument, metavar="SRC", help="results folders to add")
    merge.add_argument("--into", type=path_argument, required=True, metavar="HISTORY",
                       help="the history folder (created when missing), e.g. the results-data checkout's results/")
    return merge


def cmd_merge(args: argparse.Namespace, console: Console) -> int:
    """Run ``reportgen merge``: print one line per file and a summary; 2 when anything was rejected."""
    if args.into.exists() and not args.into.is_dir():
        raise ReportgenError(f"{args.into}: not a folder")
    for src in args.sources:
        results_files(src)  # every source must exist before anything is added
    report = merge_results(list(args.sources), args.into)
    for src, dest in report.added:
        console.print(Text.assemble(("added    ", "green"), f"{dest} (from {src})"), soft_wrap=True)
    for src, dest in report.skipped:
        console.print(Text.assemble(("skipped  ", "dim"), f"{dest}: already there, identical to {src}"),
                      soft_wrap=True)
    for _, why in report.rejected:
        console.print(Text.assemble(("rejected ", "bold red"), why), soft_wrap=True)
    summary = (f"{len(report.added)} added, {len(report.skipped)} already there, "
               f"{len(report.rejected)} rejected, into {args.into}")
    console.print(summary, markup=False, highlight=False)
    return 2 if report.rejected else 0
