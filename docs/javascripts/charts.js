// Draws every Plotly chart of a page from its JSON spec, in the palette of the current theme.
// Re-draws on instant navigation (mkdocs-material's document$) and when the reader flips light/dark.
(function () {
  function themed(layout) {
    const style = getComputedStyle(document.body);
    const fg = style.getPropertyValue("--md-default-fg-color").trim() || "#333";
    const grid = style.getPropertyValue("--md-default-fg-color--lightest").trim() || "#ddd";
    const out = Object.assign({}, layout, {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: Object.assign({}, layout.font, { color: fg }),
      legend: Object.assign({}, layout.legend, { font: { color: fg } }),
    });
    for (const key of new Set(Object.keys(out).concat(["xaxis", "yaxis"]))) {
      if (/^[xy]axis\d*$/.test(key)) {
        out[key] = Object.assign({}, layout[key], {
          color: fg, gridcolor: grid, zerolinecolor: grid, linecolor: grid,
        });
      }
    }
    return out;
  }

  function draw() {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll("div.rg-chart").forEach(function (el) {
      const source = document.getElementById(el.dataset.spec);
      if (!source) return;
      const spec = JSON.parse(source.textContent);
      Plotly.react(el, spec.data, themed(spec.layout || {}), { responsive: true, displaylogo: false });
      el.dataset.rendered = "true";
    });
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(draw);
  } else {
    document.addEventListener("DOMContentLoaded", draw);
  }
  new MutationObserver(draw).observe(document.body, {
    attributes: true,
    attributeFilter: ["data-md-color-scheme"],
  });
})();
