"""Plotly figures embedded as JSON; ``docs/javascripts/charts.js`` draws them with the site's palette.

The figure spec goes in a ``<script type="application/json">`` block, which the browser never executes,
so a page cannot fail with "Plotly is not defined" however the scripts load. plotly.js itself is copied
into the site once (no CDN).
"""

from __future__ import annotations

import html
import re

import plotly.graph_objects as go

from reportgen.report.escape import MD

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies, in light and dark mode.
FRAMEWORK_COLORS = {
    "torch": "#D55E00",
    "tensorflow": "#E69F00",
    "onnxruntime": "#0072B2",
    "tflite": "#009E73",
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
