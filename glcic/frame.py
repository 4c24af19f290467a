"""The image a strategy completes: float where the network reads it, the input's pixels elsewhere.

The network sees float ``(N, 3, h, w)`` windows in [0, 1]; a photo arrives as 8-bit (or
16-bit) pixels. Converting the whole photo to float, copying it at each stage and
converting it back cost 0.15 s a photo at 2048 px and 0.6-0.9 s at 12 MP
(docs/inference.md), though the windows along a scribble cover part of it and its hole
2 %. A :class:`Frame` holds the image as a float ``(1, 3, H, W)`` tensor whose blocks of
:data:`BLOCK` pixels are converted the first time something reads them (by
:func:`glcic.convert.to_tensor`'s rule, so every value is the one the whole conversion
gives), and the strategies write their fills into it in place. Only what reads the whole
image (``resize``, ``auto``'s coarser levels) converts all of it. The pipeline hands on the
fill at the hole pixels (:meth:`Frame.hole_fill`, a :class:`glcic.pixels.HoleFill`), never
the float image.

The pre-fill of the windows along thin holes (:func:`prefill_values`) lives here too: it
reads the pixels next to the hole, and the known pixels' range and mean from the 8-bit
pixels where the frame has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from glcic.pixels import HoleFill

if TYPE_CHECKING:  # pragma: no cover
    from glcic.bundle import BundleInfo

__all__ = ["BLOCK", "Frame", "prefill_values"]

BLOCK = 64
"""The side of the blocks a :class:`Frame` converts to float at a time, in pixels."""

Box = tuple[int, int, int, int]
"""``(top, left, bottom, right)`` in pixels, ends exclusive."""


class Frame:
    """One image being completed, ``(1, 3, H, W)`` float in [0, 1], converted where read.

    Built from pixels (:meth:`from_pixels`: ``uint8`` ``(H, W, 3)``, or ``float32`` in
    [0, 1] for a high-depth input) it converts a block the first time :meth:`region`,
    :meth:`ensure` or :meth:`whole` asks for it; built from a tensor (:meth:`from_tensor`)
    it is all there. Writes (:meth:`write`) go into :attr:`t` in place: they are hole
    pixels, which no later window or scale reads as context (each marks them a hole), so a
    fill written before another window is cut changes nothing but that pixel.

    Attributes:
        t: ``(1, 3, H, W)`` float32; only the converted blocks hold values.
        pixels: the source pixels, or None for a frame built from a tensor.
        written: whether anything was written (then :meth:`known_stats` reads :attr:`t`).
    """

    def __init__(self, t: torch.Tensor, pixels: np.ndarray | None = None) -> None:
        self.t = t
        self.pixels = pixels
        H, W = t.shape[-2:]
        # Blocks not converted yet; None once all are.
        self._todo = None if pixels is None else np.ones((-(-H // BLOCK), -(-W // BLOCK)), bool)
        self.written = False

    @classmethod
    def from_pixels(cls, pixels: np.ndarray) -> Frame:
        """A frame over ``uint8`` ``(H, W, 3)`` pixels (or ``float32`` in [0, 1]); nothing converted yet."""
        H, W = pixels.shape[:2]
        return cls(torch.empty(1, 3, H, W), pixels)

    @classmethod
    def from_tensor(cls, x: torch.Tensor, copy: bool = True) -> Frame:
        """A frame over ``x`` ``(1, 3, H, W)`` in [0, 1]: a copy of it (written in place
        otherwise: pass ``copy=False`` only for a tensor no one else holds)."""
        return cls(x.clone() if copy else x)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.t.shape[-2]), int(self.t.shape[-1])

    @property
    def device(self) -> torch.device:
        return self.t.device

    @property
    def converted(self) -> bool:
        """True when every block holds values (a frame from a tensor, or after :meth:`whole`)."""
        return self._todo is None

    # ----------------------------------------------------------------- reading

    def ensure(self, boxes: Sequence[Box]) -> None:
        """Convert the blocks under ``boxes`` (clipped to the image) that are not yet."""
        if self._todo is None:
            return
        H, W = self.shape
        todo = self._todo
        for top, left, bottom, right in boxes:
            by0, bx0 = max(0, top) // BLOCK, max(0, left) // BLOCK
            by1, bx1 = -(-min(H, bottom) // BLOCK), -(-min(W, right) // BLOCK)
            if by1 <= by0 or bx1 <= bx0 or not todo[by0:by1, bx0:bx1].any():
                continue
            for by in range(by0, by1):
                row = todo[by, bx0:bx1]
                if not row.any():
                    continue
                # Runs of blocks still to convert on this row: one conversion each.
                edges = np.flatnonzero(np.diff(np.concatenate([[False], row, [False]]).view(np.int8)))
                for a, b in zip(edges[::2], edges[1::2], strict=True):
                    self._convert(by * BLOCK, (bx0 + a) * BLOCK, (by + 1) * BLOCK, (bx0 + b) * BLOCK)
                todo[by, bx0:bx1] = False
        if not todo.any():
            self._todo = None

    def _convert(self, top: int, left: int, bottom: int, right: int) -> None:
        """Pixels -> float in place: ``float32(v) / 255`` (8 bits), as
        :func:`glcic.convert.to_tensor` computes it, or the float pixels as they are."""
        src = self.pixels[top:bottom, left:right].transpose(2, 0, 1)  # (3, h, w)
        dst = self.t[0, :, top:bottom, left:right].numpy()  # (3, h, w), a view of self.t
        if self.pixels.dtype == np.uint8:
            np.divide(src, np.float32(255.0), out=dst, dtype=np.float32)
        else:
            dst[...] = src

    def region(self, top: int, left: int, height: int, width: int) -> torch.Tensor:
        """``(1, 3, height, width)``: a view of the frame there (not to be written)."""
        self.ensure([(top, left, top + height, left + width)])
        return self.t[:, :, top : top + height, left : left + width]

    def whole(self) -> torch.Tensor:
        """The whole ``(1, 3, H, W)`` image, every block converted (not to be written)."""
        if self._todo is not None:
            if self._todo.all():  # one conversion, not one per run of blocks
                self._convert(0, 0, *self.shape)
                self._todo = None
            else:
                self.ensure([(0, 0, *self.shape)])
        return self.t

    def values(self, ys: np.ndarray, xs: np.ndarray) -> torch.Tensor:
        """The frame at pixels ``ys``, ``xs`` (converted already): ``(3, n)``."""
        iy, ix = torch.from_numpy(ys).to(self.device), torch.from_numpy(xs).to(self.device)
        return self.t[0, :, iy, ix]

    # ----------------------------------------------------------------- writing

    def write(self, ys: np.ndarray, xs: np.ndarray, values: torch.Tensor) -> None:
        """Set pixels ``ys``, ``xs`` (``int64`` ``(n,)``, in converted blocks) to ``values`` ``(3, n)``."""
        if ys.size == 0:
            return
        self.written = True
        iy, ix = torch.from_numpy(ys).to(self.device), torch.from_numpy(xs).to(self.device)
        self.t[0, :, iy, ix] = values.to(device=self.device, dtype=self.t.dtype)

    def write_mask(self, mask: np.ndarray, y: torch.Tensor, top: int = 0, left: int = 0) -> None:
        """Set the pixels of ``mask`` (``bool`` ``(h, w)``, at ``top``, ``left``) to ``y``'s
        ``(1, 3, h, w)`` there."""
        ys, xs = np.nonzero(mask)
        iy, ix = torch.from_numpy(ys).to(y.device), torch.from_numpy(xs).to(y.device)
        self.write(ys + top, xs + left, y[0, :, iy, ix])

    def hole_fill(self, hole: np.ndarray, base8: np.ndarray | None = None) -> HoleFill:
        """What the pipeline hands on for a frame from pixels: those pixels plus the frame's
        values at ``hole`` (``bool`` ``(H, W)``); ``base8``: see :class:`~glcic.pixels.HoleFill`."""
        assert self.pixels is not None, "a frame from a tensor is its own result: Frame.whole()"
        if self._todo is not None:  # a hole pixel no strategy wrote keeps the input's value
            H, W = self.shape
            blocks = np.logical_or.reduceat(np.logical_or.reduceat(hole, np.arange(0, H, BLOCK), axis=0),
                                            np.arange(0, W, BLOCK), axis=1)  # (blocks down, across)
            for by, bx in zip(*np.nonzero(blocks & self._todo), strict=True):
                self.ensure([(by * BLOCK, bx * BLOCK, (by + 1) * BLOCK, (bx + 1) * BLOCK)])
        ys, xs = np.nonzero(hole)
        return HoleFill(self.pixels, ys, xs, self.values(ys, xs).T.float().cpu().numpy(), base8)

    def replace(self, t: torch.Tensor) -> None:
        """Take ``t`` ``(1, 3, H, W)``, every pixel of it, as the frame."""
        self.t, self._todo, self.written = t, None, True

    # ----------------------------------------------------------------- statistics

    def known_stats(self, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The known pixels' range ``(2, 3)`` and mean ``(3,)`` in [0, 1] (for the biharmonic
        pre-fill); from the 8-bit pixels while nothing has been written (the range is
        exactly the float image's; the mean is the exact one, where the float image's sum
        differs in the last bits)."""
        known = (~hole).view(np.uint8)  # (H, W) {0, 1}
        p = self.pixels
        if p is not None and p.dtype == np.uint8 and not self.written:
            limits = np.array([cv2.minMaxLoc(p[:, :, c], mask=known)[:2] for c in range(3)]).T  # (2, 3)
            limits = (limits.astype(np.float32) / np.float32(255.0)).astype(np.float64)
            mean = np.array(cv2.mean(p, mask=known)[:3]) / 255.0
            return limits, mean
        # The known pixels' range and mean by OpenCV's masked reductions, without copying
        # them out (a 12 MP photo).
        image = self.whole()[0].detach().float().cpu().contiguous().numpy()  # (3, H, W)
        limits = np.array([cv2.minMaxLoc(c, mask=known)[:2] for c in image]).T  # (2, 3)
        mean = np.array([cv2.mean(c, mask=known)[0] for c in image])  # (3,)
        return limits, mean

    def hwc(self) -> np.ndarray:
        """The frame as a ``float32`` ``(H, W, 3)`` NumPy view (a CPU copy on other devices):
        only its converted blocks are to be read."""
        return self.t[0].detach().cpu().numpy().transpose(1, 2, 0)


