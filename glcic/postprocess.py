"""The paper's post-processing: seam blending (Sec. 3.4).

Iizuka et al. blend the network's completion into its surroundings with "simple
post-processing": fast marching (Telea 2004) followed by Poisson image blending
(Perez et al. 2003). Here, per hole, fast marching fills the hole of the
*original* image with a smooth continuation of the surroundings, and
``cv2.seamlessClone`` pastes the completed content into that background keeping
the completion's gradients while matching the surroundings at the boundary.

All arrays are numpy: images RGB ``uint8`` ``(H, W, 3)``, masks ``bool`` or
``uint8`` ``(H, W)`` with **non-zero = hole**. BGR appears only at the OpenCV calls.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np

from glcic.classical import check_image, check_image_and_mask, inpaint_telea
from glcic.errors import InputError

__all__ = ["DEFAULT_SEAM", "blend"]

DEFAULT_SEAM = 3
"""Default seam width in pixels: how far outside a hole :func:`blend` may change pixels."""

# cv2.seamlessClone erodes its mask by 3 pixels (a 3x3 kernel, 3 iterations)
# before mixing source and destination gradients (OpenCV seamless_cloning_impl.cpp,
# Cloning::computeDerivatives). blend() sizes its mask around that; the
# four-sided blending test catches a change.
_OPENCV_EROSION = 3

SPARSE_FRACTION = 0.25
"""A blended region that covers less than this fraction of its bounding box (a scribble
across the photo) is solved on its hole pixels alone (:func:`_poisson_on_hole`), not by
``cv2.seamlessClone`` on the whole box: on a 12 MP photo with wires that cost 16 s."""
SPARSE_MIN_BOX = 256 * 256
"""Regions whose box is smaller than this always go through ``cv2.seamlessClone``."""
CLONE_MAX_BOX = 3_000_000
"""Regions whose box is larger than this go through :func:`_poisson_on_hole` whatever their
shape: ``cv2.seamlessClone`` needs about 180 bytes and 3 us per pixel of the box (2 GB and
38 s for a 12 MP box on this project's loaded CPU; 540 MB for 3 MP)."""
COARSE_MIN_HOLE = 150_000
"""A hole of more unknowns than this is first solved at half size (recursively), and that
solution's smooth correction, scaled up, starts the solve at full size."""
SOLVE_MAX_HOLE = 4_000_000
"""A compact hole of more pixels than this (most of a 40 MP photo) is not blended: the solve
would need more than about 1.5 GB. A warning says so."""
BAND_PAD = 8
"""Fast marching runs in a band of ``2 x radius + BAND_PAD`` pixels along each hole's edge
(see :func:`_background`)."""
MAX_STEPS = 3000
"""Conjugate-gradient steps at the coarsest size (a thin hole converges in a few hundred)."""
FINE_STEPS = 80
"""Steps at each finer size: they only need to fix the few pixels next to the hole's edge
where the scaled-up coarse correction is off (information moves about a pixel a step)."""

# How deep (pixels) a hole touching the image border is mirrored across it.
_MAX_MIRROR = 128


def _check_blend_args(
    completed: np.ndarray, original: np.ndarray, mask: np.ndarray, telea_radius: float, seam: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check :func:`blend`'s arguments; return ``(completed, original, hole)``."""
    completed = check_image(completed, "completed")
    original, hole = check_image_and_mask(original, mask, "original")
    if completed.shape != original.shape:
        raise InputError(
            f"completed has shape {completed.shape} but original has shape {original.shape}; both "
            "must be the same (H, W, 3) size; resize one to the other before calling"
        )
    if isinstance(seam, bool) or not isinstance(seam, (int, np.integer)) or seam < 1:
        raise InputError(
            f"seam must be an integer >= 1 (pixels around each hole that blending may change); "
            f"got {seam!r}"
        )
    if (
        isinstance(telea_radius, bool)
        or not isinstance(telea_radius, (int, float, np.integer, np.floating))
        or not telea_radius > 0
    ):
        raise InputError(f"telea_radius must be a positive number of pixels; got {telea_radius!r}")
    return completed, original, hole


def blend(
    completed: np.ndarray,
    original: np.ndarray,
    mask: np.ndarray,
    telea_radius: float = 3,
    seam: int = DEFAULT_SEAM,
) -> np.ndarray:
    """Blend a completion into its surroundings: fast marching + Poisson blending.

    For each hole: (1) fast marching (OpenCV Telea) fills the hole of ``original``,
    giving a smooth background continuation; (2) Poisson blending
    (``cv2.seamlessClone``, ``NORMAL_CLONE``) with that background as destination
    keeps the gradients of ``completed`` between hole pixels and takes every
    gradient that touches a known pixel from the background, so a colour or
    brightness step between the completion and its surroundings is removed while
    its texture stays. The result is written back into the hole and a seam of
    ``seam`` pixels around it; holes whose seams touch are blended as one region.

    Holes that touch the image border are handled by mirroring (``BORDER_REFLECT``)
    every array, the mask included, so that the hole continues across the border
    (up to 128 pixels deep); the Poisson problem then sees the completion
    continued symmetrically there (close to a zero-slope boundary condition)
    instead of being pinned to the fast-marching fill at the border. The
    clone is placed with the centre of the mask's bounding rectangle, which is
    where OpenCV puts it back, so nothing shifts by a pixel.

    Args:
        completed: RGB ``uint8`` ``(H, W, 3)``, the composited completion
            (see :func:`glcic.models.composite`): network output in the hole,
            ``original`` outside.
        original: RGB ``uint8`` ``(H, W, 3)``, the input image; its hole content is
            ignored.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.
        telea_radius: fast-marching neighbourhood radius in pixels.
        seam: seam width in pixels (>= 1). Only pixels within this Chebyshev
            distance of a hole pixel (the hole dilated by a ``(2*seam+1)``-square)
            may differ from ``original``; every other pixel is exactly
            ``original``'s.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``. An empty mask returns a copy of ``original``.

    Raises:
        InputError: bad arrays, sizes that differ, ``seam`` < 1, a non-positive
            ``telea_radius``, or a mask that covers the whole image (there are no
            surroundings to blend with; skip post-processing then).
    """
    completed, original, hole = _check_blend_args(completed, original, mask, telea_radius, seam)
    if not hole.any():
        return original.copy()
    if hole.all():
        raise InputError(
            "the mask covers the whole image, so there are no surroundings to blend with; "
            "leave some known pixels or skip post-processing and use the composited output"
        )
    H, W = hole.shape
    seam = int(seam)

    # (1) Fast marching: one call fills every hole; Telea reads only known and
    # already-filled pixels, never the original's meaningless hole content.
    background = _background(completed, original, hole, telea_radius)  # (H, W, 3)

    # The pixels that may change: each hole grown by the seam. Its 8-connected
    # components are blended in turn (holes whose seams touch go together).
    hole8 = hole.astype(np.uint8)
    region = cv2.dilate(hole8, _square(seam))  # (H, W) {0, 1}
    n, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    # The mask handed to seamlessClone. OpenCV erodes it by _OPENCV_EROSION pixels
    # before choosing, per pixel, the source's or the destination's (forward
    # difference) gradient; growing the hole by _OPENCV_EROSION - 1 makes that
    # choice "source" only for gradients between two hole pixels (one pixel in from
    # the hole's edge; known gaps under 4 px between hole parts are closed over)
    # and "destination" (the Telea background) for every gradient that touches a
    # known pixel. The completion's own texture is kept, and the step between it
    # and the surroundings is dropped on all four sides. (A mask grown by 3 or more
    # keeps the step on the right and bottom edges: no blending there.)
    grow = min(seam, _OPENCV_EROSION - 1)
    clone_mask = cv2.dilate(hole8, _square(grow)) if grow > 0 else hole8  # (H, W) {0, 1}

    # (2) Poisson blending, region by region, on mirrored copies (see docstring).
    mirrored = None
    out = original.copy()
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k, :5])
        sparse = w * h >= SPARSE_MIN_BOX and area < SPARSE_FRACTION * w * h
        if sparse or w * h > CLONE_MAX_BOX:
            win = (slice(y, y + h), slice(x, x + w))
            own = hole[win] & (labels[win] == k)
            if not sparse and own.sum() > SOLVE_MAX_HOLE:
                warnings.warn(
                    f"a hole of {own.sum() / 1e6:.1f} MP ({w}x{h} box) is too large to blend within "
                    f"memory (at most {SOLVE_MAX_HOLE / 1e6:g} MP); its completion is pasted without "
                    "blending; pass postprocess='none' (CLI: --postprocess none) to skip blending everywhere",
                    UserWarning,
                    stacklevel=2,
                )
                patch = np.where(own[:, :, None], completed[win], original[win])
            else:
                patch = _poisson_on_hole(completed[win], background[win], own)
        else:
            if mirrored is None:  # built once, for the first compact region
                mirrored = _Mirrored.of(completed, background, labels, clone_mask, stats)
            patch = mirrored.clone_region(k, (x, y, w, h), (H, W))  # (h, w, 3) RGB
        # Copy back only this region's own pixels (not its mirrors, not the rest of
        # the box): everything farther than the seam stays exactly `original`.
        sel = labels[y : y + h, x : x + w] == k  # (h, w)
        out[y : y + h, x : x + w][sel] = patch[sel]
    return out


