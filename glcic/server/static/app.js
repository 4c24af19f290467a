// glcic page: open an image, paint the hole, run, compare, download.
//
// The page wiring: this module holds the page's state (the file as opened, the result,
// whether a request runs), opens files, runs requests, shows and compares the result,
// and answers the keyboard. Painting the mask, with undo/redo, is mask_editor.js; the
// requests to /api/v1 and their error messages are api.js.
//
// On Run the mask is thresholded to black/white (white = hole) and sent as a PNG with
// the file exactly as it was opened. The result belongs to the mask it was made with:
// editing the mask drops it and shows the mask again, to refine and rerun.

import { RequestError, fetchServerInfo, inpaint } from "./api.js";
import { MaskEditor } from "./mask_editor.js";

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

const state = {
  file: null, // the Blob as opened, sent unchanged
  name: "image",
  original: null, // ImageBitmap
  result: null, // { bitmap, url }
  comparing: false,
  busy: false,
  limits: null, // from /api/v1/health
  models: [], // from /api/v1/models: { name, default, description, resolution, license, ... }
};

const editor = new MaskEditor(el, {
  canEdit: () => !!state.original && !state.busy,
  edited: maskEdited,
  changed: updateButtons,
  draw: render,
});

// ---- status line -------------------------------------------------------

function say(text, kind = "") {
  el.status.textContent = text;
  el.status.className = "status" + (kind ? " " + kind : "");
}

// ---- drawing -------------------------------------------------------------

// The result (or, while comparing, the original); before a result, the original with
// the mask over it.
function render() {
  if (!state.original) return;
  const base = state.result && !state.comparing ? state.result.bitmap : state.original;
  view.globalAlpha = 1;
  view.clearRect(0, 0, el.view.width, el.view.height);
  view.drawImage(base, 0, 0);
  if (!state.result && !state.comparing) editor.drawOver(view);
}

function maskEdited() {
  // A result belongs to the mask it was made with; editing the mask starts over.
  if (state.result) {
    dropResult();
    say("Mask changed: press Run for a new result.");
  }
}

function updateButtons() {
  const loaded = !!state.original;
  el.undo.disabled = !loaded || state.busy || !editor.canUndo;
  el.redo.disabled = !loaded || state.busy || !editor.canRedo;
  el.clear.disabled = !loaded || state.busy || !editor.hasPaint();
  el.run.disabled = !loaded || state.busy || !editor.hasPaint();
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
  el.view.width = bitmap.width;
  el.view.height = bitmap.height;
  editor.reset(bitmap.width, bitmap.height);
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

// ---- running ---------------------------------------------------------------------------

async function run() {
  if (!state.original || state.busy || !editor.hasPaint()) return;
  state.busy = true;
  updateButtons();
  say("Running…", "busy");
  const started = performance.now();
  try {
    const maskPng = await editor.toBlob();
    if (!maskPng) {
      say("The mask is empty: paint over the region to replace first.", "error");
      return;
    }
    let answer;
    try {
      answer = await inpaint({
        image: state.file,
        name: state.name,
        mask: maskPng,
        model: el.model.value,
        postprocess: el.postprocess.value,
        method: el.method.value,
        strategy: el.strategy.value,
      });
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      say(err.message, "error");
      return;
    }
    const bitmap = await createImageBitmap(answer.blob);
    dropResult();
    state.result = { bitmap, url: URL.createObjectURL(answer.blob) };
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    say(`Done in ${secs} s${answer.ran}. Hold Space (or the compare button) to see the original; paint again to refine.`, "ok");
  } finally {
    state.busy = false;
    updateButtons();
    render();
  }
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
el.undo.addEventListener("click", () => editor.undo());
el.redo.addEventListener("click", () => editor.redo());
el.clear.addEventListener("click", () => editor.clear());
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
    e.shiftKey ? editor.redo() : editor.undo();
  } else if (ctrl && key === "y") {
    e.preventDefault();
    editor.redo();
  } else if (ctrl && key === "enter") {
    e.preventDefault();
    run();
  } else if (ctrl && key === "s") {
    e.preventDefault();
    if (state.result) el.download.click();
  } else if (ctrl || e.altKey) {
    return;
  } else if (e.key === "[") {
    editor.setBrush(editor.brushSize() / 1.25);
  } else if (e.key === "]") {
    editor.setBrush(Math.max(editor.brushSize() + 1, editor.brushSize() * 1.25));
  } else if (key === "b") {
    editor.setTool("brush");
  } else if (key === "e") {
    editor.setTool("eraser");
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
    const info = await fetchServerInfo();
    state.limits = info.limits;
    state.models = info.models;
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
