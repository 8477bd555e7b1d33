"""Generated pages: one module per page, each with ``PAGE`` (its file) and ``context(run, loaded)``.

``write_pages`` renders each page's Jinja2 template (``templates/<PAGE>.j2``) with its context; every
value a template prints is escaped unless it is :class:`~reportgen.report.escape.MD` (see that module). Pages
that show a run get ``{"run": None, "problems": [...]}`` when the results directory holds none. To add
a page: a module here, a template, an entry in ``PAGES`` and one in the ``nav`` of ``mkdocs.yml``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import jinja2

from reportgen import catalog, thresholds
from reportgen.errors import failure_reason
from reportgen.report import escape, terms
from reportgen.report.format import featured_run, run_status
from reportgen.report.pages import (
    compare,
    downloads,
    hardware,
    history,
    home,
    inference,
    parity,
    profiles,
    schema,
    scorecard,
    serving,
    training,
    tryit,
)
from reportgen.store.results import LoadedResults

PAGES: tuple[ModuleType, ...] = (home, scorecard, inference, serving, training, parity, hardware, compare, history,
                                 downloads, tryit, profiles, schema)

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("reportgen.report", "templates"),
    autoescape=True,  # with finalize: every printed value is escaped for Markdown unless it is MD already
    finalize=escape.finalize,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(code=escape.code, code_block=escape.code_block, text=escape.text)
_env.globals["thresholds"] = thresholds.printed()  # templates print thresholds from the one module
_env.globals["terms"] = terms.explain  # and explain the report's words from the one module
_env.globals["runtimes"] = catalog.runtimes_phrase  # and name the runtimes from the catalog (plugins included)


def write_pages(loaded: LoadedResults, docs_dir: Path) -> list[Path]:
    """Render every generated page into ``docs_dir`` and return their paths.

    A run that passes the schema but cannot be rendered (a field the pages read is missing or of the wrong
    kind) is left out and listed in ``loaded.problems`` with the reason; the other runs are rendered.
    """
    try:
        texts = _render(loaded)
    except Exception:  # find the run(s) responsible; if none alone is, it is a bug of the pages: raise it
        bad = {}
        for run in loaded.runs:
            try:
                _render(LoadedResults(runs=[run]))
            except Exception as exc:  # noqa: PERF203 - only on the rare path where a file is broken
                why = failure_reason(exc, 300)  # one line, however long the error
                bad[run["run_id"]] = f"run {run['run_id']} of machine {run['machine_id']}: cannot be rendered, " \
                                     f"left out ({why})"
        if not bad:
            raise
        loaded.runs[:] = [r for r in loaded.runs if r["run_id"] not in bad]
        loaded.problems.extend(bad.values())
        loaded.left_out.extend(bad)
        texts = _render(loaded)
    written = []
    for name, text in texts.items():
        path = docs_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _render(loaded: LoadedResults) -> dict[str, str]:
    run = featured_run(loaded.runs)
    texts = {}
    for page in PAGES:
        if run is None and getattr(page, "NEEDS_RUN", True):
            context = {"run": None, "problems": [*loaded.problems, *_failed_runs(loaded)]}
        else:
            context = page.context(run, loaded)
        texts[page.PAGE] = _env.get_template(page.PAGE + ".j2").render(**context)
    return texts


def _failed_runs(loaded: LoadedResults) -> list[str]:
    """Why runs that measured nothing are not shown (a failed run is never the featured one)."""
    lines = []
    for run in loaded.runs:
        if run_status(run) == "failed":
            first = next((r["reason"] for r in run["records"] if r["reason"]), "no task ran")
            lines.append(f"run {run['run_id']} of machine {run['machine_id']} measured nothing; first reason: {first}")
    return lines
