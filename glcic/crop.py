"""Where the ``crop`` strategy looks: one window per cluster of nearby holes.

Geometry on a ``bool`` hole mask, nothing more: each hole wants a square window a few
times its size, and holes whose windows overlap share one (:func:`crop_regions`).
:mod:`glcic.strategies` runs the network on each window for ``crop``, and ``auto`` reads
the clusters' sizes to choose between ``crop`` and ``resize`` for deep holes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CROP_CONTEXT = 2.0
"""A crop's side is this x the hole cluster's longest bounding-box side (at least the
training resolution), so the hole fills at most half the crop, as in training."""
MAX_CLUSTER_COMPONENTS = 2048
"""Masks with more separate holes than this are treated as one cluster by ``crop``."""


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


def crop_regions(hole: np.ndarray, resolution: int, paste: bool = True) -> list[CropRegion]:
    """Where the ``crop`` strategy looks: one window per cluster of nearby holes.

    Each hole (8-connected component) wants a square window of side
    ``max(CROP_CONTEXT * longest box side, resolution)`` centred on it; holes whose
    windows overlap are merged into one cluster (repeatedly), whose window is then
    computed the same way from the cluster's box, clipped to the image (never
    smaller than the box) and shifted inside it.

    Args:
        hole: ``bool`` ``(H, W)``, True = hole.
        resolution: the model's training resolution in pixels.
        paste: build each region's :attr:`CropRegion.paste` (False: an empty array, for
            callers that only want the windows; it is the costly part on a large photo).

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
        own = np.isin(labels[top : top + ch, left : left + cw], members) if paste else np.zeros((0, 0), bool)
        regions.append(CropRegion(top, left, ch, cw, (int(by0), int(bx0), int(by1), int(bx1)), own))
    return regions