def _background(completed: np.ndarray, original: np.ndarray, hole: np.ndarray, radius: float) -> np.ndarray:
    """Fast marching (Telea) into the hole, in a band along its edge only.

    Blending reads the background only on edges that touch a known pixel (see
    :func:`blend`), so only the hole's outer pixels matter. Fast marching fills in order of
    distance from the edge and reads ``radius`` pixels around, so a band of
    ``2 radius + 8`` pixels gives exactly the values a fill of the whole hole gives there,
    at a fraction of the cost for a big hole (a 40 MP photo's most). Deeper pixels hold
    the completion (never read).
    """
    band = BAND_PAD + 2 * int(math.ceil(radius))
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)  # (H, W)
    edge = hole & (depth <= band)
    if edge.sum() == hole.sum():
        return inpaint_telea(original, hole, radius=radius)
    source = np.where((hole & ~edge)[:, :, None], completed, original)  # the input's hole content never enters
    return inpaint_telea(source, edge, radius=radius)


def _poisson_on_hole(completed: np.ndarray, background: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Poisson blending (Perez et al. 2003) with the hole pixels as the only unknowns.

    The same guidance as :func:`blend`'s ``seamlessClone`` call: the completion's
    gradient between two hole pixels, the background's (fast marching inside the hole,
    the photo outside) on every edge that touches a known pixel; the known pixels are
    fixed (so the seam keeps the photo's values). A sparse system of one unknown per
    hole pixel and channel, solved by conjugate gradients (:func:`_solve`).

    Args:
        completed, background: RGB ``uint8`` ``(h, w, 3)``; equal outside ``hole``.
        hole: ``bool`` ``(h, w)``, the region's hole pixels.

    Returns:
        RGB ``uint8`` ``(h, w, 3)``: blended inside ``hole``, ``background`` elsewhere.
    """
    f = _solve(completed.astype(np.float32), background.astype(np.float32), hole)  # (h, w, 3)
    out = background.copy()
    out[hole] = np.clip(np.round(f[hole]), 0, 255).astype(np.uint8)
    return out


def _solve(src: np.ndarray, dst: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """:func:`_poisson_on_hole`'s system, in float: ``(h, w, 3)``, the solution in ``hole``.

    A thin hole (a scribble) converges in a few hundred conjugate-gradient steps whatever
    the size of its box. A large one (over :data:`COARSE_MIN_HOLE` pixels) starts from the
    solution at half size: the correction Poisson adds to the completion is smooth
    (harmonic), so the coarse one is right but for a few pixels near the hole's edge,
    which the steps at full size fix.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import cg

    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    n = ys.size
    x0 = src[ys, xs]  # (n, 3): start from the completion
    steps = MAX_STEPS
    if n > COARSE_MIN_HOLE and min(h, w) >= 16:
        size = ((w + 1) // 2, (h + 1) // 2)  # cv2 sizes are (width, height)
        small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5
        if small_hole.any():
            s_src = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
            s_dst = cv2.resize(dst, size, interpolation=cv2.INTER_AREA)
            coarse = _solve(s_src, s_dst, small_hole)
            change = np.where(small_hole[:, :, None], coarse - s_src, 0).astype(np.float32)  # (h/2, w/2, 3)
            x0 = x0 + cv2.resize(change, (w, h), interpolation=cv2.INTER_LINEAR)[ys, xs]
            steps = FINE_STEPS
    index = np.full((h, w), -1, np.int64)
    index[ys, xs] = np.arange(n)
    diag = np.zeros(n, np.float32)
    b = np.zeros((n, 3), np.float32)
    rows, cols = [], []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        qy, qx = ys + dy, xs + dx
        inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)  # an edge across the image's border: none
        p, qy, qx = np.flatnonzero(inside), qy[inside], qx[inside]
        diag[p] += 1
        q = index[qy, qx]
        both = q >= 0
        # Guidance: the completion's gradient inside the hole, the background's elsewhere.
        guide = np.where(both[:, None], src[ys[p], xs[p]] - src[qy, qx], dst[ys[p], xs[p]] - dst[qy, qx])
        b[p] += guide  # p is unique within one direction
        b[p[~both]] += dst[qy[~both], qx[~both]]  # a fixed known neighbour
        rows.append(p[both])
        cols.append(q[both])
    r, c = np.concatenate(rows), np.concatenate(cols)
    eye = np.arange(n)
    a = csr_matrix((np.concatenate([diag, -np.ones(r.size, np.float32)]),
                    (np.concatenate([eye, r]), np.concatenate([eye, c]))), shape=(n, n))
    inv = csr_matrix((1.0 / np.maximum(diag, 1), (eye, eye)), shape=(n, n))  # Jacobi preconditioner
    out = np.zeros((h, w, 3), np.float32)
    for ch in range(3):
        f, _ = cg(a, b[:, ch], x0=x0[:, ch], rtol=1e-5, maxiter=steps, M=inv)
        out[ys, xs, ch] = f
    return out


def _depth(extent: int) -> int:
    """How deep a region of this extent is mirrored across the border it touches."""
    return min(extent, _MAX_MIRROR)


@dataclass
class _Mirrored:
    """:func:`blend`'s arrays, reflect-padded (``BORDER_REFLECT``) by ``pad`` pixels a side.

    Each border-touching region is mirrored into the padding, at most
    :data:`_MAX_MIRROR` pixels deep so that big photos stay cheap; 2 more pixels keep
    the mask off the frame that seamlessClone zeroes.
    """

    src: np.ndarray  # (H+2p, W+2p, 3) BGR: the completion
    dst: np.ndarray  # (H+2p, W+2p, 3) BGR: the fast-marching background
    labels: np.ndarray  # (H+2p, W+2p) int32: region ids
    clone: np.ndarray  # (H+2p, W+2p) {0, 1}: the mask for seamlessClone
    pad: int

    @classmethod
    def of(
        cls, completed: np.ndarray, background: np.ndarray, labels: np.ndarray, clone: np.ndarray, stats: np.ndarray
    ) -> _Mirrored:
        H, W = labels.shape
        pad = 2
        for x, y, w, h, _area in stats[1:]:
            if x == 0 or x + w == W:
                pad = max(pad, _depth(w) + 2)
            if y == 0 or y + h == H:
                pad = max(pad, _depth(h) + 2)
        border = (pad, pad, pad, pad, cv2.BORDER_REFLECT)
        return cls(
            src=cv2.copyMakeBorder(cv2.cvtColor(completed, cv2.COLOR_RGB2BGR), *border),
            dst=cv2.copyMakeBorder(cv2.cvtColor(background, cv2.COLOR_RGB2BGR), *border),
            labels=cv2.copyMakeBorder(labels.astype(np.int32), *border),
            clone=cv2.copyMakeBorder(clone, *border),
            pad=pad,
        )

    def clone_region(self, k: int, box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
        """Poisson-blend region ``k`` (``box`` = x, y, w, h in the image of ``size`` = H, W).

        Returns:
            The blended ``(h, w, 3)`` RGB pixels of the region's box.
        """
        x, y, w, h = box
        H, W = size
        pad = self.pad
        # Window around the region and its mirror images, in padded coordinates.
        x0 = x + pad - (_depth(w) if x == 0 else 0) - 2
        x1 = x + pad + w + (_depth(w) if x + w == W else 0) + 2
        y0 = y + pad - (_depth(h) if y == 0 else 0) - 2
        y1 = y + pad + h + (_depth(h) if y + h == H else 0) + 2
        own = (self.labels[y0:y1, x0:x1] == k) & (self.clone[y0:y1, x0:x1] > 0)
        win_mask = np.where(own, 255, 0).astype(np.uint8)  # OpenCV wants exactly 0 / 255
        # seamlessClone zeroes the mask's outer pixel itself; doing it here keeps the
        # bounding rectangle (hence the centre below) identical to the one it uses.
        win_mask[[0, -1], :] = 0
        win_mask[:, [0, -1]] = 0
        bx, by, bw, bh = cv2.boundingRect(win_mask)
        # OpenCV places the clone at centre - size // 2, so this centre puts it back
        # exactly where it came from.
        center = (bx + bw // 2, by + bh // 2)
        cloned = cv2.seamlessClone(
            np.ascontiguousarray(self.src[y0:y1, x0:x1]),
            np.ascontiguousarray(self.dst[y0:y1, x0:x1]),
            win_mask,
            center,
            cv2.NORMAL_CLONE,
        )  # (y1-y0, x1-x0, 3) BGR
        oy, ox = y + pad - y0, x + pad - x0
        return cv2.cvtColor(cloned[oy : oy + h, ox : ox + w], cv2.COLOR_BGR2RGB)  # (h, w, 3)


def _square(radius: int) -> np.ndarray:
    """A (2r+1)-square structuring element: dilation by it grows by r (Chebyshev)."""
    return np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
