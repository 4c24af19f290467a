"""Native-scale detail for holes the network filled at a smaller scale (strategy ``refine``).

A deep hole in a large photo is completed where the network sees enough context: the
whole photo (``resize``) or a window around the hole (``crop``) scaled down to the
training resolution, 0.09x for a 2048 px photo, 0.05x at 12 MP. Scaled back up, that fill
holds the right colours and shapes but no frequency above what the small copy could
hold: a smooth smear. :func:`add_detail` paints the missing band at native scale from the
photo's own pixels, guided by the network's fill, training-free (guided exemplar
synthesis, after Efros and Freeman's image quilting and the guidance of Hertzmann et
al.'s image analogies):

1. split at the network's scale ``s``: a Gaussian of ``sigma = 0.5 / s`` native pixels
   keeps what the fill knows (its *low* band, the guide) and, in the photo's known
   pixels, separates the *high* band the fill lacks (the photo minus its own low band,
   computed from known pixels only);
2. cut the hole into overlapping patches of :data:`PATCH` px; for each, find the known
   patch whose low band looks most like the guide's there (mean colour on a 4x4 grid of
   cells, so shape and gradient count too) and whose texture is as strong as the known
   pixels around the hole suggest, with a mild preference for nearby sources;
3. the result in the hole is the guide's low band plus the chosen patches' high bands,
   overlapped with linear ramps.

The detail is the photo's own (no noise, no sharpening filter); the colours and shapes are
the network's. Known pixels are never changed.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

__all__ = ["PATCH", "STRIDE", "add_detail", "detail_sigma", "refine", "window"]

PATCH = 24
"""Side of a copied patch, native pixels."""
STRIDE = 16
"""Patch step in the hole: neighbouring patches overlap by ``PATCH - STRIDE`` pixels."""
CELLS = 4
"""The matching feature: each patch's low band averaged on ``CELLS x CELLS`` cells."""
MAX_CANDIDATES = 30_000
"""At most this many source patches are compared (their step grows with the photo)."""
DISTANCE_WEIGHT = 0.02
"""Preference for nearby sources: this x (distance / window side)^2 is added to the
feature distance (features are colours in [0, 1], squared, summed over the cells)."""
ENERGY_WEIGHT = 1.5
"""Weight of texture strength (the RMS of the high band, per cell) in the matching feature,
beside the low band's colours."""
JITTER = 4
"""Target patches sit on a STRIDE grid moved by up to this many pixels each (seeded)."""
TOP_K = 8
"""Candidates kept per target patch for the coherence pass."""
COHERENCE = 0.8
"""A candidate that continues a neighbour's copy (the neighbour's source shifted by the
targets' offset) competes with its cost x this: larger stretches of the photo are copied
whole, which looks like texture, not like tiles."""
LOW_RES_SIGMA = 4.0
""":func:`_low` takes Gaussians at least this wide (px) on a shrunk copy."""
MIN_SCALE_GAP = 0.75
"""Holes filled at a scale of at least this lose little; :func:`add_detail` leaves them."""


def detail_sigma(scale: float) -> float:
    """The Gaussian (native pixels) that separates what a fill made at ``scale`` holds."""
    return max(1.0, 0.5 / scale)


