"""Where and at what scale the network looks at an image.

The completion network was trained on crops of one size (the bundle's
``resolution``, 128 px for both shipped models). An image much larger than that, run
at native size, shows the network textures at a scale it never saw; a strategy
picks what the network sees instead (measured in ``docs/inference.md``):

- ``original``: the whole image at native size.
- ``resize``: the whole image, scaled so that its short side is the training
  resolution; the completion is scaled back up and pasted into the hole.
- ``crop``: a window around each cluster of nearby holes
  (:func:`glcic.crop.crop_regions`), each scaled like ``resize``; for small holes
  in big images.
- ``auto``: from how far hole pixels are from known pixels (the distance
  transform, :func:`split_by_depth`), not from a hole's box. A thin hole (a brush
  stroke, a scribble: at most :data:`AUTO_DEPTH` x the training resolution deep)
  needs only the pixels next to it: it is completed at native resolution by windows
  of the training resolution placed along it (:func:`glcic.thin.windowed_forward`),
  so it is not blurred by a round trip through a small image. A deep hole needs the
  scene around it at the scale the network was trained at: ``original`` while the
  image's short side is at most 1.5x the training resolution, else ``crop`` when
  every deep hole is under 1/16 of the short side, else ``resize`` (thin holes are
  filled first and serve as known pixels). What ran is reported as :class:`Used`.
  Measured in ``docs/inference.md``.

Every strategy keeps the known pixels exact: only hole pixels are replaced.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from glcic.crop import CROP_CONTEXT, MAX_CLUSTER_COMPONENTS, CropRegion, crop_regions
from glcic.frame import Frame
from glcic.refine import MIN_SCALE_GAP
from glcic.refine import refine as add_native_detail
from glcic.refine import window as detail_window
from glcic.rescale import (
    any_below,
    paste_upscaled,
    paste_upscaled_into,
    scaled_forward,
    scaled_into,
)
from glcic.thin import THIN_TILE, WINDOW_BATCH, Prefill, fill_windows, knots_down, windowed_forward

__all__ = [
    "AUTO_CROP_FRACTION",
    "AUTO_DEPTH",
    "AUTO_LEVELS",
    "AUTO_ORIGINAL_FACTOR",
    "CROP_CONTEXT",
    "MAX_CLUSTER_COMPONENTS",
    "CropRegion",
    "Forward",
    "Prefill",
    "Progress",
    "THIN_TILE",
    "Used",
    "WINDOW_BATCH",
    "split_by_depth",
    "complete_frame",
    "complete_with_strategy",
    "crop_regions",
    "paste_upscaled",
    "scaled_forward",
    "windowed_forward",
]

AUTO_ORIGINAL_FACTOR = 1.5
"""The largest side, in training resolutions, the network is shown at once: ``auto``'s
windows have this side, and ``original`` warns on images whose short side is larger
(the network then fills holes with checkerboard garbage)."""
AUTO_DEPTH = 1 / 16
"""``auto`` completes hole pixels at native resolution where no hole pixel near them is
farther than this x the training resolution from a known pixel (4 px for a 64 px
model: strokes up to ~8 px wide); deeper parts at the training scale. Measured in
docs/inference.md."""
AUTO_LEVELS = 3
"""``auto`` completes strokes along them at scales 1, 1/2, ... 2^-(AUTO_LEVELS-1): a wire too
wide for the native windows (deeper than :data:`AUTO_DEPTH` x the resolution) is completed
at half size, not with the whole photo shrunk to the training size (0.05x at 12 MP)."""
AUTO_CROP_FRACTION = 1 / 16
"""``auto`` crops around deep holes when every one is smaller than this fraction of the
short side (below it, ``resize`` would leave the hole only a few pixels)."""

Progress = Callable[[str, int, int], None]
"""Told how far a completion is: ``(what, done, total)``, e.g. ``("network", 3, 53)``; the
CLI draws it as a progress bar (:mod:`glcic.commands.inpaint`)."""


def _quiet(what: str, done: int, total: int) -> None:
    """The :data:`Progress` of a caller that did not ask for one."""


Forward = Callable[..., torch.Tensor]
"""The network pass: images ``(N, 3, h, w)`` float in [0, 1] and holes ``(N, 1, h, w)``
``bool`` (True = hole) -> the completed images ``(N, 3, h, w)`` in [0, 1], known
pixels exact (``N`` > 1 only for :func:`windowed_forward`'s batches) (:meth:`glcic.pipeline.InpaintPipeline._forward`).
A forward that comes with a :data:`Prefill` also takes ``prefilled=True``: the images'
holes already hold the network's pre-fill."""


@dataclass(frozen=True)
class Used:
    """What a strategy ran: its name and the network's scale relative to native.

    ``strategy`` is ``original``, ``resize``, ``crop`` or ``tiles`` (``auto``'s
    native windows along thin holes), or ``tiles+resize`` (etc.) when ``auto`` ran
    both; ``scale`` is the smallest scale any hole was completed at (1.0 = native).
    ``native``: the hole pixels completed at native scale, ``bool`` ``(H, W)`` (None when
    none were; not compared): what ``postprocess="auto"`` leaves unblended for a
    residual network (:func:`glcic.steps.complete`).
    """

    strategy: str
    scale: float
    native: np.ndarray | None = field(default=None, compare=False, repr=False)


def split_by_depth(hole: np.ndarray, resolution: int, levels: int = 1) -> tuple[list[np.ndarray], np.ndarray]:
    """``auto``'s split: thin parts of holes, by the scale that sees them thin, and deep ones.

    A hole pixel's depth is its distance (L2) to the nearest known pixel. A pixel is
    thin at level ``k`` (scale ``2^-k``) when no hole pixel within ``2 T 2^k`` of it is
    deeper than ``T 2^k``, ``T`` = :data:`AUTO_DEPTH` x ``resolution``: at level 0 the
    whole of a stroke up to ``2 T`` wide, but not a blob's rim or corners, nor the knot
    where several strokes cross; at level 1 strokes twice as wide, and so on. Each pixel
    goes to the first level that sees it thin; the rest is deep. (Levels above 0 are
    tested on the depth max-pooled by ``2^k``, so the test costs the same at every level.)
    Then the knots go back down: a connected part of level ``k`` that touches level
    ``k - 1`` and is nowhere deeper than ``2 T 2^(k-1)`` joins level ``k - 1`` (its windows
    keep ``2 T`` of context around each tile, so they see past it; on the 2048 px scribbles
    of ``benchmarks/hires.py`` the crossings filled at native size gained 0.1 dB and the
    passes at half size cost more than they filled).

    Args:
        hole: ``bool`` ``(H, W)``, True = hole.
        resolution: the model's training resolution in pixels.
        levels: how many levels (scales ``1, 1/2, ...``) to sort thin pixels into.

    Returns:
        ``(thin, deep)``: ``thin[k]`` the pixels of level ``k``, ``bool`` ``(H, W)`` each;
        all disjoint, together ``hole``.
    """
    import cv2

    t = AUTO_DEPTH * resolution
    H, W = hole.shape
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)  # (H, W) px to the nearest known
    k = 4 * int(np.ceil(t)) + 1
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    rest, thin = hole.copy(), []
    deepest = float(depth.max())
    for level in range(levels):
        f = 2**level
        if deepest <= t * f:  # nothing deeper than t at this scale: the rest is thin here
            thin.append(rest.copy())
            rest[:] = False
            continue
        d = depth if f == 1 else F.max_pool2d(torch.from_numpy(depth)[None], f, f, ceil_mode=True)[0].numpy()
        # "The deepest pixel within 2 t is at most t" is "no pixel deeper than t within 2 t":
        # the deep pixels dilated, on their box only (a photo's scribbles have few).
        deep = d > t * f  # at this level's scale (d / f > t, exactly: f is a power of 2)
        rows, cols = np.flatnonzero(deep.any(axis=1)), np.flatnonzero(deep.any(axis=0))
        r = k // 2
        y0, y1 = max(0, rows[0] - r), min(d.shape[0], rows[-1] + r + 1)
        x0, x1 = max(0, cols[0] - r), min(d.shape[1], cols[-1] + r + 1)
        unseen = cv2.dilate(deep[y0:y1, x0:x1].view(np.uint8), disk) > 0  # (y1 - y0, x1 - x0)
        seen = np.ones((H, W), bool)
        # Back to full size (each pixel of this level covers f x f), on the box only.
        seen[y0 * f : y1 * f, x0 * f : x1 * f] = ~np.repeat(np.repeat(unseen, f, axis=0), f, axis=1)[
            : H - y0 * f, : W - x0 * f
        ]
        thin.append(rest & seen)
        rest &= ~seen
    for level in range(1, levels):
        knots_down(thin, level, depth, 2 * t * 2 ** (level - 1))
    return thin, rest


