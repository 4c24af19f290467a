"""Completed pixels in their three forms: the network's float tensor, 8-bit arrays, and a fill.

A completed image (:data:`Pixels`) is float ``(1, 3, H, W)`` in [0, 1] when the network
made it from a tensor, ``uint8`` ``(H, W, 3)`` when a classical method or blending did,
and a :class:`HoleFill` (the input's own pixels plus the fill's values at the pixels it
changed) when the network completed an 8-bit or high-depth image: a photo is then never
converted to float and back as a whole (:mod:`glcic.frame`). Each is converted only where
the caller's type needs another form (:func:`as_float`, :func:`as_uint8`, both by
:mod:`glcic.convert`'s rule), and the input's types are restored at the changed pixels
only (:func:`uint8_at`, :func:`unit_at`, :func:`gray_at`: the same values as the whole
conversions give there). Gray results are the luma of the colour one (:data:`LUMA`).
torch is imported only when a tensor is involved, so the classical methods run without
it. Used by :mod:`glcic.inputs` and :mod:`glcic.steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "LUMA",
    "HoleFill",
    "Pixels",
    "as_float",
    "as_uint8",
    "gray_at",
    "gray_uint8",
    "luma_np",
    "uint8_at",
    "unit_at",
    "unit_pixels",
]

LUMA = (0.299, 0.587, 0.114)
"""ITU-R 601-2 luma, the weights of PIL's ``convert("L")``: gray results for gray inputs."""

Pixels = Any  # torch.Tensor | np.ndarray | HoleFill, without importing torch
"""A completed image: float ``(1, 3, H, W)`` in [0, 1], ``uint8`` ``(H, W, 3)`` or a :class:`HoleFill`."""

_255 = np.float32(255.0)


def _unit(a: np.ndarray) -> np.ndarray:
    """``uint8`` pixels / 255, float pixels as they are: ``float32`` of the same shape."""
    return a.astype(np.float32) / _255 if a.dtype == np.uint8 else a.astype(np.float32)