def prefill_values(
    frame: Frame, hole: np.ndarray, near: np.ndarray, info: BundleInfo
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """The pre-fill of a whole image, for windows to be cut from (:data:`glcic.thin.Prefill`).

    The biharmonic pre-fill is one solve over the hole pixels in ``near``
    (:func:`glcic.prefill.biharmonic_values`; the other hole pixels are left out of it),
    reading only the pixels next to them (converted by the caller: the windows, 2 px
    wider) and the known pixels' range and mean (:meth:`Frame.known_stats`); the mean and
    Telea pre-fills fill the whole image as :func:`glcic.prefill.prefill` would.

    Args:
        frame: the image.
        hole, near: ``bool`` ``(H, W)``: every hole, and the hole pixels to pre-fill.
        info: the bundle's (its ``model.prefill`` and value range).

    Returns:
        ``(ys, xs, values)``: ``near``'s pixels and their pre-fill ``(3, n)`` in [0, 1].
    """
    from glcic.prefill import biharmonic_values, prefill

    kind = info.model.prefill
    if kind == "biharmonic":
        limits, mean = frame.known_stats(hole)
        ys, xs, values = biharmonic_values(frame.hwc(), near, hole & ~near, limits, mean)  # (k, 3) in [0, 1]
        # On the 8-bit levels, as the per-window pre-fill (through uint8 pixels) gives it.
        return ys, xs, torch.from_numpy(np.round(values * 255.0) / 255.0).T.to(frame.t)  # (3, k)
    x = frame.whole()
    lo, hi = info.value_range
    mean_t = torch.tensor(info.mean_pixel, dtype=torch.float32) * (hi - lo) + lo  # (3,)
    hole_t = torch.from_numpy(hole).to(x.device)[None, None].float()
    filled = prefill(x.float() * (hi - lo) + lo, hole_t, mean_t.to(x.device), kind, (lo, hi))
    ys, xs = np.nonzero(near)
    iy, ix = torch.from_numpy(ys).to(x.device), torch.from_numpy(xs).to(x.device)
    return ys, xs, ((filled[0, :, iy, ix] - lo) / (hi - lo)).to(x)
