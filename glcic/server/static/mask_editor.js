// The mask editor: the hole painted over the image, with a brush, an eraser and undo/redo.
//
// The mask lives on an offscreen canvas at the image's full resolution; the visible
// canvas is the same size and only scaled by CSS, so a pointer position is mapped back
// to image pixels before painting. Painting is recorded as a list of operations
// (strokes and clears) so undo/redo replays them instead of keeping a copy of the mask
// per step. A loaded mask file (load()) is one more operation: it replaces the mask, can
// be undone, and is painted over like any other. toBlob() thresholds the mask to
// black/white (white = hole) for the server.
//
// The editor knows nothing of files, results or the server. The page passes hooks:
//   canEdit()  whether painting is allowed now (an image is open, no request running);
//   edited()   called before the mask changes (a result made with the old mask is dropped);
//   changed()  called after the history changes (the page updates its buttons);
//   draw()     redraws the visible canvas; the editor batches pointer moves into one
//              draw per animation frame.

const MASK_RGB = "rgb(255, 32, 64)"; // how the hole is shown; any opaque colour works
const MASK_ALPHA = 0.55;

export class MaskEditor {
  /**
   * @param {{view: HTMLCanvasElement, cursor: HTMLElement, size: HTMLInputElement,
   *          sizeOut: HTMLOutputElement, brush: HTMLInputElement, eraser: HTMLInputElement}} el
   * @param {{canEdit: () => boolean, edited: () => void, changed: () => void, draw: () => void}} hooks
   */
  constructor(el, hooks) {
    this.el = el;
    this.hooks = hooks;
    this.canvas = document.createElement("canvas");
    this.mask = this.canvas.getContext("2d", { willReadFrequently: true });
    this.ops = []; // painted operations, oldest first
    this.undone = []; // operations undone, the next to redo last
    this.stroke = null; // the operation being painted
    this.frame = 0; // a pending requestAnimationFrame, or 0
    this.listen();
  }

  // ---- the image ------------------------------------------------------------------

  /** Start an empty mask of the image's size, with a brush sized for it. */
  reset(width, height) {
    this.ops = [];
    this.undone = [];
    this.canvas.width = width;
    this.canvas.height = height;
    this.mask.clearRect(0, 0, width, height);
    // Start with a brush about 1/12 of the shorter side, a usable size at any resolution.
    this.setBrush(Math.round(Math.min(width, height) / 12));
  }

  /** Draw the mask, half transparent, over what `view` already shows. */
  drawOver(view) {
    view.globalAlpha = MASK_ALPHA;
    view.drawImage(this.canvas, 0, 0);
    view.globalAlpha = 1;
  }

  // ---- painting ---------------------------------------------------------------------

