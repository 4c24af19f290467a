"""Where and at what scale the network looks at an image.

The completion network was trained on crops of one size (the bundle's
``resolution``, 128 px for both shipped models). An image much larger than that, run
at native size, shows the network textures at a scale it never saw; a strategy
picks what the network sees instead (measured in ``docs/inference.md``):

- ``original``: the whole image at native size.
- ``resize``: the whole image, scaled so that its short side is the training
  resolution; the completion is scaled back up and pasted into the hole.
- ``crop``: a window around each cluster of nearby holes (:func:`crop_regions`),
  each scaled like ``resize``; for small holes in big images.
- ``auto``: from how far hole pixels are from known pixels (the distance
  transform, :func:`split_by_depth`), not from a hole's box. A thin hole (a brush
  stroke, a scribble: at most :data:`AUTO_DEPTH` x the training resolution deep)
  needs only the pixels next to it: it is completed at native resolution by windows
  of 1.5x the training resolution placed along it (:func:`windowed_forward`), so
  it is not blurred by a round trip through a small image. A deep hole needs the
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
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "AUTO_CROP_FRACTION",
    "AUTO_DEPTH",
    "AUTO_ORIGINAL_FACTOR",
    "CROP_CONTEXT",
    "MAX_CLUSTER_COMPONENTS",
    "CropRegion",
    "Forward",
    "Used",
    "split_by_depth",
    "complete_with_strategy",
    "crop_regions",
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
AUTO_CROP_FRACTION = 1 / 16
"""``auto`` crops around deep holes when every one is smaller than this fraction of the
short side (below it, ``resize`` would leave the hole only a few pixels)."""
CROP_CONTEXT = 2.0
"""A crop's side is this x the hole cluster's longest bounding-box side (at least the
training resolution), so the hole fills at most half the crop, as in training."""
MAX_CLUSTER_COMPONENTS = 2048
"""Masks with more separate holes than this are treated as one cluster by ``crop``."""

Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""The network pass: image ``(1, 3, h, w)`` float in [0, 1] and hole ``(1, 1, h, w)``
``bool`` (True = hole) -> the completed image ``(1, 3, h, w)`` in [0, 1], known
pixels exact (:meth:`glcic.pipeline.InpaintPipeline._forward`)."""


# --------------------------------------------------------------------------- geometry


