// glcic page: open an image, paint the hole, run, compare, download.
//
// The mask lives on an offscreen canvas at the image's full resolution; the visible
// canvas is the same size and only scaled by CSS. Painting is recorded as a list of
// operations (strokes and clears) so undo/redo replays them instead of keeping a copy
// of the mask per step. On Run the mask is thresholded to black/white (white = hole)
// and sent as a PNG with the file exactly as it was opened.
"use strict";

(() => {
  const API = "/api/v1";
  const MASK_RGB = "rgb(255, 32, 64)"; // how the hole is shown; any opaque colour works
  const MASK_ALPHA = 0.55;

  const $ = (id) => document.getElementById(id);
  const el = {
    file: $("file"),
    stage: $("stage"),
    hint: $("drop-hint"),
    wrap: $("canvas-wrap"),
    view: $("view"),
    cursor: $("cursor"),
    size: $("brush-size"),
    sizeOut: $("brush-size-value"),
    brush: $("tool-brush"),
    eraser: $("tool-eraser"),
    undo: $("undo"),
    redo: $("redo"),
    clear: $("clear"),
    model: $("model"),
    postprocess: $("postprocess"),
    method: $("method"),
    strategy: $("strategy"),
    run: $("run"),
    compare: $("compare"),
    download: $("download"),
    status: $("status"),
    modelInfo: $("model-info"),
  };
  const view = el.view.getContext("2d");
  const maskCanvas = document.createElement("canvas");
  const mask = maskCanvas.getContext("2d", { willReadFrequently: true });

  const state = {
    file: null, // the Blob as opened, sent unchanged
    name: "image",
    original: null, // ImageBitmap
    result: null, // { bitmap, url }
    ops: [], // painted operations, oldest first
    redo: [],
    stroke: null, // the operation being painted
    comparing: false,
    busy: false,
    limits: null, // from /api/v1/health
    models: [], // from /api/v1/models: { name, default, description, resolution, license, ... }
  };

  // ---- status line -------------------------------------------------------

  function say(text, kind = "") {
    el.status.textContent = text;
    el.status.className = "status" + (kind ? " " + kind : "");
  }

  // ---- drawing -------------------------------------------------------------

  function render() {
    if (!state.original) return;
    const base = state.result && !state.comparing ? state.result.bitmap : state.original;
    view.globalAlpha = 1;
    view.clearRect(0, 0, el.view.width, el.view.height);
    view.drawImage(base, 0, 0);
    if (!state.result && !state.comparing) {
      view.globalAlpha = MASK_ALPHA;
      view.drawImage(maskCanvas, 0, 0);
      view.globalAlpha = 1;
    }
  }

  let frame = 0;
  function scheduleRender() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
  }

  function paintSegment(op, from, to) {
    mask.save();
    mask.globalCompositeOperation = op.mode === "eraser" ? "destination-out" : "source-over";
    mask.strokeStyle = mask.fillStyle = MASK_RGB;
    mask.lineWidth = op.size;
    mask.lineCap = mask.lineJoin = "round";
    if (from[0] === to[0] && from[1] === to[1]) {
      mask.beginPath();
      mask.arc(to[0], to[1], op.size / 2, 0, 2 * Math.PI);
      mask.fill();
    } else {
      mask.beginPath();
      mask.moveTo(from[0], from[1]);
      mask.lineTo(to[0], to[1]);
      mask.stroke();
    }
    mask.restore();
  }

  function replay(op) {
    if (op.type === "clear") {
      mask.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
      return;
    }
    const pts = op.points;
    paintSegment(op, pts[0], pts[0]);
    for (let i = 1; i < pts.length; i++) paintSegment(op, pts[i - 1], pts[i]);
  }

  function rebuildMask() {
    mask.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
    for (const op of state.ops) replay(op);
  }

  // ---- history ---------------------------------------------------------------

  function maskEdited() {
    // A result belongs to the mask it was made with; editing the mask starts over.
    if (state.result) {
      dropResult();
      say("Mask changed: press Run for a new result.");
    }
  }

  function commit(op) {
    state.ops.push(op);
    state.redo = [];
    updateButtons();
  }

  function undo() {
    if (!state.ops.length || state.busy) return;
    state.redo.push(state.ops.pop());
    maskEdited();
    rebuildMask();
    render();
    updateButtons();
  }

  function redo() {
    if (!state.redo.length || state.busy) return;
    const op = state.redo.pop();
    state.ops.push(op);
    maskEdited();
    replay(op);
    render();
    updateButtons();
  }

  function clearMask() {
    if (!state.original || state.busy || !hasPaint()) return;
    maskEdited();
    const op = { type: "clear" };
    replay(op);
    commit(op);
    render();
  }

  function hasPaint() {
    // Whether the last clear was followed by at least one brush stroke.
    for (let i = state.ops.length - 1; i >= 0; i--) {
      if (state.ops[i].type === "clear") return false;
      if (state.ops[i].mode === "brush") return true;
    }
    return false;
  }

  function updateButtons() {
    const loaded = !!state.original;
    el.undo.disabled = !loaded || state.busy || !state.ops.length;
    el.redo.disabled = !loaded || state.busy || !state.redo.length;
    el.clear.disabled = !loaded || state.busy || !hasPaint();
    el.run.disabled = !loaded || state.busy || !hasPaint();
    el.compare.disabled = !state.result;
    const ready = !!state.result;
    el.download.classList.toggle("disabled", !ready);
    el.download.setAttribute("aria-disabled", String(!ready));
    if (ready) {
      el.download.href = state.result.url;
      el.download.download = state.name.replace(/\.[^.]*$/, "") + "-inpainted.png";
    } else {
      el.download.removeAttribute("href");
    }
    el.stage.setAttribute("aria-busy", String(state.busy));
  }

  // ---- pointer input -----------------------------------------------------------

  function toImage(e) {
    const r = el.view.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * el.view.width) / r.width,
      ((e.clientY - r.top) * el.view.height) / r.height,
    ];
  }

  function brushSize() {
    return Number(el.size.value);
  }

  function moveCursor(e) {
    const r = el.view.getBoundingClientRect();
    const d = (brushSize() * r.width) / el.view.width;
    el.cursor.style.width = el.cursor.style.height = d + "px";
    el.cursor.style.left = e.clientX - r.left + "px";
    el.cursor.style.top = e.clientY - r.top + "px";
    el.cursor.classList.toggle("eraser", el.eraser.checked);
    el.cursor.hidden = false;
  }

  el.view.addEventListener("pointerdown", (e) => {
    if (!state.original || state.busy || e.button !== 0) return;
    e.preventDefault();
    el.view.setPointerCapture(e.pointerId);
    maskEdited();
    const p = toImage(e);
    state.stroke = { type: "stroke", mode: el.eraser.checked ? "eraser" : "brush", size: brushSize(), points: [p] };
    paintSegment(state.stroke, p, p);
    scheduleRender();
  });

  el.view.addEventListener("pointermove", (e) => {
    moveCursor(e);
    if (!state.stroke) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const p = toImage(ev);
      const pts = state.stroke.points;
      paintSegment(state.stroke, pts[pts.length - 1], p);
      pts.push(p);
    }
    scheduleRender();
  });

  function endStroke() {
    if (!state.stroke) return;
    commit(state.stroke);
    state.stroke = null;
  }
  el.view.addEventListener("pointerup", endStroke);
  el.view.addEventListener("pointercancel", endStroke);
  el.view.addEventListener("pointerleave", () => { el.cursor.hidden = true; });

  // ---- opening an image ------------------------------------------------------------

  async function openFile(file) {
    if (!file) return;
    if (state.busy) return say("Wait for the running request to finish.", "error");
    if (file.type && !file.type.startsWith("image/")) {
      return say(`${file.name} is not an image (${file.type}); open a PNG, JPEG, WebP or BMP file.`, "error");
    }
    const lim = state.limits;
    if (lim && file.size > lim.max_upload_bytes) {
      return say(`${file.name} is ${mib(file.size)} MiB; this server takes at most ${mib(lim.max_upload_bytes)} MiB.`, "error");
    }
    let bitmap;
    try {
      // from-image: draw the photo upright, as the server reads it (EXIF orientation applied).
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (err) {
      return say(`${file.name} could not be decoded by the browser; open a PNG, JPEG, WebP or BMP file.`, "error");
    }
    if (lim && bitmap.width * bitmap.height > lim.max_pixels) {
      say(`${file.name} is ${bitmap.width}×${bitmap.height} = ${bitmap.width * bitmap.height} pixels; this server takes at most ${lim.max_pixels}. Downscale it first.`, "error");
      bitmap.close();
      return;
    }
    if (state.original) state.original.close();
    dropResult();
    state.file = file;
    state.name = file.name || "image";
    state.original = bitmap;
    state.ops = [];
    state.redo = [];
    el.view.width = maskCanvas.width = bitmap.width;
    el.view.height = maskCanvas.height = bitmap.height;
    mask.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
    // Start with a brush about 1/12 of the shorter side, a usable size at any resolution.
    setBrush(Math.round(Math.min(bitmap.width, bitmap.height) / 12));
    el.hint.hidden = true;
    el.wrap.hidden = false;
    el.view.setAttribute("aria-label", `${state.name}, ${bitmap.width}×${bitmap.height}; paint the hole in red`);
    render();
    updateButtons();
    say(`Opened ${state.name} (${bitmap.width}×${bitmap.height}). Paint over what should be replaced, then Run.`);
  }

  function mib(bytes) {
    return (bytes / 1048576).toFixed(1);
  }

  el.file.addEventListener("change", () => {
    openFile(el.file.files[0]);
    el.file.value = ""; // opening the same file again still fires change
  });
  el.stage.addEventListener("dragover", (e) => {
    e.preventDefault();
    el.stage.classList.add("dragging");
  });
  el.stage.addEventListener("dragleave", () => el.stage.classList.remove("dragging"));
  el.stage.addEventListener("drop", (e) => {
    e.preventDefault();
    el.stage.classList.remove("dragging");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) openFile(file);
  });

  // ---- brush size ---------------------------------------------------------------------

  function setBrush(px) {
    const v = Math.max(Number(el.size.min), Math.min(Number(el.size.max), Math.round(px)));
    el.size.value = String(v);
    el.sizeOut.textContent = v + " px";
  }
  el.size.addEventListener("input", () => setBrush(brushSize()));

  // ---- running ---------------------------------------------------------------------------

  function maskBlob() {
    // Threshold the painted alpha (anti-aliased edges included from half-opaque on)
    // to an opaque black/white PNG: white = hole.
    const w = maskCanvas.width, h = maskCanvas.height;
    const src = mask.getImageData(0, 0, w, h).data;
    const out = new ImageData(w, h);
    const dst = out.data;
    let holes = 0;
    for (let i = 0; i < src.length; i += 4) {
      const v = src[i + 3] >= 128 ? 255 : 0;
      holes += v & 1;
      dst[i] = dst[i + 1] = dst[i + 2] = v;
      dst[i + 3] = 255;
    }
    if (!holes) return Promise.resolve(null);
    const c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    c.getContext("2d").putImageData(out, 0, 0);
    return new Promise((resolve) => c.toBlob(resolve, "image/png"));
  }

  async function run() {
    if (!state.original || state.busy || !hasPaint()) return;
    state.busy = true;
    updateButtons();
    say("Running…", "busy");
    const started = performance.now();
    try {
      const maskPng = await maskBlob();
      if (!maskPng) {
        say("The mask is empty: paint over the region to replace first.", "error");
        return;
      }
      const form = new FormData();
      form.append("image", state.file, state.name);
      form.append("mask", maskPng, "mask.png");
      // No list from the server (it could not be read): leave the choice to the server's default.
      if (el.model.value) form.append("model", el.model.value);
      form.append("postprocess", el.postprocess.value);
      form.append("method", el.method.value);
      form.append("strategy", el.strategy.value);
      let response;
      try {
        response = await fetch(`${API}/inpaint`, { method: "POST", body: form });
      } catch (err) {
        say(`Could not reach the server (${err.message}). Is glcic serve still running?`, "error");
        return;
      }
      if (!response.ok) {
        say(await describeError(response), "error");
        return;
      }
      const blob = await response.blob();
      const bitmap = await createImageBitmap(blob);
      dropResult();
      state.result = { bitmap, url: URL.createObjectURL(blob) };
      const secs = ((performance.now() - started) / 1000).toFixed(2);
      say(`Done in ${secs} s${whatRan(response.headers)}. Hold Space (or the compare button) to see the original; paint again to refine.`, "ok");
    } finally {
      state.busy = false;
      updateButtons();
      render();
    }
  }

  // " with glcic-face64-celeba (strategy tiles, scale 1)": what the server says it ran.
  function whatRan(headers) {
    const model = headers.get("X-Glcic-Model");
    if (!model) return "";
    const strategy = headers.get("X-Glcic-Strategy");
    const scale = headers.get("X-Glcic-Scale");
    const how = [];
    if (strategy && strategy !== "none") how.push(`strategy ${strategy}`);
    if (scale && strategy !== "none") how.push(`scale ${Number(scale).toPrecision(3).replace(/\.?0+$/, "")}`);
    return ` with ${model}` + (how.length ? ` (${how.join(", ")})` : "");
  }

  async function describeError(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      // not JSON: a proxy's page, say
    }
    const what = body && body.detail ? body.detail : response.statusText || "no explanation";
    const code = body && body.error ? body.error : "error";
    const retry = response.headers.get("Retry-After");
    return `Error ${response.status} (${code}): ${what}` + (retry ? ` Retry in ${retry} s.` : "");
  }

  function dropResult() {
    if (!state.result) return;
    state.result.bitmap.close();
    URL.revokeObjectURL(state.result.url);
    state.result = null;
    state.comparing = false;
    updateButtons();
  }

  el.run.addEventListener("click", run);
  el.undo.addEventListener("click", undo);
  el.redo.addEventListener("click", redo);
  el.clear.addEventListener("click", clearMask);
  el.download.addEventListener("click", (e) => {
    if (!state.result) e.preventDefault();
  });

  // ---- comparing --------------------------------------------------------------------------

  function setComparing(on) {
    on = on && !!state.result;
    if (state.comparing === on) return;
    state.comparing = on;
    el.compare.classList.toggle("active", on);
    el.compare.setAttribute("aria-pressed", String(on));
    render();
  }
  el.compare.addEventListener("pointerdown", () => setComparing(true));
  for (const ev of ["pointerup", "pointerleave", "pointercancel", "blur"]) {
    el.compare.addEventListener(ev, () => setComparing(false));
  }

  // ---- keyboard ----------------------------------------------------------------------------

  function typing(target) {
    return target instanceof HTMLSelectElement ||
      (target instanceof HTMLInputElement && !["range", "radio", "file", "button"].includes(target.type));
  }

  document.addEventListener("keydown", (e) => {
    if (typing(e.target)) return;
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (e.code === "Space") {
      // Hold-to-compare takes Space from the focused button too (buttons also answer Enter).
      if (state.original) {
        e.preventDefault();
        if (!e.repeat) setComparing(true);
      }
    } else if (ctrl && key === "z") {
      e.preventDefault();
      e.shiftKey ? redo() : undo();
    } else if (ctrl && key === "y") {
      e.preventDefault();
      redo();
    } else if (ctrl && key === "enter") {
      e.preventDefault();
      run();
    } else if (ctrl && key === "s") {
      e.preventDefault();
      if (state.result) el.download.click();
    } else if (ctrl || e.altKey) {
      return;
    } else if (e.key === "[") {
      setBrush(brushSize() / 1.25);
    } else if (e.key === "]") {
      setBrush(Math.max(brushSize() + 1, brushSize() * 1.25));
    } else if (key === "b") {
      el.brush.checked = true;
    } else if (key === "e") {
      el.eraser.checked = true;
    } else if (key === "o") {
      el.file.click();
    }
  });
  document.addEventListener("keyup", (e) => {
    if (e.code === "Space" && !typing(e.target)) {
      if (state.original) e.preventDefault(); // a focused button must not be clicked by it
      setComparing(false);
    }
  });
  window.addEventListener("blur", () => setComparing(false));

  // ---- server information ---------------------------------------------------------------------

  async function loadInfo() {
    try {
      const [health, models] = await Promise.all([
        fetch(`${API}/health`).then((r) => r.json()),
        fetch(`${API}/models`).then((r) => r.json()),
      ]);
      state.limits = health.limits || null;
      state.models = models.models || [];
      if (!state.models.length) throw new Error("no models listed");
      fillModels();
    } catch (err) {
      el.model.replaceChildren(new Option("server default", ""));
      el.modelInfo.textContent = "Could not read the model information from the server.";
    }
  }

  // One option per loaded model, the server's default selected; a single model is shown
  // but cannot be changed.
  function fillModels() {
    el.model.replaceChildren();
    for (const m of state.models) {
      const label = m.default && state.models.length > 1 ? `${m.name} (default)` : m.name;
      el.model.add(new Option(label, m.name, m.default, m.default));
    }
    el.model.disabled = state.models.length < 2;
    el.model.title = state.models.length < 2
      ? "The only model this server has loaded"
      : "Which of the server's models completes the hole";
    describeModel();
  }

  function describeModel() {
    const model = state.models.find((m) => m.name === el.model.value);
    if (!model) return;
    // The name and what the model is for; the training data is a list of local
    // folders, which tells a visitor nothing.
    let text = `Model: ${model.name}`;
    if (model.description) text += ` — ${model.description.replace(/\.$/, "")}`;
    text += model.resolution ? ` (trained at ${model.resolution} px).` : ".";
    el.modelInfo.textContent = text + (model.license ? ` Licence: ${model.license}` : "");
  }
  el.model.addEventListener("change", describeModel);

  updateButtons();
  loadInfo();
})();
