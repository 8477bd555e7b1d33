"""Generated pages: one module per page, each with ``PAGE`` (its file) and ``context(run, loaded)``.

``write_pages`` renders each page's Jinja2 template (``templates/<PAGE>.j2``) with its context. Pages
that show a run get ``{"run": None, "problems": [...]}`` when the results directory holds none. To add
a page: a module here, a template, an entry in ``PAGES`` and one in the ``nav`` of ``mkdocs.yml``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import jinja2

from reportgen.report.format import featured_run
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
    training,
)
from reportgen.results import LoadedResults

PAGES: tuple[ModuleType, ...] = (home, scorecard, inference, training, parity, hardware, compare, history, downloads,
                                 profiles, schema)

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("reportgen.report", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def write_pages(loaded: LoadedResults, docs_dir: Path) -> list[Path]:
    """Render every generated page into ``docs_dir`` and return their paths."""
    run = featured_run(loaded.runs)
    written = []
    for page in PAGES:
        if run is None and getattr(page, "NEEDS_RUN", True):
            context = {"run": None, "problems": loaded.problems}
        else:
            context = page.context(run, loaded)
        path = docs_dir / page.PAGE
        path.write_text(_env.get_template(page.PAGE + ".j2").render(**context), encoding="utf-8")
        written.append(path)
    return written
