"""Training holes that cover what people paint: rectangles, brush strokes and blobs.

The paper trains on rectangles only (Sec. 4), and a network trained so loses to
classical methods on the thin, irregular holes people actually draw. The
:class:`MixMaskGenerator` draws, per mask, one family with configurable weights:

* ``rect``: the paper's rectangles (:class:`~glcic.data.masks.RectMaskGenerator`, holes
  of ``hole_min``..``hole_max`` px inside the local window);
* ``stroke``: free-form brush strokes over the whole image, of varied width, length and
  curvature (the DeepFill v2 recipe, Yu et al. 2019, Alg. 1, at image scale), added one
  by one until the hole reaches a drawn target area;
* ``blob``: one solid irregular region the size of an object to remove (a union of
  rotated ellipses and a jittered polygon around one centre), scaled to the target area.

Strokes and blobs draw their target hole area uniformly in ``area`` (fractions of the
image, e.g. 2-60 %), so the mix spans the NVIDIA test masks' bins without training on them.

**The local window.** The paper's local discriminator sees a patch centred on the
completed region. A hole whose bounding box fits the window gets the window centred on
that box (:func:`~glcic.data.masks.window_around`), exactly as in the paper. A larger
hole (a long stroke, a big blob) cannot be seen whole by the local discriminator: its
window is centred on one of its hole pixels drawn at random, so the patch always holds
completed pixels and, over training, every part of a large hole is judged; the global
discriminator sees the whole hole as before. The window is clamped inside the image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from glcic.config import check_mix
from glcic.data.windows import check_local_size, image_hw, window_around

FAMILIES = ("rect", "stroke", "blob")
"""The hole families of the mix, in the order of ``mask.mix_weights``."""
MAX_REDRAWS = 20
"""Draws per mask before the closest one to the target area is kept."""
STROKE_WIDTH = (0.02, 0.09)
"""Brush width as a fraction of the image's short side (DeepFill: up to 20 px at 256)."""
STROKE_VERTICES = (4, 12)
MEAN_ANGLE, ANGLE_RANGE = 2 * math.pi / 5, 2 * math.pi / 15  # DeepFill v2's turning angles


def _reflect(v: float, lo: int, hi: int) -> int:
    """Fold ``v`` back into [lo, hi] like a mirror at both ends."""
    if hi <= lo:
        return lo
    period = 2 * (hi - lo)
    t = (v - lo) % period
    return int(round(lo + (t if t <= hi - lo else period - t)))


def turning_angles(
    rng: np.random.Generator, mean: float = MEAN_ANGLE, spread: float = ANGLE_RANGE
) -> tuple[float, float]:
    """A stroke's turning-angle range ``(a_lo, a_hi)`` around ``mean`` (DeepFill v2)."""
    return mean - rng.uniform(0, spread), mean + rng.uniform(0, spread)