@dataclass
class CropRegion:
    """One window of the ``crop`` strategy (see :func:`crop_regions`)."""

    top: int
    left: int
    height: int
    width: int
    box: tuple[int, int, int, int]
    """The hole cluster's bounding box ``(top, left, bottom, right)``, ends exclusive."""
    paste: np.ndarray
    """``bool`` ``(height, width)``: this cluster's hole pixels inside the window."""

    @property
    def hole_side(self) -> int:
        """The longest side of the cluster's bounding box, in pixels."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


def _merge_boxes(boxes: np.ndarray, resolution: int) -> np.ndarray:
    """Cluster ids for ``(N, 4)`` boxes ``(x0, y0, x1, y1)``: boxes whose crop windows
    overlap, directly or through others, share one (so no pixel is completed twice
    and many small holes do not cost one network pass each)."""
    group = np.arange(len(boxes))
    while True:
        ids, inv = np.unique(group, return_inverse=True)
        k = len(ids)
        lo = np.full((k, 2), np.iinfo(np.int64).max)
        hi = np.full((k, 2), np.iinfo(np.int64).min)
        np.minimum.at(lo, inv, boxes[:, :2])
        np.maximum.at(hi, inv, boxes[:, 2:])
        side = np.maximum(CROP_CONTEXT * (hi - lo).max(axis=1, keepdims=True), resolution)  # (k, 1)
        centre = (lo + hi) / 2  # (k, 2)
        glo, ghi = centre - side / 2, centre + side / 2  # the windows, before clipping
        overlap = ((glo[:, None, :] < ghi[None, :, :]) & (glo[None, :, :] < ghi[:, None, :])).all(axis=2)
        np.fill_diagonal(overlap, False)
        if not overlap.any():
            return inv
        # Connected components of the overlap graph: propagate the smallest id.
        label = np.arange(k)
        while True:
            new = np.where(overlap, label[None, :], k).min(axis=1)
            new = np.minimum(new, label)
            if np.array_equal(new, label):
                break
            label = new
        group = label[inv]


def crop_regions(hole: np.ndarray, resolution: int) -> list[CropRegion]:
    """Where the ``crop`` strategy looks: one window per cluster of nearby holes.

    Each hole (8-connected component) wants a square window of side
    ``max(CROP_CONTEXT * longest box side, resolution)`` centred on it; holes whose
    windows overlap are merged into one cluster (repeatedly), whose window is then
    computed the same way from the cluster's box, clipped to the image (never
    smaller than the box) and shifted inside it.

    Args:
        hole: ``bool`` ``(H, W)``, True = hole.
        resolution: the model's training resolution in pixels.

    Returns:
        One :class:`CropRegion` per cluster.
    """
    import cv2

    H, W = hole.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    x0, y0 = stats[1:, 0].astype(np.int64), stats[1:, 1].astype(np.int64)
    boxes = np.stack([x0, y0, x0 + stats[1:, 2], y0 + stats[1:, 3]], axis=1)  # (N, 4) x0 y0 x1 y1
    if len(boxes) > MAX_CLUSTER_COMPONENTS:
        group = np.zeros(len(boxes), np.int64)
    else:
        group = _merge_boxes(boxes, resolution)
    regions = []
    for g in np.unique(group):
        members = np.flatnonzero(group == g) + 1  # component labels of this cluster
        bx0, by0 = boxes[group == g, :2].min(axis=0)
        bx1, by1 = boxes[group == g, 2:].max(axis=0)
        bw, bh = int(bx1 - bx0), int(by1 - by0)
        side = max(int(round(CROP_CONTEXT * max(bw, bh))), resolution)
        cw, ch = min(W, max(side, bw)), min(H, max(side, bh))
        left = int(np.clip(round((bx0 + bx1) / 2 - cw / 2), 0, W - cw))
        top = int(np.clip(round((by0 + by1) / 2 - ch / 2), 0, H - ch))
        paste = np.isin(labels[top : top + ch, left : left + cw], members)
        regions.append(CropRegion(top, left, ch, cw, (int(by0), int(bx0), int(by1), int(bx1)), paste))
    return regions


@dataclass(frozen=True)
class Used:
    """What a strategy ran: its name and the network's scale relative to native.

    ``strategy`` is ``original``, ``resize``, ``crop`` or ``tiles`` (``auto``'s
    native windows along thin holes), or ``tiles+resize`` (etc.) when ``auto`` ran
    both; ``scale`` is the smallest scale any hole was completed at (1.0 = native).
    """

    strategy: str
    scale: float


def split_by_depth(hole: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """``auto``'s split: thin parts of holes (completed at native resolution) and deep ones.

    A hole pixel's depth is its distance (L2) to the nearest known pixel. A pixel is
    thin when no hole pixel within ``2 T`` of it is deeper than ``T`` =
    :data:`AUTO_DEPTH` x ``resolution``: the whole of a stroke up to ``2 T`` wide,
    but not a blob's rim or corners, nor the knot where several strokes cross (those
    go with the deep part).

    Args:
        hole: ``bool`` ``(H, W)``, True = hole.
        resolution: the model's training resolution in pixels.

    Returns:
        ``(thin, deep)``: ``bool`` ``(H, W)`` each, disjoint, together ``hole``.
    """
    import cv2

    t = AUTO_DEPTH * resolution
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)  # (H, W) px to the nearest known
    k = 4 * int(np.ceil(t)) + 1
    nearby = cv2.dilate(depth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))  # (H, W) deepest within 2 t
    thin = hole & (nearby <= t)
    return thin, hole & ~thin


def _deep_strategy(deep: np.ndarray, resolution: int) -> str:
    """What ``auto`` runs for deep holes (see the module docstring)."""
    short = min(deep.shape)
    if short <= AUTO_ORIGINAL_FACTOR * resolution:
        return "original"
    largest = max((r.hole_side for r in crop_regions(deep, resolution)), default=0)
    return "crop" if largest < AUTO_CROP_FRACTION * short else "resize"


def complete_with_strategy(
    forward: Forward, x: torch.Tensor, hole: np.ndarray, strategy: str, resolution: int
) -> tuple[torch.Tensor, Used]:
    """Complete one image with ``strategy``, calling the network through ``forward``.

    Args:
        forward: the network pass (see :data:`Forward`).
        x: ``(1, 3, H, W)`` float in [0, 1].
        hole: ``bool`` ``(H, W)``, True = hole.
        strategy: ``auto``, ``original``, ``resize`` or ``crop``.
        resolution: the model's training resolution in pixels.

    Returns:
        ``(1, 3, H, W)`` in [0, 1] (completed inside the hole, ``x`` exactly
        elsewhere) and what ran (:class:`Used`).

    Warns:
        UserWarning: ``original`` on an image whose short side is over
        :data:`AUTO_ORIGINAL_FACTOR` x ``resolution``.
    """
    hole_t = torch.from_numpy(hole).to(x.device)[None, None]  # (1, 1, H, W) bool
    H, W = hole.shape
    if strategy == "auto":
        return _auto(forward, x, hole, resolution)
    if strategy == "original":
        if min(H, W) > AUTO_ORIGINAL_FACTOR * resolution:
            warnings.warn(
                f"strategy 'original' runs the network on the whole {W}x{H} image, but it was trained "
                f"on {resolution} px images; above ~{AUTO_ORIGINAL_FACTOR:g}x that size it fills holes "
                "with checkerboard garbage; use strategy 'auto' (the default)",
                UserWarning,
                stacklevel=6,  # the caller of InpaintPipeline.run
            )
        return forward(x, hole_t), Used("original", 1.0)
    if strategy == "resize":
        scale = min(1.0, resolution / min(H, W))
        return scaled_forward(forward, x, hole_t, scale), Used("resize", scale)
    out = x.clone()
    smallest = 1.0
    for r in crop_regions(hole, resolution):
        win = (slice(None), slice(None), slice(r.top, r.top + r.height), slice(r.left, r.left + r.width))
        # Every hole inside the window stays a hole (no hole content as context);
        # only this cluster's pixels are pasted back.
        scale = min(1.0, resolution / min(r.height, r.width))
        smallest = min(smallest, scale)
        sub = scaled_forward(forward, x[win], hole_t[win], scale)  # (1, 3, h, w)
        paste = torch.from_numpy(r.paste).to(x.device)[None, None]  # (1, 1, h, w)
        out[win] = torch.where(paste, sub, out[win])
    return out, Used("crop", smallest)


def _auto(forward: Forward, x: torch.Tensor, hole: np.ndarray, resolution: int) -> tuple[torch.Tensor, Used]:
    """``auto``: thin holes at native resolution along them, then deep ones at the training scale."""
    thin, deep = split_by_depth(hole, resolution)
    out, used = x, Used("tiles", 1.0)
    if thin.any():
        left = torch.from_numpy(hole).to(x.device)[None, None]  # (1, 1, H, W): deep holes stay holes
        target = torch.from_numpy(thin).to(x.device)[None, None]
        out, kind = windowed_forward(forward, x, left, target, resolution)
        used = Used(kind, 1.0)
    if deep.any():
        # The thin holes are known pixels now: context for the deep ones.
        out, deep_used = complete_with_strategy(forward, out, deep, _deep_strategy(deep, resolution), resolution)
        name = f"tiles+{deep_used.strategy}" if thin.any() else deep_used.strategy
        used = Used(name, deep_used.scale)
    return out, used


def windowed_forward(
    forward: Forward, x: torch.Tensor, hole: torch.Tensor, target: torch.Tensor, resolution: int
) -> tuple[torch.Tensor, str]:
    """Complete ``target`` with windows of :data:`AUTO_ORIGINAL_FACTOR` x ``resolution``.

    The image is cut into tiles of the training resolution; each tile that holds
    target pixels is completed in the window centred on it (a quarter of the
    resolution of context on every side, less at the image border), and its target
    pixels become known pixels for the windows after it. An image whose short side fits in one
    window (and whose long side in two) is completed in one pass.

    Args:
        forward: the network pass (see :data:`Forward`).
        x: ``(1, 3, h, w)`` float in [0, 1].
        hole: ``(1, 1, h, w)`` ``bool``: every hole (stays a hole unless completed here).
        target: ``(1, 1, h, w)`` ``bool``: the holes to complete, a subset of ``hole``.
        resolution: the model's training resolution in pixels.

    Returns:
        ``(1, 3, h, w)`` with ``target`` completed, and ``"original"`` (one pass) or
        ``"tiles"``.
    """
    h, w = x.shape[-2:]
    side = round(AUTO_ORIGINAL_FACTOR * resolution)
    if min(h, w) <= side and max(h, w) <= 2 * side:
        return torch.where(target, forward(x, hole), x), "original"
    out, left = x.clone(), hole.clone()
    todo = target[0, 0].cpu().numpy()  # (h, w)
    tile = max(4, resolution)
    wh, ww = min(side, h), min(side, w)
    for ty in range(0, h, tile):
        for tx in range(0, w, tile):
            if not todo[ty : ty + tile, tx : tx + tile].any():
                continue
            top = int(np.clip(ty + tile // 2 - wh // 2, 0, h - wh))
            lft = int(np.clip(tx + tile // 2 - ww // 2, 0, w - ww))
            win = (slice(None), slice(None), slice(top, top + wh), slice(lft, lft + ww))
            y = forward(out[win], left[win])  # (1, 3, wh, ww)
            paste = torch.zeros_like(left)
            paste[:, :, ty : ty + tile, tx : tx + tile] = target[:, :, ty : ty + tile, tx : tx + tile]
            out[win] = torch.where(paste[win], y, out[win])
            left &= ~paste
    return out, "tiles"


def scaled_forward(forward: Forward, x: torch.Tensor, hole: torch.Tensor, scale: float) -> torch.Tensor:
    """Complete at ``scale`` x the size, upscale, keep the known pixels exact.

    Args:
        forward: the network pass (see :data:`Forward`).
        x: ``(1, 3, H, W)`` float in [0, 1].
        hole: ``(1, 1, H, W)`` ``bool``, True = hole.
        scale: at most 1; the network sees ``round(H * scale) x round(W * scale)``
            (at least 8 px a side).

    Returns:
        ``(1, 3, H, W)`` in [0, 1].
    """
    H, W = x.shape[-2:]
    h, w = max(8, round(H * scale)), max(8, round(W * scale))
    if scale >= 1.0 or (h >= H and w >= W):
        return forward(x, hole)
    xs = F.interpolate(x, size=(h, w), mode="area")  # (1, 3, h, w)
    # A small pixel is a hole if any big pixel under it is: no hole content leaks in.
    hs = F.interpolate(hole.float(), size=(h, w), mode="area") > 0  # (1, 1, h, w)
    ys = forward(xs, hs)  # composited at low resolution
    up = F.interpolate(ys, size=(H, W), mode="bicubic", align_corners=False).clamp(0, 1)
    return torch.where(hole, up, x)  # (1, 3, H, W)