  paintSegment(op, from, to) {
    const mask = this.mask;
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

  replay(op) {
    if (op.type === "clear") {
      this.mask.clearRect(0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    if (op.type === "load") {
      this.mask.putImageData(op.pixels, 0, 0); // replaces every pixel, transparent ones too
      return;
    }
    const pts = op.points;
    this.paintSegment(op, pts[0], pts[0]);
    for (let i = 1; i < pts.length; i++) this.paintSegment(op, pts[i - 1], pts[i]);
  }

  rebuild() {
    this.mask.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const op of this.ops) this.replay(op);
  }

  drawSoon() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.hooks.draw(); });
  }

  // ---- history ------------------------------------------------------------------------

  get canUndo() {
    return this.ops.length > 0;
  }

  get canRedo() {
    return this.undone.length > 0;
  }

  /** Whether the last clear was followed by a brush stroke or a loaded mask with a hole. */
  hasPaint() {
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const op = this.ops[i];
      if (op.type === "clear") return false;
      if (op.type === "load") return op.holes > 0;
      if (op.mode === "brush") return true;
    }
    return false;
  }

  commit(op) {
    this.ops.push(op);
    this.undone = [];
    this.hooks.changed();
  }

  // The history is empty until an image is open, so canEdit() (image open, not busy)
  // only adds "not busy" to the emptiness checks of undo and redo.
  undo() {
    if (!this.ops.length || !this.hooks.canEdit()) return;
    this.undone.push(this.ops.pop());
    this.hooks.edited();
    this.rebuild();
    this.hooks.draw();
    this.hooks.changed();
  }

  redo() {
    if (!this.undone.length || !this.hooks.canEdit()) return;
    const op = this.undone.pop();
    this.ops.push(op);
    this.hooks.edited();
    this.replay(op);
    this.hooks.draw();
    this.hooks.changed();
  }

  /**
   * Replace the mask with a loaded one, as one operation that can be undone.
   * @param {Uint8Array} hole one byte per image pixel, row by row: 1 = hole.
   * @returns {number} how many pixels are hole.
   */
  load(hole) {
    const w = this.canvas.width, h = this.canvas.height;
    if (!this.hooks.canEdit() || hole.length !== w * h) return 0;
    this.hooks.edited();
    const [r, g, b] = MASK_RGB.match(/\d+/g).map(Number);
    const pixels = new ImageData(w, h);
    const px = pixels.data;
    let holes = 0;
    for (let i = 0; i < hole.length; i++) {
      if (!hole[i]) continue;
      holes++;
      px[4 * i] = r;
      px[4 * i + 1] = g;
      px[4 * i + 2] = b;
      px[4 * i + 3] = 255;
    }
    const op = { type: "load", pixels, holes };
    this.replay(op);
    this.commit(op);
    this.hooks.draw();
    return holes;
  }

  /** Clear the whole mask, as one operation that can be undone. */
  clear() {
    if (!this.hooks.canEdit() || !this.hasPaint()) return;
    this.hooks.edited();
    const op = { type: "clear" };
    this.replay(op);
    this.commit(op);
    this.hooks.draw();
  }

  // ---- brush ----------------------------------------------------------------------------

  brushSize() {
    return Number(this.el.size.value);
  }

  /** Set the brush diameter in image pixels, within the slider's range. */
  setBrush(px) {
    const size = this.el.size;
    const v = Math.max(Number(size.min), Math.min(Number(size.max), Math.round(px)));
    size.value = String(v);
    this.el.sizeOut.textContent = v + " px";
  }

  /** Pick the tool: "brush" paints the hole, "eraser" removes it. */
  setTool(tool) {
    (tool === "eraser" ? this.el.eraser : this.el.brush).checked = true;
  }

  // ---- pointer input ----------------------------------------------------------------------

  toImage(e) {
    const view = this.el.view;
    const r = view.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * view.width) / r.width,
      ((e.clientY - r.top) * view.height) / r.height,
    ];
  }

  moveCursor(e) {
    const { view, cursor } = this.el;
    const r = view.getBoundingClientRect();
    const d = (this.brushSize() * r.width) / view.width;
    cursor.style.width = cursor.style.height = d + "px";
    cursor.style.left = e.clientX - r.left + "px";
    cursor.style.top = e.clientY - r.top + "px";
    cursor.classList.toggle("eraser", this.el.eraser.checked);
    cursor.hidden = false;
  }

  endStroke() {
    if (!this.stroke) return;
    this.commit(this.stroke);
    this.stroke = null;
  }

  listen() {
    const view = this.el.view;
    view.addEventListener("pointerdown", (e) => {
      if (!this.hooks.canEdit() || e.button !== 0) return;
      e.preventDefault();
      view.setPointerCapture(e.pointerId);
      this.hooks.edited();
      const p = this.toImage(e);
      const mode = this.el.eraser.checked ? "eraser" : "brush";
      this.stroke = { type: "stroke", mode, size: this.brushSize(), points: [p] };
      this.paintSegment(this.stroke, p, p);
      this.drawSoon();
    });

    view.addEventListener("pointermove", (e) => {
      this.moveCursor(e);
      if (!this.stroke) return;
      const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
      for (const ev of events.length ? events : [e]) {
        const p = this.toImage(ev);
        const pts = this.stroke.points;
        this.paintSegment(this.stroke, pts[pts.length - 1], p);
        pts.push(p);
      }
      this.drawSoon();
    });

    view.addEventListener("pointerup", () => this.endStroke());
    view.addEventListener("pointercancel", () => this.endStroke());
    view.addEventListener("pointerleave", () => { this.el.cursor.hidden = true; });
    this.el.size.addEventListener("input", () => this.setBrush(this.brushSize()));
  }

  // ---- for the server ---------------------------------------------------------------------

  /** The mask as an opaque black/white PNG (white = hole), or null when nothing is painted. */
  toBlob() {
    // Threshold the painted alpha (anti-aliased edges included from half-opaque on).
    const w = this.canvas.width, h = this.canvas.height;
    const src = this.mask.getImageData(0, 0, w, h).data;
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
}