def draw_stroke(
    canvas: np.ndarray,
    rng: np.random.Generator,
    brush: int,
    vertices: int,
    radius: float,
    angles: tuple[float, float],
    margin: int = 0,
) -> None:
    """Draw one DeepFill-style polyline stroke of width ``brush`` onto ``canvas`` (in place).

    Vertices start at a uniform point and take steps of length ~N(radius, radius/2)
    (clipped to [0, 2 radius]) at alternating turning angles; a step that leaves the
    canvas (less ``margin``) is reflected back. Joints are rounded with circles.

    Args:
        canvas: ``uint8`` (H, W), 1 is painted.
        brush: line width in pixels (>= 1).
        vertices: number of steps.
        radius: mean step length in pixels.
        angles: the turning-angle range, from :func:`turning_angles`.
        margin: keep vertices this far from the edges (so strokes are not cut flat).
    """
    h, w = canvas.shape
    ylo, yhi = min(margin, (h - 1) // 2), max(h - 1 - margin, (h - 1) // 2)
    xlo, xhi = min(margin, (w - 1) // 2), max(w - 1 - margin, (w - 1) // 2)
    a_lo, a_hi = angles
    pts = [(int(rng.integers(xlo, xhi + 1)), int(rng.integers(ylo, yhi + 1)))]  # (x, y)
    for i in range(vertices):
        a = rng.uniform(a_lo, a_hi)
        a = 2 * math.pi - a if i % 2 == 0 else a
        r = float(np.clip(rng.normal(radius, radius / 2), 0, 2 * radius))
        pts.append((_reflect(pts[-1][0] + r * math.cos(a), xlo, xhi), _reflect(pts[-1][1] + r * math.sin(a), ylo, yhi)))
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        cv2.line(canvas, p, q, 1, brush)
    for p in pts:
        cv2.circle(canvas, p, brush // 2, 1, -1)


def strokes(hw: tuple[int, int], target: float, rng: np.random.Generator) -> np.ndarray:
    """Brush strokes over an ``hw`` image, added until the hole covers ``target`` of it.

    Returns:
        ``uint8`` (H, W), 1 = hole.
    """
    h, w = hw
    short = min(h, w)
    canvas = np.zeros((h, w), np.uint8)
    radius = math.hypot(h, w) / 8  # DeepFill: sqrt(H^2 + W^2) / 8
    while canvas.mean() < target:
        brush = max(1, int(round(rng.uniform(*STROKE_WIDTH) * short)))
        n = int(rng.integers(STROKE_VERTICES[0], STROKE_VERTICES[1] + 1))
        draw_stroke(canvas, rng, brush, n, radius, turning_angles(rng))
    return canvas


def blob(hw: tuple[int, int], target: float, rng: np.random.Generator) -> np.ndarray:
    """One solid irregular region covering about ``target`` of an ``hw`` image.

    A union of 1-4 rotated ellipses and a jittered star polygon around one centre, its
    size set so that the union's area (before clipping by the image) is ``target``.

    Returns:
        ``uint8`` (H, W), 1 = hole.
    """
    h, w = hw
    # Draw the shape at unit scale on a large canvas, measure it, then scale to target.
    n = 256
    unit = np.zeros((n, n), np.uint8)
    c = n // 2
    for _ in range(int(rng.integers(1, 5))):
        axes = (int(rng.uniform(0.08, 0.22) * n), int(rng.uniform(0.05, 0.16) * n))
        centre = (c + int(rng.normal(0, 0.06 * n)), c + int(rng.normal(0, 0.06 * n)))
        cv2.ellipse(unit, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    k = int(rng.integers(5, 12))
    ang = np.sort(rng.uniform(0, 2 * math.pi, k))
    rad = rng.uniform(0.08, 0.22, k) * n
    poly = np.stack([c + rad * np.cos(ang), c + rad * np.sin(ang)], axis=1).astype(np.int32)  # (k, 2) x, y
    cv2.fillPoly(unit, [poly], 1)
    area = max(int(unit.sum()), 1)
    scale = math.sqrt(target * h * w / area)  # unit px -> image px
    ys, xs = np.nonzero(unit)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    bh, bw = max(1, round((y1 - y0) * scale)), max(1, round((x1 - x0) * scale))
    shape = cv2.resize(unit[y0:y1, x0:x1], (bw, bh), interpolation=cv2.INTER_NEAREST)  # (bh, bw)
    # Centre anywhere such that at least half of each side stays inside the image.
    cy = int(rng.integers(0, h)) if bh >= h else int(rng.integers(bh // 2, h - (bh - bh // 2) + 1))
    cx = int(rng.integers(0, w)) if bw >= w else int(rng.integers(bw // 2, w - (bw - bw // 2) + 1))
    top, left = cy - bh // 2, cx - bw // 2
    canvas = np.zeros((h, w), np.uint8)
    sy0, sx0 = max(0, -top), max(0, -left)
    dy0, dx0 = max(0, top), max(0, left)
    dy1, dx1 = min(h, top + bh), min(w, left + bw)
    canvas[dy0:dy1, dx0:dx1] = shape[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0]
    return canvas


def numpy_rng(generator: torch.Generator | None) -> np.random.Generator:
    """A NumPy generator seeded from ``generator`` (one draw of it): the shapes use NumPy's
    RNG, and a mask still depends on the one torch seed."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator).item()))


def hole_window(hole: np.ndarray, local_size: int, rng: np.random.Generator) -> tuple[int, int]:
    """The local discriminator's window for ``hole`` (see the module docstring).

    Args:
        hole: (H, W), non-zero = hole (not empty).
        local_size: the window's side.

    Returns:
        ``(y, x)`` top-left corner, inside the image.
    """
    ys, xs = np.nonzero(hole)
    if ys.max() - ys.min() < local_size and xs.max() - xs.min() < local_size:
        return window_around(hole, local_size)
    i = int(rng.integers(0, len(ys)))
    h, w = hole.shape
    y = min(max(int(ys[i]) - local_size // 2, 0), h - local_size)
    x = min(max(int(xs[i]) - local_size // 2, 0), w - local_size)
    return y, x


class MixMaskGenerator:
    """Rectangles, strokes and blobs, mixed with ``weights`` (see the module docstring).

    Args:
        image_size: side, or (H, W).
        local_size: side of the local discriminator's window.
        rect: the paper's rectangle generator (any :class:`MaskGenerator`), drawn for ``rect``.
        weights: relative weights of ``rect``, ``stroke`` and ``blob`` (>= 0, not all 0).
        area: (min, max) hole area of strokes and blobs, as fractions of the image.
    """

    def __init__(
        self,
        image_size: int | Sequence[int],
        local_size: int,
        rect,
        weights: Sequence[float] = (1.0, 1.0, 1.0),
        area: Sequence[float] = (0.02, 0.6),
    ) -> None:
        self.image_size = image_hw(image_size)
        self.local_size = check_local_size(local_size, self.image_size)
        check_mix(list(weights), list(area))
        self.rect = rect
        self.weights = np.asarray(weights, np.float64) / float(sum(weights))
        self.area = (float(area[0]), float(area[1]))

    def draw(self, family: str, rng: np.random.Generator) -> np.ndarray:
        """One ``stroke`` or ``blob`` hole, ``uint8`` (H, W), its area within ``self.area``
        when any of :data:`MAX_REDRAWS` draws manages it (else the closest draw)."""
        lo, hi = self.area
        make = strokes if family == "stroke" else blob
        best, best_err = None, math.inf
        for _ in range(MAX_REDRAWS):
            target = rng.uniform(lo, hi)
            m = make(self.image_size, target, rng)
            a = float(m.mean())
            err = max(lo - a, a - hi, 0.0)
            if err == 0.0:
                return m
            if err < best_err:
                best, best_err = m, err
        return best

    def __call__(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, tuple[int, int]]:
        """Draw one mask: float (1, H, W) in {0, 1} (1 = hole) and its window (y, x)."""
        u = float(torch.rand((), generator=generator))
        family = FAMILIES[min(int(np.searchsorted(np.cumsum(self.weights), u, side="right")), len(FAMILIES) - 1)]
        if family == "rect":
            return self.rect(generator)
        rng = numpy_rng(generator)
        hole = self.draw(family, rng)
        window = hole_window(hole, self.local_size, rng)
        return torch.from_numpy(hole).float()[None], window  # (1, H, W)
