// Draws every Plotly chart of a page from its JSON spec, in the palette of the current theme.
// plotly.js (shipped with the site, never from a CDN) is loaded only by pages that have a chart.
// Re-draws on instant navigation (mkdocs-material's document$) and when the reader flips light/dark.
(function () {
  const self = document.currentScript;
  const plotlyUrl = new URL("plotly.min.js", self ? self.src : document.baseURI).href;
  let loading = null;

  function loadPlotly() {
    if (typeof Plotly !== "undefined") return Promise.resolve();
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = plotlyUrl;
        script.onload = resolve;
        script.onerror = function () { reject(new Error("could not load " + plotlyUrl)); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

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

  function drawAll(charts) {
    charts.forEach(function (el) {
      try {  // one bad chart must not stop the others
        const spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
        // on a phone the modebar would cover the title and the legend: no modebar there (zoom still works)
        const narrow = window.matchMedia("(max-width: 600px)").matches;
        Plotly.react(el, spec.data, themed(spec.layout || {}),
                     { responsive: true, displaylogo: false, displayModeBar: narrow ? false : "hover" });
        el.dataset.rendered = "true";
      } catch (error) {
        console.error("chart " + el.id + " could not be drawn:", error);
      }
    });
  }

  function draw() {
    const charts = document.querySelectorAll("div.rg-chart");
    if (!charts.length) return;
    loadPlotly().then(function () { drawAll(charts); }, function (error) { console.error(error.message); });
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
