"""What fills the hole before the completion network sees it (``model.prefill``).

The paper fills every hole with the training set's mean pixel (Sec. 3.1). With
``telea`` the hole is filled by OpenCV's fast-marching inpainting instead (the same
call as the ``telea`` baseline, with a smaller radius), so the network starts from the classical answer and
learns what to add; on thin holes and natural photos that start is already close. With
``biharmonic`` the start is scikit-image's biharmonic fill (the ``biharmonic`` baseline):
the best classical answer on thin holes (on CelebA val at 64 px, NVIDIA masks of 1-10 %:
25.7 dB hole PSNR against Telea's 21.5), at several times Telea's cost (a batch of 32
mixed holes at 128 px: about 1.3 s against 0.36 s for Telea at radius 5, one core).

scikit-image solves one sparse system with an unknown per hole pixel, whose cost grows
faster than the hole (one core: 0.4 s for 26,000 hole pixels, 3 s for 78,000). A hole of
more than :data:`BIHARMONIC_MAX_HOLE` pixels (never in training: a 128 px image has 16,384
pixels; only a big hole at native size with the ``original`` strategy) is solved on the
image scaled down until it fits, and the smooth fill scaled back up (:func:`biharmonic_fill`).

:func:`solve_biharmonic` is the same fill (scikit-image's equations, to rounding) solved
faster for long thin holes: one sparse LU of the whole hole in a banded order instead of
scikit-image's general one (a 2048 px photo's scribbles, 58,000 hole pixels: about 0.2 s
against 0.5-0.9 s). ``auto``'s windows along thin holes cut their pre-fill from it
(:mod:`glcic.thin`).

Training (the batch pipeline and the sample grids) and inference (the pipeline) call
:func:`prefill` alone, so a bundle gets at inference exactly the fill it was trained
with: the bundle stores ``model.prefill``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from glcic.convert import to_tensor, to_uint8
from glcic.models.completion import fill_holes
from glcic.options import PREFILLS, check_choice

TELEA_RADIUS = 3
"""Neighbourhood radius of the Telea pre-fill. Fast marching costs about radius^2 per hole
pixel: a batch of 32 mixed holes at 128 px took 240 ms at radius 5 (the ``telea``
baseline's) and 100 ms at 3 on this project's CPU, so training uses 3."""


BIHARMONIC_MAX_HOLE = 50_000
"""Most hole pixels the biharmonic pre-fill solves for at full resolution (about 1 s on one
core); larger holes are solved at a lower resolution (see the module docstring)."""


def biharmonic_fill(pixels: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``glcic.classical.inpaint_biharmonic``, at a lower resolution for very large holes.

    Args:
        pixels: (H, W, 3) uint8. hole: (H, W) bool, some but not every pixel True.

    Returns:
        (H, W, 3) uint8: ``pixels`` outside the hole; inside it the biharmonic fill, solved
        at full resolution while the hole has at most :data:`BIHARMONIC_MAX_HOLE` pixels, else
        on the image scaled by ``1 / f`` (area averaging; a low-resolution pixel is hole when
        any pixel under it is) and scaled back up (bilinear). The fill is smooth, so it
        loses little; the network paints the detail.
    """
    from glcic.classical import inpaint_biharmonic

    n = int(hole.sum())
    if n <= BIHARMONIC_MAX_HOLE:
        return inpaint_biharmonic(pixels, hole)
    h, w = hole.shape
    f = math.ceil(math.sqrt(n / BIHARMONIC_MAX_HOLE))
    while True:  # a low-resolution pixel touching the hole is hole: the count can come out over the cap
        small = (max(1, round(w / f)), max(1, round(h / f)))  # cv2 sizes are (width, height)
        small_hole = cv2.resize(hole.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0
        if small_hole.sum() <= BIHARMONIC_MAX_HOLE:
            break
        f += 1
    if small_hole.all():  # nothing known is left at this scale: the mean colour is all there is
        return np.where(hole[:, :, None], pixels[~hole].mean(axis=0).round().astype(np.uint8), pixels)
    small_fill = inpaint_biharmonic(cv2.resize(pixels, small, interpolation=cv2.INTER_AREA), small_hole)
    fill = cv2.resize(small_fill, (w, h), interpolation=cv2.INTER_LINEAR)  # (H, W, 3)
    return np.where(hole[:, :, None], fill, pixels)


def _stencil(shape: tuple[int, int], centre: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-image's biharmonic stencil on a ``shape`` box around ``centre``: the Laplacian of
    the Laplacian of a unit impulse (``scipy.ndimage.laplace``, reflecting at the box's
    edges, which truncates it near the image border). Returns row offsets, column offsets
    and coefficients of its non-zero taps."""
    from scipy.ndimage import laplace

    impulse = np.zeros(shape)
    impulse[centre] = 1
    coef = laplace(laplace(impulse))
    dy, dx = np.nonzero(coef)
    return dy - centre[0], dx - centre[1], coef[dy, dx]


_INNER = _stencil((5, 5), (2, 2))  # the 13 taps away from the image border


def solve_biharmonic(pixels: np.ndarray, hole: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """The biharmonic fill of ``hole``: scikit-image's ``inpaint_biharmonic`` (to rounding:
    :func:`glcic.classical.inpaint_biharmonic`), solved fast for thin holes
    (:func:`biharmonic_values`).

    Args:
        pixels: RGB ``uint8`` ``(H, W, 3)``.
        hole: ``bool`` ``(H, W)``, the pixels to fill (some pixel neither hole nor excluded).
        exclude: ``bool`` ``(H, W)`` or None: pixels that are neither known nor filled.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``: ``pixels`` outside ``hole``, the fill inside.
    """
    known = (~hole if exclude is None else ~(hole | exclude)).view(np.uint8)  # (H, W) {0, 1}
    # OpenCV's masked reductions: on a 12 MP photo numpy's copy of the known pixels took
    # longer than the solve.
    limits = np.array([cv2.minMaxLoc(pixels[:, :, c], mask=known)[:2] for c in range(3)]).T / 255.0  # (2, 3)
    mean = np.array(cv2.mean(pixels, mask=known)[:3]) / 255.0
    ys, xs, u = biharmonic_values(pixels, hole, exclude, limits, mean)
    out = pixels.copy()
    out[ys, xs] = np.clip(np.round(u * 255.0), 0, 255).astype(np.uint8)
    return out


def biharmonic_values(
    image: np.ndarray,
    hole: np.ndarray,
    exclude: np.ndarray | None,
    limits: np.ndarray,
    mean: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`solve_biharmonic`'s solve: the fill's values at the hole pixels only.

    One equation per hole pixel: the 13-tap biharmonic stencil (truncated near the image
    border as scikit-image does) is zero there, known pixels on the right-hand side. The
    unknowns are put in reverse Cuthill-McKee order, which makes the matrix of a long thin
    hole a narrow band, and factorised once for the three channels. Pixels in ``exclude``
    (hole pixels no one reads) are left out: a tap on one reads the centre pixel's own value
    (no slope across it). A part of the hole that reaches no known pixel gets ``mean``.

    Args:
        image: ``(H, W, 3)``, ``uint8`` or float in [0, 1] (any strides: only the pixels
            next to the hole are read).
        hole, exclude: as :func:`solve_biharmonic` takes them.
        limits: ``(2, 3)``: the fill is clipped to ``[limits[0], limits[1]]`` per channel in
            [0, 1] (scikit-image clips to the range of the known pixels).
        mean: ``(3,)`` in [0, 1].

    Returns:
        ``(ys, xs, values)``: the hole pixels (``int64`` ``(n,)`` each, raster order) and
        their fill, float64 ``(n, 3)`` in [0, 1].
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components, reverse_cuthill_mckee
    from scipy.sparse.linalg import splu

    scale = 1 / 255.0 if image.dtype == np.uint8 else 1.0
    H, W = hole.shape
    ys, xs = np.nonzero(hole)
    n = ys.size
    index = np.full((H, W), -1, np.int64)  # unknown number of each hole pixel
    index[ys, xs] = np.arange(n)
    if exclude is not None:
        index[exclude & ~hole] = -2
    rows, cols, vals = [], [], []
    rhs = np.zeros((n, 3))
    has_known = np.zeros(n, bool)
    inner = (ys >= 2) & (ys < H - 2) & (xs >= 2) & (xs < W - 2)
    groups = [(np.flatnonzero(inner), _INNER)]
    border: dict[tuple, list[int]] = {}  # pixels near the border, by their truncated stencil
    for i in np.flatnonzero(~inner):
        y, x = int(ys[i]), int(xs[i])
        y0, x0 = max(0, y - 2), max(0, x - 2)
        key = (min(H, y + 3) - y0, min(W, x + 3) - x0, y - y0, x - x0)
        border.setdefault(key, []).append(i)
    groups += [(np.array(v), _stencil(k[:2], k[2:])) for k, v in border.items()]
    for p, (dys, dxs, coefs) in groups:
        for dy, dx, c in zip(dys, dxs, coefs, strict=True):
            qy, qx = ys[p] + dy, xs[p] + dx
            q = index[qy, qx]
            unknown, known = q >= 0, q == -1
            rows.append(p[unknown])
            cols.append(q[unknown])
            vals.append(np.full(int(unknown.sum()), c))
            rhs[p[known]] -= (c * scale) * image[qy[known], qx[known]]  # p is unique within one tap
            has_known[p[known]] = True
            off = q == -2  # excluded: the tap reads the centre's own value
            rows.append(p[off])
            cols.append(p[off])
            vals.append(np.full(int(off.sum()), c))
    a = sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )  # duplicates (the centre and its excluded taps) are summed
    u = np.empty((n, 3))
    # A part of the hole that reaches no known pixel has no biharmonic fill: the mean colour.
    _, part = connected_components(a, directed=False)
    lonely = ~np.isin(part, np.unique(part[has_known]))
    u[lonely] = mean
    solve = np.flatnonzero(~lonely)
    if solve.size:
        a = a[solve][:, solve]
        order = reverse_cuthill_mckee(a.tocsr(), symmetric_mode=False)
        lu = splu(a[order][:, order].tocsc(), permc_spec="NATURAL")
        u[solve[order]] = lu.solve(rhs[solve[order]])
    return ys, xs, np.clip(u, limits[0], limits[1])  # what scikit-image does with overshoot


def prefill(
    x: torch.Tensor,
    mask: torch.Tensor,
    mean: torch.Tensor,
    kind: str = "mean",
    value_range: Sequence[float] = (0.0, 1.0),
) -> torch.Tensor:
    """Fill the holes of a batch the way the network was trained to expect.

    Args:
        x: (B, 3, H, W) images in ``value_range``.
        mask: (B, 1, H, W) in {0, 1}, 1 = hole.
        mean: (3,) the dataset mean pixel in ``value_range`` (used by ``mean``).
        kind: ``"mean"`` (the paper), ``"telea"`` or ``"biharmonic"``.
        value_range: the model's value range, ``(0, 1)`` or ``(-1, 1)``.

    Returns:
        (B, 3, H, W): known pixels exactly ``x``'s, holes filled.
    """
    check_choice("model.prefill", kind, PREFILLS)
    if kind == "mean":
        return fill_holes(x, mask, mean)
    from glcic.classical import inpaint_telea

    def classical(p, h):  # (H, W, 3) uint8, (H, W) bool -> (H, W, 3) uint8
        return inpaint_telea(p, h, TELEA_RADIUS) if kind == "telea" else biharmonic_fill(p, h)

    # The classical fills work on 8-bit pixels, each image of the batch on its own.
    pixels = to_uint8(x, value_range)  # (B, H, W, 3) uint8
    holes = (mask[:, 0] > 0.5).cpu().numpy()  # (B, H, W) bool
    filled = [
        to_tensor(classical(p, h) if h.any() and not h.all() else p, value_range)
        for p, h in zip(pixels, holes, strict=True)
    ]
    filled_t = torch.stack(filled).to(device=x.device, dtype=x.dtype)  # (B, 3, H, W)
    return torch.where(mask.bool(), filled_t, x)
