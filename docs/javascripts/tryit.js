// "Try it": the digits model this run trained, run by ONNX Runtime Web (WebAssembly) in the reader's browser.
// The same functions serve the Try-it page and the harness page the run opens in headless Chromium to measure
// the browser as a runtime (reportgen/scenarios/browser.py), so what readers run is what was measured.
// Nothing heavy loads with the page: the runtime (ort.wasm.min.js, then its .mjs and .wasm) and a model are
// fetched only when the reader starts the demo; every file comes from the site itself, never from a CDN.
(function () {
  "use strict";

  // ---- the runtime -------------------------------------------------------------------------------------
  let loading = null;

  function loadRuntime(ortBase) {
    // ortBase: absolute URL of the folder with ort.wasm.min.js, ort-wasm-simd-threaded.mjs and .wasm. It must be
    // absolute: a relative wasmPaths resolves the .mjs and the .wasm against different bases under a sub-path.
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = ortBase + "ort.wasm.min.js";
        script.onload = function () {
          ort.env.wasm.wasmPaths = ortBase;
          // Threaded WebAssembly needs SharedArrayBuffer, which browsers give only to cross-origin isolated
          // pages (COOP/COEP headers; GitHub Pages does not send them): ask for one thread there, not for a
          // fallback.
          ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
          ort.env.logLevel = "error";
          resolve(ort);
        };
        script.onerror = function () { reject(new Error("could not load " + script.src)); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  async function backendInfo() {
    const threads = ort.env.wasm.numThreads;
    let webgpu = "this browser has no WebGPU (navigator.gpu is missing)";
    if (navigator.gpu) {
      let adapter = null;
      try { adapter = await navigator.gpu.requestAdapter(); } catch (e) { adapter = null; }
      webgpu = adapter ? "this browser has a WebGPU adapter, but the demo ships only the WebAssembly runtime"
        : "this browser has WebGPU but no adapter (no usable GPU)";
    }
    return {
      backend: "wasm", threads: threads, crossOriginIsolated: !!self.crossOriginIsolated,
      why: self.crossOriginIsolated ? "the page is cross-origin isolated, so WebAssembly threads are allowed"
        : "the page is not cross-origin isolated (the server sends no COOP/COEP headers), so WebAssembly runs " +
          "one thread",
      webgpu: webgpu, userAgent: navigator.userAgent, ortVersion: ort.env.versions ? ort.env.versions.web : "",
    };
  }

  async function createSession(url) {
    const start = performance.now();
    const session = await ort.InferenceSession.create(url, { executionProviders: ["wasm"],
                                                             graphOptimizationLevel: "all" });
    return { session: session, loadMs: performance.now() - start };
  }

  // ---- preprocessing: exactly the Python pipeline (reportgen/workloads/data/pipeline_torch.py) ---------------------
  // uint8 RGB pixels in HWC order -> float32 NCHW, (x / 255 - mean) / std per channel, every step rounded to
  // float32 as PyTorch computes it. Digits are 32x32 already, so no resize happens (as in Python).
  function preprocess(rgb, mean, std, size) {
    const hw = size * size;
    const out = new Float32Array(3 * hw);
    const m = mean.map(Math.fround), s = std.map(Math.fround);
    for (let i = 0; i < hw; i++) {
      for (let c = 0; c < 3; c++) {
        out[c * hw + i] = Math.fround(Math.fround(Math.fround(rgb[i * 3 + c] / 255) - m[c]) / s[c]);
      }
    }
    return out;
  }

  // A 32x32 grey picture (0..1, ink high) made into a digit the way scikit-learn's digits were made: 4x4 blocks
  // averaged to 17 grey levels (0..16) on an 8x8 grid, scaled to 0..255 and repeated back to 32x32 RGB.
  function digitize(grey32) {
    const rgb = new Uint8Array(32 * 32 * 3);
    for (let by = 0; by < 8; by++) {
      for (let bx = 0; bx < 8; bx++) {
        let sum = 0;
        for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) sum += grey32[(by * 4 + y) * 32 + bx * 4 + x];
        const level = Math.round(sum);  // 16 pixels of 0..1: 0..16
        const value = Math.round(level * 255 / 16);
        for (let y = 0; y < 4; y++) {
          for (let x = 0; x < 4; x++) {
            const i = ((by * 4 + y) * 32 + bx * 4 + x) * 3;
            rgb[i] = rgb[i + 1] = rgb[i + 2] = value;
          }
        }
      }
    }
    return rgb;
  }

  async function logits(session, data, size) {
    const input = new ort.Tensor("float32", data, [1, 3, size, size]);
    const feeds = {};
    feeds[session.inputNames[0]] = input;
    const results = await session.run(feeds);
    return Array.from(results[session.outputNames[0]].data);
  }

  function topK(values, k) {
    const max = Math.max.apply(null, values);
    const exp = values.map(function (v) { return Math.exp(v - max); });
    const total = exp.reduce(function (a, b) { return a + b; }, 0);
    return exp.map(function (e, i) { return { index: i, probability: e / total }; })
      .sort(function (a, b) { return b.probability - a.probability; }).slice(0, k);
  }

  // The timed loop of reportgen's profiles: `warmup` untimed calls, then calls until at least min_count of them
  // and min_time_s of timed work, or max_time_s. Returns per-call milliseconds and the first call's.
  async function timeLoop(session, data, size, timing) {
    const input = new ort.Tensor("float32", data, [1, 3, size, size]);
    const feeds = {};
    feeds[session.inputNames[0]] = input;
    let start = performance.now();
    await session.run(feeds);
    const firstMs = performance.now() - start;
    for (let i = 0; i < timing.warmup; i++) await session.run(feeds);
    const samples = [];
    let total = 0;
    while ((samples.length < timing.min_count || total < timing.min_time_s * 1e3) && total < timing.max_time_s * 1e3) {
      start = performance.now();
      await session.run(feeds);
      const ms = performance.now() - start;
      samples.push(ms);
      total += ms;
    }
    return { samples: samples, firstMs: firstMs };
  }

  function quantile(sorted, q) {
    const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  function summary(samples) {
    const sorted = samples.slice().sort(function (a, b) { return a - b; });
    return { median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75),
             count: sorted.length };
  }

  function fromBase64(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  // ---- an uploaded picture -------------------------------------------------------------------------------
  // Checked before it is drawn: an empty file, one over UPLOAD_MAX_MB or one the browser cannot decode as an
  // image is refused with a sentence; a large picture is drawn scaled so that its longer side is at most
  // UPLOAD_MAX_SIDE pixels (the model sees 32x32 anyway), never at full size.
  const UPLOAD_MAX_MB = 25, UPLOAD_MAX_SIDE = 512;

  function readUpload(file) {
    return new Promise(function (resolve, reject) {
      if (file.size === 0) { reject(new Error(file.name + " is empty: pick an image file")); return; }
      if (file.size > UPLOAD_MAX_MB * 1e6) {
        reject(new Error(file.name + " is " + (file.size / 1e6).toFixed(0) + " MB, over the " + UPLOAD_MAX_MB +
                         " MB this page reads: pick a smaller picture"));
        return;
      }
      const img = new Image();
      const url = URL.createObjectURL(file);
      img.onload = function () {
        URL.revokeObjectURL(url);
        const scale = Math.min(1, UPLOAD_MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        const width = Math.max(1, Math.round(img.naturalWidth * scale));
        const height = Math.max(1, Math.round(img.naturalHeight * scale));
        const canvas = document.createElement("canvas");
        canvas.width = width; canvas.height = height;
        canvas.getContext("2d").drawImage(img, 0, 0, width, height);
        resolve({ canvas: canvas, scaled: scale < 1, width: img.naturalWidth, height: img.naturalHeight });
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("this browser cannot read " + file.name + " as an image: pick a PNG, JPEG, GIF or WebP"));
      };
      img.src = url;
    });
  }

  const api = { loadRuntime: loadRuntime, backendInfo: backendInfo, createSession: createSession,
                preprocess: preprocess, digitize: digitize, logits: logits, topK: topK, timeLoop: timeLoop,
                summary: summary, fromBase64: fromBase64, readUpload: readUpload };
  window.reportgenTryit = api;

  // ---- the Try-it page -------------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawPixels(canvas, rgb) {
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(32, 32);
    for (let i = 0; i < 32 * 32; i++) {
      img.data[i * 4] = rgb[i * 3]; img.data[i * 4 + 1] = rgb[i * 3 + 1];
      img.data[i * 4 + 2] = rgb[i * 3 + 2]; img.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function inkBox(canvas) {
    // The square around the ink of a drawing: the digits were size-normalised, so a drawing is scaled to fill it
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let x0 = canvas.width, y0 = canvas.height, x1 = -1, y1 = -1;
    for (let y = 0; y < canvas.height; y++) {
      for (let x = 0; x < canvas.width; x++) {
        if (data[(y * canvas.width + x) * 4] > 32) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      }
    }
    if (x1 < 0) return [0, 0, canvas.width];
    const side = Math.max(x1 - x0, y1 - y0) + 1;
    return [(x0 + x1 + 1 - side) / 2, (y0 + y1 + 1 - side) / 2, side];
  }

  function greyFromCanvas(canvas, invertLight, fit) {
    // The canvas drawn down to 32x32 by the browser, as grey 0..1 (ink high)
    const small = el("canvas", { width: 32, height: 32 });
    const ctx = small.getContext("2d");
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, 32, 32);
    if (fit) {
      const box = inkBox(canvas);
      ctx.drawImage(canvas, box[0], box[1], box[2], box[2], 0, 0, 32, 32);
    } else {
      ctx.drawImage(canvas, 0, 0, 32, 32);
    }
    const data = ctx.getImageData(0, 0, 32, 32).data;
    const grey = new Float32Array(32 * 32);
    let mean = 0;
    for (let i = 0; i < 32 * 32; i++) {
      grey[i] = (data[i * 4] + data[i * 4 + 1] + data[i * 4 + 2]) / (3 * 255);
      mean += grey[i] / (32 * 32);
    }
    if (invertLight && mean > 0.5) for (let i = 0; i < grey.length; i++) grey[i] = 1 - grey[i];
    return grey;
  }

  async function init(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "true";
    const base = new URL(root.dataset.assets, document.baseURI).href;  // absolute: holds under a sub-path
    const status = root.querySelector(".rg-tryit-status");
    const say = function (text) { status.textContent = text; };
    let meta;
    try {
      meta = await (await fetch(base + "gallery.json")).json();
    } catch (e) {
      say("Could not load the gallery: " + e.message);
      return;
    }
    const state = { session: null, precision: null, image: null };
    const gallery = root.querySelector(".rg-tryit-gallery");
    const preview = root.querySelector("canvas.rg-tryit-preview");
    const results = root.querySelector(".rg-tryit-results");
    const timing = root.querySelector(".rg-tryit-timing");
    const pick = root.querySelector("select.rg-tryit-model");
    const start = root.querySelector("button.rg-tryit-start");
    const images = meta.gallery.map(function (g) { return fromBase64(g.pixels); });

    images.forEach(function (rgb, i) {
      const button = el("button", { type: "button", class: "rg-tryit-thumb", "data-index": String(i),
                                    title: "held-out image " + (i + 1) + ", labelled " + meta.classes[meta.gallery[i].label] });
      const canvas = el("canvas", { width: 32, height: 32 });
      drawPixels(canvas, rgb);
      button.appendChild(canvas);
      button.addEventListener("click", function () { choose(rgb, "held-out image labelled " + meta.classes[meta.gallery[i].label]); });
      gallery.appendChild(button);
    });

    function measuredText(model) {
      const m = model.measured;
      if (!m) return "";
      return " On the report's machine (" + m.machine + ") this file took " + m.browser_ms.toFixed(2) +
        " ms in headless Chromium and " + m.python_ms.toFixed(2) + " ms in Python ONNX Runtime, " + m.threads +
        " thread(s), at the median.";
    }

    async function ensureSession() {
      const precision = pick.value;
      if (state.session && state.precision === precision) return state.session;
      const model = meta.models[precision];
      say("Loading the runtime and the " + precision + " model (" + (model.mb + meta.runtime_mb).toFixed(1) + " MB at most)…");
      await loadRuntime(base + "ort/");
      const made = await createSession(base + model.file);
      state.session = made.session; state.precision = precision;
      const info = await backendInfo();
      root.querySelector(".rg-tryit-backend").textContent = "Backend: WebAssembly (SIMD), " + info.threads +
        " thread" + (info.threads > 1 ? "s" : "") + ": " + info.why + "; WebGPU: " + info.webgpu + ".";
      say("Model loaded in " + made.loadMs.toFixed(0) + " ms.");
      return state.session;
    }

    async function classify() {
      if (!state.image) return;
      const session = await ensureSession();
      const data = preprocess(state.image, meta.mean, meta.std, meta.size);
      const out = await logits(session, data, meta.size);
      results.replaceChildren();
      topK(out, 5).forEach(function (t) {
        const row = el("tr");
        row.appendChild(el("td", {}, meta.classes[t.index]));
        row.appendChild(el("td", {}, (t.probability * 100).toFixed(1) + "%"));
        results.appendChild(row);
      });
      root.dataset.top1 = String(out.indexOf(Math.max.apply(null, out)));
      root.dataset.classified = String(Number(root.dataset.classified || 0) + 1);
    }

    function choose(rgb, what) {
      state.image = rgb;
      drawPixels(preview, rgb);
      root.querySelector(".rg-tryit-what").textContent = what;
      if (state.session) classify().catch(function (e) { say("Failed: " + e.message); });
    }

    start.addEventListener("click", function () {
      start.disabled = true;
      if (!state.image) choose(images[0], "held-out image labelled " + meta.classes[meta.gallery[0].label]);
      classify().catch(function (e) { say("Failed: " + e.message); }).finally(function () { start.disabled = false; });
    });
    pick.addEventListener("change", function () {
      if (state.session) classify().catch(function (e) { say("Failed: " + e.message); });
    });

    root.querySelector("button.rg-tryit-time").addEventListener("click", async function (event) {
      const button = event.target;
      button.disabled = true;
      try {
        if (!state.image) choose(images[0], "held-out image labelled " + meta.classes[meta.gallery[0].label]);
        const session = await ensureSession();
        const count = Number(root.querySelector("input.rg-tryit-count").value) || 30;
        say("Timing " + count + " calls…");
        const loop = await timeLoop(session, preprocess(state.image, meta.mean, meta.std, meta.size), meta.size,
                                    { warmup: 3, min_count: count, min_time_s: 0, max_time_s: 120 });
        const s = summary(loop.samples);
        timing.textContent = "Your browser, " + state.precision + ": median " + s.median.toFixed(2) + " ms per call " +
          "(interquartile range " + s.q1.toFixed(2) + "–" + s.q3.toFixed(2) + " ms, " + s.count + " calls after 3 " +
          "warm-up calls; first call " + loop.firstMs.toFixed(1) + " ms)." + measuredText(meta.models[state.precision]);
        say("Done.");
      } catch (e) {
        say("Failed: " + e.message);
      } finally {
        button.disabled = false;
      }
    });

    // drawing: white ink on black, as the digits are stored
    const pad = root.querySelector("canvas.rg-tryit-pad");
    const pctx = pad.getContext("2d");
    function clearPad() { pctx.fillStyle = "#000"; pctx.fillRect(0, 0, pad.width, pad.height); }
    clearPad();
    let drawing = false;
    function point(e) {
      const r = pad.getBoundingClientRect();
      return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
    }
    pad.addEventListener("pointerdown", function (e) {
      drawing = true; pctx.beginPath(); const p = point(e); pctx.moveTo(p[0], p[1]);
    });
    pad.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      const p = point(e);
      pctx.strokeStyle = "#fff"; pctx.lineWidth = pad.width / 7; pctx.lineCap = "round"; pctx.lineJoin = "round";
      pctx.lineTo(p[0], p[1]); pctx.stroke();
    });
    pad.addEventListener("pointerup", function () {
      drawing = false;
      choose(digitize(greyFromCanvas(pad, false, true)), "your drawing");
    });
    root.querySelector("button.rg-tryit-clear").addEventListener("click", clearPad);
    root.querySelector("input.rg-tryit-upload").addEventListener("change", function (e) {
      const file = e.target.files[0];
      if (!file) return;
      readUpload(file).then(function (up) {
        const size = up.scaled ? ", " + up.width + "x" + up.height + " px, scaled down" : "";
        choose(digitize(greyFromCanvas(up.canvas, true, false)), "your upload (" + file.name + size + ")");
        if (!state.session) say("Your picture is in: press Classify.");
      }).catch(function (err) { say("Not used: " + err.message + "."); });
    });
    say("Pick an image, draw a digit or upload one, then press Classify.");
  }

  function initAll() {
    document.querySelectorAll("#rg-tryit").forEach(function (root) {
      init(root).catch(function (e) { console.warn("try-it:", e); });
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(initAll);  // mkdocs-material: every page load, instant navigation included
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