def _deep_strategy(deep: np.ndarray, resolution: int) -> str:
    """What ``auto`` runs for deep holes (see the module docstring)."""
    short = min(deep.shape)
    if short <= AUTO_ORIGINAL_FACTOR * resolution:
        return "original"
    largest = max((r.hole_side for r in crop_regions(deep, resolution, paste=False)), default=0)
    return "crop" if largest < AUTO_CROP_FRACTION * short else "resize"


def complete_with_strategy(
    forward: Forward,
    x: torch.Tensor,
    hole: np.ndarray,
    strategy: str,
    resolution: int,
    progress: Progress | None = None,
    prefill: Prefill | None = None,
) -> tuple[torch.Tensor, Used]:
    """:func:`complete_frame` on a tensor: ``x`` ``(1, 3, H, W)`` in [0, 1] (not changed) ->
    ``(1, 3, H, W)``, completed inside the hole and ``x`` exactly elsewhere, and what ran."""
    frame = Frame.from_tensor(x)
    used = complete_frame(forward, frame, hole, strategy, resolution, progress, prefill)
    return frame.whole(), used


def complete_frame(
    forward: Forward,
    frame: Frame,
    hole: np.ndarray,
    strategy: str,
    resolution: int,
    progress: Progress | None = None,
    prefill: Prefill | None = None,
) -> Used:
    """Complete one image with ``strategy``, calling the network through ``forward``.

    Args:
        forward: the network pass (see :data:`Forward`).
        frame: the image, ``(1, 3, H, W)`` in [0, 1] (:class:`glcic.frame.Frame`: an 8-bit
            photo is converted to float only where the network reads it); the hole pixels
            are written into it, nothing else changes.
        hole: ``bool`` ``(H, W)``, True = hole.
        strategy: ``auto``, ``refine`` (``auto``, then native detail where the network ran
            at a smaller scale: :mod:`glcic.refine`), ``original``, ``resize`` or ``crop``.
        resolution: the model's training resolution in pixels.
        progress: told how far it is (see :data:`Progress`).
        prefill: the network's pre-fill of a whole image (:data:`Prefill`): ``auto``'s
            windows along thin holes are cut from one pre-filled image instead of each
            being pre-filled by ``forward``; None: each call of ``forward`` pre-fills.

    Returns:
        What ran (:class:`Used`).

    Warns:
        UserWarning: ``original`` on an image whose short side is over
        :data:`AUTO_ORIGINAL_FACTOR` x ``resolution``.
    """
    progress = progress or _quiet
    H, W = hole.shape
    if strategy in ("auto", "refine"):
        return _auto(forward, frame, hole, resolution, progress, strategy == "refine", prefill)
    hole_t = torch.from_numpy(hole).to(frame.device)[None, None]  # (1, 1, H, W) bool
    if strategy == "original":
        if min(H, W) > AUTO_ORIGINAL_FACTOR * resolution:
            warnings.warn(
                f"strategy 'original' runs the network on the whole {W}x{H} image, but it was trained "
                f"on {resolution} px images; above ~{AUTO_ORIGINAL_FACTOR:g}x that size it fills holes "
                "with checkerboard garbage; use strategy 'auto' (the default)",
                UserWarning,
                stacklevel=6,  # the caller of InpaintPipeline.run
            )
        progress("network", 0, 1)
        frame.write_mask(hole, forward(frame.whole(), hole_t))
        return Used("original", 1.0, hole)
    if strategy == "resize":
        scale = min(1.0, resolution / min(H, W))
        progress("network", 0, 1)
        scaled_into(forward, frame, hole, hole_t, scale)
        return Used("resize", scale, hole if scale == 1.0 else None)
    smallest = 1.0
    native = None
    regions = crop_regions(hole, resolution)
    for i, r in enumerate(regions):
        progress("network", i, len(regions))
        win = (slice(None), slice(None), slice(r.top, r.top + r.height), slice(r.left, r.left + r.width))
        # Every hole inside the window stays a hole (no hole content as context: what an
        # earlier window wrote into one is never read); only this cluster's pixels are
        # pasted back.
        scale = min(1.0, resolution / min(r.height, r.width))
        smallest = min(smallest, scale)
        sub = scaled_forward(forward, frame.region(r.top, r.left, r.height, r.width), hole_t[win], scale)  # (1, 3, h, w)
        frame.write_mask(r.paste, sub, r.top, r.left)
        if scale == 1.0:
            native = _add_to(native, r.paste, r.top, r.left, hole.shape)
    return Used("crop", smallest, native)


