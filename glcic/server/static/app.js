// glcic page: open an image, paint the hole (or load a mask), run, compare, download.
//
// The page wiring: this module holds the page's state (the file as opened, the result,
// whether a request runs), opens files, runs requests, shows and compares the result,
// and answers the keyboard. Painting the mask, with undo/redo, is mask_editor.js;
// reading a mask file by the server's rules is mask_file.js; the requests to /api/v1
// and their error messages are api.js.
//
// On Run the mask is thresholded to black/white (white = hole) and sent as a PNG with
// the file exactly as it was opened; the answer comes back in the file's format (unless
// More asks for another) and downloads as NAME_filled.EXT. The result belongs to the
// mask it was made with: editing the mask drops it and shows the mask again, to refine
// and rerun.

import { RequestError, fetchServerInfo, inpaint } from "./api.js";
import { MaskEditor } from "./mask_editor.js";
import { MaskFileError, readMaskFile } from "./mask_file.js";

const $ = (id) => document.getElementById(id);
const el = {
  file: $("file"),
  maskFile: $("mask-file"),
  maskButton: $("mask-button"),
  stage: $("stage"),
  hint: $("drop-hint"),
  dropZones: $("drop-zones"),
  dropMask: $("drop-mask"),
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
  format: $("format"),
  strip: $("strip-metadata"),
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
  result: null, // { bitmap, url, filename }
  comparing: false,
  busy: false,
  limits: null, // from /api/v1/health
  models: [], // from /api/v1/models: { name, default, summary, description, resolution, license, ... }
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
  const maskable = loaded && !state.busy;
  el.maskFile.disabled = !maskable;
  el.maskButton.classList.toggle("disabled", !maskable);
  el.maskButton.setAttribute("aria-disabled", String(!maskable));
  const ready = !!state.result;
  el.download.classList.toggle("disabled", !ready);
  el.download.setAttribute("aria-disabled", String(!ready));
  if (ready) {
    el.download.href = state.result.url;
    el.download.download = state.result.filename;
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

// ---- loading a mask ------------------------------------------------------------------

async function openMask(file) {
  if (!file) return;
  if (!state.original) return say("Open the image first, then its mask.", "error");
  if (state.busy) return say("Wait for the running request to finish.", "error");
  let mask;
  try {
    mask = await readMaskFile(file, state.original.width, state.original.height);
  } catch (err) {
    if (!(err instanceof MaskFileError)) throw err;
    return say(err.message, "error");
  }
  const holes = editor.load(mask.hole);
  render();
  updateButtons();
  if (!holes) {
    return say(`The mask ${file.name} has no hole (nothing white, or nothing painted on its transparent layer): there is nothing to fill. Paint the hole, or load another mask.`, "error");
  }
  const share = ((100 * holes) / mask.hole.length).toPrecision(2);
  const rule = mask.fromAlpha ? "what is painted on its transparent layer" : "its white pixels";
  say(`Loaded mask ${file.name}: ${rule}, ${holes} pixels (${share} %) to fill. Edit it with the brush and eraser, then Run.`);
}

el.file.addEventListener("change", () => {
  openFile(el.file.files[0]);
  el.file.value = ""; // opening the same file again still fires change
});
el.maskFile.addEventListener("change", () => {
  openMask(el.maskFile.files[0]);
  el.maskFile.value = "";
});

// Dropping: with an image open, the stage shows two halves, "open as the image" and
// "load as the mask". Two files dropped at once are an image and its mask: the one
// whose name says "mask" is the mask.
el.stage.addEventListener("dragover", (e) => {
  e.preventDefault();
  el.stage.classList.add("dragging");
  el.dropZones.hidden = !state.original;
  for (const zone of el.dropZones.children) zone.classList.toggle("over", zone.contains(e.target));
});
el.stage.addEventListener("dragleave", (e) => {
  if (el.stage.contains(e.relatedTarget)) return; // moving between the stage's children
  el.stage.classList.remove("dragging");
  el.dropZones.hidden = true;
});
el.stage.addEventListener("drop", async (e) => {
  e.preventDefault();
  el.stage.classList.remove("dragging");
  el.dropZones.hidden = true;
  const files = Array.from((e.dataTransfer && e.dataTransfer.files) || []);
  if (!files.length) return;
  if (files.length >= 2) {
    const mask = files.find((f) => /mask/i.test(f.name)) || files[1];
    const image = files.find((f) => f !== mask);
    await openFile(image);
    if (state.file === image) await openMask(mask);
  } else if (state.original && el.dropMask.contains(e.target)) {
    await openMask(files[0]);
  } else {
    await openFile(files[0]);
  }
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
        format: el.format.value,
        stripMetadata: el.strip.checked,
      });
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      say(err.message, "error");
      return;
    }
    let bitmap;
    try {
      bitmap = await createImageBitmap(answer.blob);
    } catch (err) {
      say(`The result (${answer.blob.type}) cannot be shown by this browser; pick PNG or JPEG under More.`, "error");
      return;
    }
    dropResult();
    const filename = answer.filename || resultName(state.name, answer.blob.type);
    state.result = { bitmap, url: URL.createObjectURL(answer.blob), filename };
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    say(`Done in ${secs} s${answer.ran}. Hold Space (or the compare button) to see the original; paint again to refine.`, "ok");
  } finally {
    state.busy = false;
    updateButtons();
    render();
  }
}

// "photo.jpg" + image/jpeg -> "photo_filled.jpg": what the server's Content-Disposition
// says too; used when the answer has none.
const EXTENSIONS = { "image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/tiff": ".tif",
  "image/bmp": ".bmp", "image/gif": ".gif" };
function resultName(name, type) {
  const stem = name.replace(/\.[^.]*$/, "") || "image";
  return `${stem}_filled${EXTENSIONS[type] || ".png"}`;
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
  } else if (key === "m") {
    if (!el.maskFile.disabled) el.maskFile.click();
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
    fillMethods(info.methods);
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

// One option per method the server can run (GET /api/v1/methods), its default selected;
// none listed (an older server): the network alone, which every server runs.
function fillMethods(methods) {
  if (!methods || !methods.length) return;
  el.method.replaceChildren();
  for (const m of methods) el.method.add(new Option(m.label || m.name, m.name, m.default, m.default));
}

// The server's one-line summary: what the model is for, its resolution, its training
// data and licence, each said once.
function describeModel() {
  const model = state.models.find((m) => m.name === el.model.value);
  if (!model) return;
  const about = model.summary || model.description || "";
  el.modelInfo.textContent = `Model: ${model.name}` + (about ? ` — ${about}` : ".");
}
el.model.addEventListener("change", describeModel);

updateButtons();
loadInfo();
