"""Completing at a smaller scale: the image shrunk by area, the fill scaled back up at the hole.

``resize``, ``crop`` and ``auto``'s coarser levels (:mod:`glcic.strategies`) show the
network the image at a fraction of its size: the image is averaged down (``area``), a
small pixel is a hole if any pixel under it is (:func:`any_below`, so no hole content
leaks in), and the completion is scaled back up (bicubic) at the hole pixels only
(:func:`paste_upscaled_into`), written into the :class:`~glcic.frame.Frame` being completed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from glcic.frame import Frame

__all__ = ["any_below", "paste_upscaled", "paste_upscaled_into", "scaled_forward", "scaled_into"]

Forward = Callable[..., torch.Tensor]
""":data:`glcic.strategies.Forward`."""


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
    frame = Frame.from_tensor(x)
    scaled_into(forward, frame, hole[0, 0].cpu().numpy(), hole, scale)
    return frame.t


def scaled_into(forward: Forward, frame: Frame, hole: np.ndarray, hole_t: torch.Tensor, scale: float) -> None:
    """:func:`scaled_forward` into ``frame``: writes the hole pixels (``hole`` ``(H, W)``, ``hole_t``
    ``(1, 1, H, W)``) only."""
    H, W = frame.shape
    h, w = max(8, round(H * scale)), max(8, round(W * scale))
    if scale >= 1.0 or (h >= H and w >= W):
        frame.write_mask(hole, forward(frame.whole(), hole_t))
        return
    xs = F.interpolate(frame.whole(), size=(h, w), mode="area")  # (1, 3, h, w): every pixel counts
    # A small pixel is a hole if any big pixel under it is: no hole content leaks in.
    hs = any_below(hole_t, (h, w))  # (1, 1, h, w)
    ys = forward(xs, hs)  # composited at low resolution
    paste_upscaled_into(ys, frame, hole)


def paste_upscaled(small: torch.Tensor, x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """``small`` scaled up to ``x``'s size (bicubic, ``align_corners=False``) in ``hole``, ``x`` elsewhere.

    Args:
        small: ``(1, 3, h, w)`` in [0, 1]. x: ``(1, 3, H, W)``. hole: ``(1, 1, H, W)`` bool.

    Returns:
        ``(1, 3, H, W)`` in [0, 1] (:func:`paste_upscaled_into` on a copy of ``x``).
    """
    frame = Frame.from_tensor(x)
    paste_upscaled_into(small, frame, hole[0, 0].cpu().numpy())
    return frame.t


def paste_upscaled_into(small: torch.Tensor, frame: Frame, hole: np.ndarray) -> None:
    """``small`` scaled up to ``frame``'s size (bicubic, ``align_corners=False``), written
    into ``frame`` at the ``hole`` pixels (``bool`` ``(H, W)``).

    Only the hole pixels are interpolated (by ``grid_sample`` at the pixel centres
    ``F.interpolate`` would use, each point on its own, so the values are those of scaling
    the whole image): a 12 MP photo's scribbles cover 2 % of it, and their bounding box all
    of it (0.45 s of bicubic over the box).
    """
    H, W = frame.shape
    h, w = small.shape[-2:]
    ys, xs = np.nonzero(hole)  # (n,) each
    if ys.size == 0:
        return
    iy, ix = torch.from_numpy(ys).to(small.device), torch.from_numpy(xs).to(small.device)
    # Source coordinates of the hole's pixel centres, normalised to [-1, 1] over `small`
    # (align_corners=False: -1 and 1 are the outer edges of its border pixels).
    gy = ((iy.float() + 0.5) * (h / H)) / h * 2 - 1
    gx = ((ix.float() + 0.5) * (w / W)) / w * 2 - 1
    grid = torch.stack([gx, gy], dim=-1)[None, None].to(small)  # (1, 1, n, 2) x, y
    up = F.grid_sample(small, grid, mode="bicubic", padding_mode="border", align_corners=False).clamp(0, 1)
    frame.write(ys, xs, up[0, :, 0])  # (3, n)


def any_below(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(1, 1, H, W)`` bool at ``size``: a small pixel is True if any pixel under it is.

    The same as ``F.interpolate(mask.float(), size=size, mode="area") > 0``, without a float
    copy of a 12 MP mask: area scaling averages each small pixel over the big pixels from
    ``floor(i H / h)`` to ``ceil((i + 1) H / h)`` (those it overlaps), so this takes the
    maximum over the same ranges (by blocks when the scale divides the image).
    """
    H, W = mask.shape[-2:]
    h, w = size
    if H % h == 0 and W % w == 0 and H // h == W // w:
        f = H // h
        return mask.reshape(1, 1, h, f, w, f).any(dim=5).any(dim=3)
    m = mask[0, 0].cpu().numpy()
    m = _any_over(m, H, h, axis=0)  # (h, W)
    m = _any_over(m, W, w, axis=1)  # (h, w)
    return torch.from_numpy(m).to(mask.device)[None, None]


def _any_over(m: np.ndarray, big: int, small: int, axis: int) -> np.ndarray:
    """Any over adaptive pooling's ranges ``[floor(i big / small), ceil((i + 1) big / small))`` along ``axis``."""
    i = np.arange(small)
    start = (i * big) // small
    end = -((-(i + 1) * big) // small)  # ceil
    if small >= big:  # one big pixel (or none fewer) per small pixel: no reduction
        return np.take(m, start, axis=axis) | np.take(m, end - 1, axis=axis)
    out = np.logical_or.reduceat(m, start, axis=axis)  # [start_i, start_i+1), the last to the end
    # A range ends past the next one's start when (i + 1) big / small is not whole: one more.
    extra = end[:-1] > start[1:]
    if extra.any():
        rows = np.flatnonzero(extra)
        more = np.take(m, start[1:][extra], axis=axis)
        if axis == 0:
            out[rows] |= more
        else:
            out[:, rows] |= more
    return out