def _auto(
    forward: Forward,
    frame: Frame,
    hole: np.ndarray,
    resolution: int,
    progress: Progress,
    refine: bool = False,
    prefill: Prefill | None = None,
) -> Used:
    """``auto``: thin holes along them at the finest scale that sees them thin (native for
    strokes up to ~2 :data:`AUTO_DEPTH` x ``resolution`` wide, half size for twice that, ...:
    :func:`split_by_depth`), then deep ones at the training scale; with ``refine``, native
    detail painted into the deep ones (:func:`glcic.refine.refine`)."""
    H, W = hole.shape
    # Levels down to where the short side is about the training size (resize's scale).
    levels = 1 + max(0, min(AUTO_LEVELS - 1, int(np.floor(np.log2(max(1.0, min(H, W) / (2 * resolution)))))))
    thin, deep = split_by_depth(hole, resolution, levels)
    names, smallest, native = [], 1.0, None
    left = torch.from_numpy(hole).to(frame.device)[None, None]  # (1, 1, H, W): what is still a hole
    for level, part in enumerate(thin):
        if not part.any():
            continue
        target = torch.from_numpy(part).to(frame.device)[None, None]
        if level == 0:
            kind = fill_windows(forward, frame, left, target, resolution, progress, prefill)
            native = part
        else:
            # The image at 2^-level (area), a small pixel a hole if any pixel under it is.
            scale = 2.0**-level
            size = (max(8, round(H * scale)), max(8, round(W * scale)))
            small = Frame.from_tensor(F.interpolate(frame.whole(), size=size, mode="area"), copy=False)
            ls, ts = any_below(left, size), any_below(target, size)
            kind = fill_windows(forward, small, ls, ts & ls, resolution, progress, prefill)
            paste_upscaled_into(small.t, frame, part)
            smallest = min(smallest, scale)
        left = left & ~target  # a new tensor: `left` shares memory with the caller's `hole`
        names.append("tiles" if kind == "tiles" or level > 0 else kind)
    name = "+".join(dict.fromkeys(names)) or "tiles"
    if deep.any():
        # The thin holes are known pixels now: context for the deep ones.
        strategy = _deep_strategy(deep, resolution)
        deep_used = complete_frame(forward, frame, deep, strategy, resolution, progress)
        name = f"{name}+{deep_used.strategy}" if names else deep_used.strategy
        if deep_used.native is not None:
            native = deep_used.native if native is None else native | deep_used.native
        if refine and deep_used.scale < MIN_SCALE_GAP:
            progress("detail", 0, 1)
            # Sources come from the frame outside the deep holes: the photo and the thin
            # fills, never the input's own hole content. It reads and writes its window only.
            rows, cols = detail_window(deep)
            frame.ensure([(rows.start, cols.start, rows.stop, cols.stop)])
            frame.replace(add_native_detail(frame.t, frame.t, deep, deep_used.scale))
            name += "+detail"
        smallest = min(smallest, deep_used.scale)
    return Used(name, smallest, native)


def _add_to(
    native: np.ndarray | None, part: np.ndarray, top: int, left: int, shape: tuple[int, int]
) -> np.ndarray:
    """``native`` (``bool`` ``shape``, or None: nothing yet) with ``part`` (a window's
    ``bool`` pixels at ``top``, ``left``) added."""
    out = np.zeros(shape, bool) if native is None else native
    h, w = part.shape
    out[top : top + h, left : left + w] |= part
    return out