@dataclass
class HoleFill:
    """An image that is ``base`` everywhere but at pixels ``ys``, ``xs``, which hold ``values``.

    Attributes:
        base: the input's pixels, ``uint8`` ``(H, W, 3)`` or ``float32`` ``(H, W, 3)`` in
            [0, 1] (a high-depth input); read, never written.
        ys, xs: ``int64`` ``(n,)``, in raster order (``np.nonzero``'s).
        values: ``float32`` ``(n, 3)`` in [0, 1] there.
        base8: ``base`` as 8 bits (``round(base * 255)``) for a float ``base``, when the
            caller has it already; else None.
    """

    base: np.ndarray
    ys: np.ndarray
    xs: np.ndarray
    values: np.ndarray
    base8: np.ndarray | None = None

    def _base_unit(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        return _unit(self.base[ys, xs])  # (n, 3)

    def _base_uint8(self, ys: np.ndarray | None = None, xs: np.ndarray | None = None) -> np.ndarray:
        """The base as 8 bits at ``ys``, ``xs`` ((n, 3)), or whole ((H, W, 3), a new array)."""
        if self.base.dtype == np.uint8:
            src = self.base
        elif self.base8 is not None:
            src = self.base8
        else:
            return _round8((self.base if ys is None else self.base[ys, xs]).astype(np.float32))
        return src.copy() if ys is None else src[ys, xs]  # indexing copies already

    def _mine(self, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``ys``, ``xs`` are fill pixels (``bool`` (n,)) and their index in :attr:`values`."""
        if ys.shape == self.ys.shape and np.array_equal(ys, self.ys) and np.array_equal(xs, self.xs):
            return np.ones(ys.size, bool), np.arange(ys.size)
        W = self.base.shape[1]
        keys = self.ys * W + self.xs  # ascending: raster order
        want = ys.astype(np.int64) * W + xs
        at = np.minimum(np.searchsorted(keys, want), max(0, keys.size - 1))
        hit = keys[at] == want if keys.size else np.zeros(ys.size, bool)
        return hit, at


def _round8(v: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> ``uint8``: :func:`glcic.convert.to_uint8`'s ``round(clamp(v, 0, 1) * 255)``."""
    return np.round(np.clip(v, 0, 1) * _255).astype(np.uint8)


def unit_at(p: Pixels, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """:func:`unit_pixels` at pixels ``ys``, ``xs`` only: ``float32`` ``(n, 3)``."""
    if isinstance(p, HoleFill):
        out = p._base_unit(ys, xs)
        hit, at = p._mine(ys, xs)
        out[hit] = p.values[at[hit]]
        return out
    if isinstance(p, np.ndarray):
        return _unit(p[ys, xs])
    import torch

    iy, ix = torch.from_numpy(ys).to(p.device), torch.from_numpy(xs).to(p.device)
    return p[0][:, iy, ix].detach().float().clamp(0, 1).T.cpu().numpy()


def uint8_at(p: Pixels, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """:func:`as_uint8` at pixels ``ys``, ``xs`` only: ``uint8`` ``(n, 3)``."""
    if isinstance(p, np.ndarray) and p.dtype == np.uint8:
        return p[ys, xs]
    if isinstance(p, HoleFill):
        hit, at = p._mine(ys, xs)
        out = p._base_uint8(ys, xs)
        out[hit] = _round8(p.values[at[hit]])
        return out
    return _round8(unit_at(p, ys, xs))


def gray_at(p: Pixels, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """:func:`gray_uint8` at pixels ``ys``, ``xs`` only: ``uint8`` ``(n,)``."""
    return _round8(luma_np(unit_at(p, ys, xs)))


def luma_np(x: np.ndarray) -> np.ndarray:
    """``(..., 3)`` float32 -> ``(...)``, ``w0 x0 + w1 x1 + w2 x2`` in that order."""
    w = np.asarray(LUMA, np.float32)
    return x[..., 0] * w[0] + x[..., 1] * w[1] + x[..., 2] * w[2]


def unit_pixels(p: Pixels) -> np.ndarray:
    """A completed image as ``float32`` ``(H, W, 3)`` in [0, 1] (uint8 / 255; floats as they are)."""
    if isinstance(p, HoleFill):
        out = _unit(p.base)
        out[p.ys, p.xs] = p.values
        return out
    if isinstance(p, np.ndarray):
        return _unit(p)
    return p[0].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def as_float(p: Pixels) -> torch.Tensor:
    """A completed image as float ``(1, 3, H, W)`` in [0, 1]."""
    from glcic.convert import to_tensor

    if isinstance(p, HoleFill) or (isinstance(p, np.ndarray) and p.dtype != np.uint8):
        # a fill, or a full-depth blend (H, W, 3) in [0, 1]
        import torch

        unit = unit_pixels(p)
        return torch.from_numpy(np.ascontiguousarray(unit, dtype=np.float32)).permute(2, 0, 1)[None]
    return to_tensor(p)[None] if isinstance(p, np.ndarray) else p


def as_uint8(p: Pixels) -> np.ndarray:
    """A completed image as ``uint8`` ``(H, W, 3)`` (a fill: a copy of its 8-bit base with
    the fill's pixels rounded in, not a conversion of the whole image)."""
    if isinstance(p, HoleFill):
        out = p._base_uint8()
        out[p.ys, p.xs] = _round8(p.values)
        return out
    if isinstance(p, np.ndarray):
        if p.dtype == np.uint8:
            return p
        return _round8(p)
    from glcic.convert import to_uint8

    return to_uint8(p[0])


def _luma(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, H, W) with PIL's convert("L") weights."""
    import torch

    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1)


def gray_uint8(p: Pixels) -> np.ndarray:
    """A completed image -> its luma as ``uint8`` ``(H, W)``, rounded by glcic.convert's rule
    (``round(clamp(y, 0, 1) * 255)``); 8-bit results and fills stay in NumPy (no torch needed)."""
    if isinstance(p, (np.ndarray, HoleFill)):
        return _round8(luma_np(unit_pixels(p)))
    from glcic.convert import to_uint8

    y = _luma(as_float(p))[:, None].expand(-1, 3, -1, -1)  # (1, 3, H, W): the luma in every channel
    return to_uint8(y)[0, :, :, 0]