def _low(a: np.ndarray, known: np.ndarray | None, sigma: float) -> np.ndarray:
    """Gaussian low band of ``a`` ``(h, w, 3)`` or ``(h, w)`` float32; with ``known``, from known
    pixels only (normalised convolution), so a hole's content never leaks into it. A wide
    Gaussian (``sigma`` of :data:`LOW_RES_SIGMA` px or more) is taken on a copy shrunk by
    ``sigma / 2`` (area averages) and scaled back up (bilinear): its band holds nothing the
    small copy loses, at a fraction of the cost."""
    f = int(sigma // 2) if sigma >= LOW_RES_SIGMA else 1
    h, w = a.shape[:2]
    if f > 1:
        small = (max(1, round(w / f)), max(1, round(h / f)))

        def shrink(t: np.ndarray) -> np.ndarray:
            return cv2.resize(t, small, interpolation=cv2.INTER_AREA)

        low = _low(shrink(a) if known is None else shrink(a * _per_pixel(known.astype(np.float32), a)),
                   None, sigma / f)
        if known is not None:
            den = cv2.GaussianBlur(shrink(known.astype(np.float32)), (0, 0), sigma / f, borderType=cv2.BORDER_REFLECT)
            low = low / _per_pixel(np.maximum(den, 1e-6), low)
        return cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)
    if known is None:
        return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    k = known.astype(np.float32)
    num = cv2.GaussianBlur(a * _per_pixel(k, a), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(k, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return num / _per_pixel(np.maximum(den, 1e-6), num)


def _per_pixel(k: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``k`` ``(h, w)`` shaped to multiply ``like`` (``(h, w)`` or ``(h, w, C)``)."""
    return k if like.ndim == 2 else k[:, :, None]


def _smooth_known(a: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """``a`` ``(h, w, 1)`` averaged with a wide Gaussian over the pixels where ``weight`` > 0,
    everywhere (the hole too); computed at 1/8 size, it is smooth anyway."""
    h, w = weight.shape
    size = (max(1, w // 8), max(1, h // 8))
    num = cv2.resize(a[:, :, 0] * weight, size, interpolation=cv2.INTER_AREA)
    den = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    num = cv2.GaussianBlur(num, (0, 0), sigma / 8, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(den, (0, 0), sigma / 8, borderType=cv2.BORDER_REFLECT)
    small = num / np.maximum(den, 1e-6)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)[:, :, None]


_CELL_Y, _CELL_X = (np.mgrid[0:PATCH:PATCH // CELLS, 0:PATCH:PATCH // CELLS].reshape(2, -1))
"""Each cell's offset in a patch, in :func:`_features`' order: ``(CELLS * CELLS,)`` each."""


def _cell_image(image: np.ndarray) -> np.ndarray:
    """Each pixel's mean over the ``PATCH // CELLS`` square below and right of it: a patch's
    cells are then single reads (:func:`_features`). ``float32``, the shape of ``image``."""
    c = PATCH // CELLS
    return cv2.boxFilter(image, -1, (c, c), anchor=(0, 0), normalize=True, borderType=cv2.BORDER_REPLICATE)


def _features(cells: np.ndarray, tops: np.ndarray, lefts: np.ndarray) -> torch.Tensor:
    """``(N, CELLS * CELLS * C)``: the patches' cell means, read from :func:`_cell_image`'s ``cells``."""
    feats = [cells[tops + dy, lefts + dx] for dy, dx in zip(_CELL_Y, _CELL_X, strict=True)]  # each (N, C)
    return torch.from_numpy(np.concatenate(feats, axis=1))


def _patch_sum(integral: np.ndarray, y, x):
    """The sum over the ``PATCH`` square at ``(y, x)`` (ints or arrays of them) of the image
    whose ``cv2.integral`` is ``integral``."""
    return integral[y + PATCH, x + PATCH] - integral[y, x + PATCH] - integral[y + PATCH, x] + integral[y, x]


def _cost(fy: int, fx: int, target: np.ndarray, cells: np.ndarray, root: float) -> float:
    """The search's squared distance between the source patch at ``(fy, fx)`` and a target's
    feature ``target`` (its cell means, then its position times ``root``, as in :func:`add_detail`)."""
    d = np.square(cells[_CELL_Y + fy, _CELL_X + fx].reshape(-1) - target[:-2]).sum()
    return float(d + (fy * root - target[-2]) ** 2 + (fx * root - target[-1]) ** 2)


def _choose(
    ty: np.ndarray, tx: np.ndarray, gy: np.ndarray, gx: np.ndarray, sy: np.ndarray, sx: np.ndarray,
    cost: np.ndarray, ok: np.ndarray, cells: np.ndarray, targets: np.ndarray, root: float,
) -> list[tuple[int, int]]:
    """One source ``(y, x)`` per target (at ``ty, tx``, grid cell ``gy, gx``, search feature
    ``targets[t]``): its cheapest candidate, or the left or upper neighbour's copy continued
    when that costs at most 1 / :data:`COHERENCE` as much (:func:`_cost`); ``cells`` is the
    sources' feature image's :func:`_cell_image`. Targets in raster order."""
    h, w = cells.shape[:2]
    where = {(int(a), int(b)): t for t, (a, b) in enumerate(zip(gy, gx, strict=True))}
    chosen: list[tuple[int, int]] = []
    for t in range(ty.size):
        a, b = int(ty[t]), int(tx[t])
        best, best_cost = (int(sy[t, 0]), int(sx[t, 0])), float(cost[t, 0])
        for n in (where.get((int(gy[t]), int(gx[t]) - 1)), where.get((int(gy[t]) - 1, int(gx[t])))):
            if n is None or n >= t:
                continue
            fy, fx = chosen[n][0] + a - int(ty[n]), chosen[n][1] + b - int(tx[n])
            if not (0 <= fy <= h - PATCH and 0 <= fx <= w - PATCH):
                continue
            if _patch_sum(ok, fy, fx) != 0:
                continue
            c = COHERENCE * _cost(fy, fx, targets[t], cells, root)
            if c < best_cost:
                best, best_cost = (fy, fx), c
        chosen.append(best)
    return chosen


def add_detail(photo: np.ndarray, filled: np.ndarray, hole: np.ndarray, scale: float) -> np.ndarray:
    """Paint native detail into a hole the network filled at ``scale`` (see the module docstring).

    Args:
        photo: ``float32`` ``(H, W, 3)`` in [0, 1]; only its known pixels are read.
        filled: ``float32`` ``(H, W, 3)`` in [0, 1]: ``photo`` outside ``hole``, the
            network's (upscaled) fill inside.
        hole: ``bool`` ``(H, W)``, the pixels to refine (True = filled at ``scale``).
        scale: the scale the fill was made at (< 1).

    Returns:
        ``float32`` ``(H, W, 3)`` in [0, 1]: ``filled`` outside ``hole``; inside, its low
        band plus the high band of the best-matching known patches. Unchanged when
        ``scale`` is at least :data:`MIN_SCALE_GAP`, or when no known patch fits.
    """
    if scale >= MIN_SCALE_GAP or not hole.any() or min(hole.shape) < PATCH:
        return filled
    h, w = hole.shape
    sigma = detail_sigma(scale)
    hw, known, img = hole, ~hole, photo

    # Targets: patches on a STRIDE grid covering every hole pixel.
    # Each moved by up to JITTER px (seeded): seams on a regular grid would repeat every
    # STRIDE px, a pattern the eye (and grid_peaks) picks out.
    gy, gx = np.mgrid[0 : max(1, h - PATCH + STRIDE) : STRIDE, 0 : max(1, w - PATCH + STRIDE) : STRIDE]
    gy, gx = gy.ravel() // STRIDE, gx.ravel() // STRIDE
    jitter = np.random.default_rng(0).integers(-JITTER, JITTER + 1, (2, gy.size))
    ty = np.clip(gy * STRIDE + jitter[0], 0, h - PATCH)
    tx = np.clip(gx * STRIDE + jitter[1], 0, w - PATCH)
    hi = cv2.integral(hw.astype(np.uint8))
    keep = _patch_sum(hi, ty, tx) > 0
    ty, tx, gy, gx = ty[keep], tx[keep], gy[keep], gx[keep]
    # The targets' box (it holds the whole hole): what is painted and the guide read there only.
    y0, y1, x0, x1 = int(ty.min()), int(ty.max()) + PATCH, int(tx.min()), int(tx.max()) + PATCH
    box = (slice(y0, y1), slice(x0, x1))

    # The guide (what the fill knows), from a crop wide enough for the Gaussian's reach:
    # the same values in the box as blurring the whole window.
    reach = int(4 * sigma) + 2
    gy0, gx0 = max(0, y0 - reach), max(0, x0 - reach)
    guide = _low(filled[gy0 : y1 + reach, gx0 : x1 + reach], None, sigma)[y0 - gy0 : y1 - gy0, x0 - gx0 : x1 - gx0]
    photo_low = _low(img, known, sigma)  # (h, w, 3) the photo's own low band
    high = img - photo_low  # (h, w, 3) valid where the patch and its blur are known

    # Sources: patches whose pixels and blur support are all known.
    margin = int(math.ceil(2 * sigma))
    bad = cv2.dilate(hw.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))  # (h, w)
    ok = cv2.integral(bad)  # counts of "bad" pixels, for any patch in O(1)
    step = max(2, int(math.ceil(math.sqrt(max(1, known.sum()) / MAX_CANDIDATES))))
    cy, cx = np.mgrid[0 : h - PATCH + 1 : step, 0 : w - PATCH + 1 : step]
    cy, cx = cy.ravel(), cx.ravel()
    nbad = _patch_sum(ok, cy, cx)
    cy, cx = cy[nbad == 0], cx[nbad == 0]
    if cy.size == 0:
        return filled
    # Match texture strength too: a source's own (RMS of its high band) against what the
    # known pixels around suggest for the target (sky stays smooth, grass gets grass).
    valid = (bad == 0).astype(np.float32)
    rms = np.sqrt(_low((high * high).sum(axis=2), valid > 0, PATCH / 2))[:, :, None]
    expect = _smooth_known(rms, valid, max(2.0 * PATCH, max(h, w) / 6))[box]  # (bh, bw, 1)
    photo_low = np.concatenate([photo_low, ENERGY_WEIGHT * rms], axis=2)  # (h, w, 4)
    guide4 = np.concatenate([guide, ENERGY_WEIGHT * expect], axis=2)  # (bh, bw, 4)

    # Candidate sources per target: the TOP_K nearest by feature distance plus a preference
    # for nearby sources; then one raster pass that prefers continuing a neighbour's copy.
    # The distance preference is two more feature dimensions (positions times its root
    # weight), so one squared distance holds both terms.
    cells, gcells = _cell_image(photo_low), _cell_image(guide4)  # (h, w, 4), (bh, bw, 4)
    del photo_low, guide4
    root = math.sqrt(DISTANCE_WEIGHT) / max(h, w)
    fs = torch.cat([_features(cells, cy, cx), torch.from_numpy(np.stack([cy, cx], 1) * root).float()], 1)
    ft = torch.cat([_features(gcells, ty - y0, tx - x0), torch.from_numpy(np.stack([ty, tx], 1) * root).float()], 1)
    k = min(TOP_K, cy.size)
    top_cost = np.empty((ty.size, k), np.float32)
    top_idx = np.empty((ty.size, k), np.int64)
    # Squared distances as |s|^2 - 2 t.s (one matrix product), |t|^2 added to the k kept:
    # it does not change a target's ranking. 64 targets at a time keep the rows in cache.
    fs_t, fs_sq = fs.T.contiguous(), fs.square().sum(dim=1)[None]  # (F, Nc), (1, Nc)
    ft_sq = ft.square().sum(dim=1, keepdim=True)  # (Nt, 1)
    chunk = 64
    for i in range(0, ty.size, chunk):
        d = torch.addmm(fs_sq, ft[i : i + chunk], fs_t, alpha=-2)  # (n, Nc)
        v, j = torch.topk(d, k, dim=1, largest=False)
        top_cost[i : i + chunk], top_idx[i : i + chunk] = (v + ft_sq[i : i + chunk]).numpy(), j.numpy()
    src = _choose(ty, tx, gy, gx, cy[top_idx], cx[top_idx], top_cost, ok, cells, ft.double().numpy(), root)

    # Overlap-add the chosen high bands with linear ramps over the overlaps, in the box.
    ramp = np.minimum(1.0, (np.arange(PATCH) + 0.5) / max(1, PATCH - STRIDE))
    ramp = np.minimum(ramp, ramp[::-1]).astype(np.float32)
    wpatch = ramp[:, None] * ramp[None, :]  # (PATCH, PATCH)
    acc = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    wsum = np.zeros((y1 - y0, x1 - x0), np.float32)
    for t in range(ty.size):
        a, b, (c, e) = ty[t] - y0, tx[t] - x0, src[t]
        acc[a : a + PATCH, b : b + PATCH] += wpatch[:, :, None] * high[c : c + PATCH, e : e + PATCH]
        wsum[a : a + PATCH, b : b + PATCH] += wpatch
    inside = hw[box]
    detail = acc[inside] / np.maximum(wsum[inside], 1e-6)[:, None]  # (n, 3)
    out = filled.copy()
    out[box][inside] = np.clip(guide[inside] + detail, 0.0, 1.0)
    return out


def window(hole: np.ndarray) -> tuple[slice, slice]:
    """Where :func:`refine` looks: the hole's box grown by its longest side (room for
    sources all round), clipped to the image."""
    H, W = hole.shape
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    side = max(int(rows[-1] - rows[0]), int(cols[-1] - cols[0]), 4 * PATCH)
    return (slice(max(0, int(rows[0]) - side), min(H, int(rows[-1]) + 1 + side)),
            slice(max(0, int(cols[0]) - side), min(W, int(cols[-1]) + 1 + side)))


def refine(x: torch.Tensor, y: torch.Tensor, hole: np.ndarray, scale: float) -> torch.Tensor:
    """:func:`add_detail` on the pipeline's tensors, in a window around ``hole`` only.

    Args:
        x: ``(1, 3, H, W)`` float in [0, 1], the photo (its hole is not read).
        y: ``(1, 3, H, W)``, ``x`` completed at ``scale``; changed in place inside ``hole``.
        hole: ``bool`` ``(H, W)``, the pixels completed at ``scale``.
        scale: the network's scale for them.

    Returns:
        ``y``, with native detail in ``hole``.
    """
    if scale >= MIN_SCALE_GAP or not hole.any():
        return y
    win = window(hole)
    crop = (slice(None), slice(None), *win)

    def hwc(t: torch.Tensor) -> np.ndarray:
        return np.ascontiguousarray(t[crop][0].permute(1, 2, 0).float().cpu().numpy())  # (h, w, 3)

    z = add_detail(hwc(x), hwc(y), hole[win], scale)
    y[crop] = torch.from_numpy(z).permute(2, 0, 1)[None].to(y)
    return y
