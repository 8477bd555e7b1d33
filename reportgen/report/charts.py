"""Plotly figures embedded as JSON; ``docs/javascripts/charts.js`` draws them with the site's palette.

The figure spec goes in a ``<script type="application/json">`` block, which the browser never executes,
so a page cannot fail with "Plotly is not defined" however the scripts load. plotly.js itself is copied
into the site once (no CDN).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import plotly.graph_objects as go

from reportgen import catalog
from reportgen.report.escape import MD

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies, in light and dark mode.
FRAMEWORK_COLORS = {
    "torch": "#D55E00",
    "tensorflow": "#E69F00",
    "onnxruntime": "#0072B2",
    "tflite": "#009E73",
    "keras-jax": "#CC79A7",
    "keras-torch": "#56B4E9",
}
PART_COLORS = ["#56B4E9", "#009E73", "#CC79A7", "#F0E442"]

# For series that are not frameworks (machines, runs): the Okabe-Ito colours without black.
SERIES_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]

def color(runtime: str) -> str:
    """A runtime's colour on every chart; a runtime without its own (a plugin's) gets a fixed one of the rest."""
    if runtime in FRAMEWORK_COLORS:
        return FRAMEWORK_COLORS[runtime]
    spare = [c for c in SERIES_COLORS if c not in FRAMEWORK_COLORS.values()] or SERIES_COLORS
    return spare[sum(map(ord, runtime)) % len(spare)]


# Every series of a chart its own marker and bar pattern and, within its framework's hue, its own dash, so
# that no chart is read by colour alone (a grey print or a colour-blind reader still tells them apart).
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "triangle-down", "pentagon",
           "hexagon", "hourglass", "bowtie")
PATTERNS = ("", "/", "x", ".", "\\", "+", "-", "|")
# a click hides one series, not its framework; below the plot, so that a long legend takes no width from it
GROUPED_LEGEND = {"groupclick": "toggleitem", "tracegroupgap": 8, "orientation": "h", "y": -0.18, "yanchor": "top"}


class Styles:
    """The look of every series on one chart, in the order the series are first asked for (ask in a stable
    order, e.g. the run's, and a series looks the same on every chart of a page that draws the same ones):

    - :meth:`line` and :meth:`bar` for a series of a framework: the framework's hue, the chart's next marker
      or bar pattern, and the framework's next dash; legend entries grouped under the framework's name;
    - :meth:`series` for a series that is no framework's (a machine, a part of a bar): a colour of its own
      (or the one given) and the next pattern.
    """

    def __init__(self) -> None:
        self._nth: dict[tuple[str, str], int] = {}
        self._count: dict[str, int] = {}

    def nth(self, group: str, series: str) -> int:
        """0 for the first series of ``group``, 1 for its second, ...; the same number for the same series."""
        if (group, series) not in self._nth:
            self._nth[(group, series)] = self._count.get(group, 0)
            self._count[group] = self._nth[(group, series)] + 1
        return self._nth[(group, series)]

    def _grouped(self, framework: str, series: str) -> tuple[int, int, dict[str, Any]]:
        """(series number in the chart, series number in its framework, the legend keywords)."""
        within = self.nth(framework, series)
        legend = {"name": series, "legendgroup": framework,
                  "legendgrouptitle_text": catalog.display(framework) if within == 0 else None}
        return self.nth("\0chart", series), within, legend

    def line(self, framework: str, series: str, size: int = 8) -> dict[str, Any]:
        """Keyword arguments of a ``go.Scatter`` for ``series`` of ``framework``."""
        overall, within, legend = self._grouped(framework, series)
        return {**legend, "line": {"color": color(framework), "dash": DASHES[within % len(DASHES)]},
                "marker": {"color": color(framework), "symbol": MARKERS[overall % len(MARKERS)], "size": size}}

    def bar(self, framework: str, series: str) -> dict[str, Any]:
        """Keyword arguments of a ``go.Bar`` for ``series`` of ``framework``."""
        overall, within, legend = self._grouped(framework, series)
        return {**legend, "marker": {"color": color(framework),
                                     "pattern": {"shape": PATTERNS[overall % len(PATTERNS)]}}}

    def series(self, series: str, colour: str | None = None,
               palette: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
        """Keyword arguments of a ``go.Bar`` for a series that is no framework's: ``colour``, else the next of
        ``palette`` (the Okabe-Ito series colours by default), and a pattern of its own."""
        i = self.nth("\0chart", series)
        colors = palette or SERIES_COLORS
        return {"name": series, "marker": {"color": colour or colors[i % len(colors)],
                                           "pattern": {"shape": PATTERNS[i % len(PATTERNS)]}}}


def log_ticks(values: list[float]) -> dict[str, Any]:
    """A log axis labelled at 1, 2, 5, 10, 20, 50 ... within the data (finer steps when that leaves fewer than
    three labels; plotly's own when even those leave fewer than two), instead of crowded minor labels."""
    data = [v for v in values if v and v > 0]
    if not data:
        return {"type": "log"}
    low, high = min(data) / 1.15, max(data) * 1.15
    ticks: list[float] = []
    for steps in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
                 for m in steps if low <= m * 10.0 ** e <= high]
        if len(ticks) >= 3:
            break
    if len(ticks) < 2:  # a range too narrow for round numbers: plotly's own labels read better there
        return {"type": "log"}
    return {"type": "log", "tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]}


def chart_html(fig: go.Figure, chart_id: str, caption: str, height: int = 420) -> MD:
    """HTML for one chart: a container, its JSON spec and a caption for readers without JavaScript."""
    if not re.fullmatch(r"[a-z0-9-]+", chart_id):
        raise ValueError(f"chart id must be lowercase letters, digits and dashes: {chart_id!r}")
    fig.update_layout(template="none", margin={"l": 60, "r": 20, "t": 60, "b": 50}, height=height)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    spec = fig.to_json().replace("<", "\\u003c")  # JSON's own escape: no text can end or alter the <script>
    return MD(
        f'<figure class="rg-figure">\n'
        f'<div class="rg-chart" id="{chart_id}" data-spec="{chart_id}-spec" role="img" '
        f'aria-label="{html.escape(caption)}"></div>\n'
        f'<script type="application/json" id="{chart_id}-spec">{spec}</script>\n'
        f"<figcaption>{html.escape(caption)}</figcaption>\n"
        f"</figure>\n"
    )
