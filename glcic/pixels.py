"""Completed pixels between their two forms: the network's float tensor and 8-bit arrays.

A completed image (:data:`Pixels`) is float ``(1, 3, H, W)`` in [0, 1] when the network
made it and ``uint8`` ``(H, W, 3)`` when a classical method or blending did; it is
converted only where the caller's type needs the other one (:func:`as_float`,
:func:`as_uint8`, both by :mod:`glcic.convert`'s rule). Gray results are the luma of the
colour one (:data:`LUMA`). torch is imported only when a tensor is involved, so the
classical methods run without it. Used by :mod:`glcic.inputs` and :mod:`glcic.steps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["LUMA", "Pixels", "as_float", "as_uint8", "gray_uint8", "unit_pixels"]

LUMA = (0.299, 0.587, 0.114)
"""ITU-R 601-2 luma, the weights of PIL's ``convert("L")``: gray results for gray inputs."""

Pixels = Any  # torch.Tensor | np.ndarray, without importing torch
"""A completed image: float ``(1, 3, H, W)`` in [0, 1] or ``uint8`` ``(H, W, 3)``."""


def unit_pixels(p: Pixels) -> np.ndarray:
    """A completed image as ``float32`` ``(H, W, 3)`` in [0, 1] (uint8 / 255; floats as they are)."""
    if isinstance(p, np.ndarray):
        return p.astype(np.float32) / np.float32(255.0) if p.dtype == np.uint8 else p.astype(np.float32)
    return p[0].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def as_float(p: Pixels) -> torch.Tensor:
    """A completed image as float ``(1, 3, H, W)`` in [0, 1]."""
    from glcic.convert import to_tensor

    if isinstance(p, np.ndarray) and p.dtype != np.uint8:  # a full-depth blend, (H, W, 3) in [0, 1]
        import torch

        return torch.from_numpy(np.ascontiguousarray(p, dtype=np.float32)).permute(2, 0, 1)[None]
    return to_tensor(p)[None] if isinstance(p, np.ndarray) else p


def as_uint8(p: Pixels) -> np.ndarray:
    """A completed image as ``uint8`` ``(H, W, 3)``."""
    if isinstance(p, np.ndarray):
        if p.dtype == np.uint8:
            return p
        return np.round(np.clip(p, 0, 1) * np.float32(255.0)).astype(np.uint8)
    from glcic.convert import to_uint8

    return to_uint8(p[0])


def _luma(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, H, W) with PIL's convert("L") weights."""
    import torch

    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1)


def gray_uint8(p: Pixels) -> np.ndarray:
    """A completed image -> its luma as ``uint8`` ``(H, W)``, rounded by glcic.convert's rule
    (``round(clamp(y, 0, 1) * 255)``); 8-bit results stay in NumPy (no torch needed)."""
    if isinstance(p, np.ndarray):
        x = p.astype(np.float32) / np.float32(255.0)  # (H, W, 3) in [0, 1], as to_tensor
        w = np.asarray(LUMA, np.float32)
        y = x[:, :, 0] * w[0] + x[:, :, 1] * w[1] + x[:, :, 2] * w[2]  # (H, W)
        return np.round(np.clip(y, 0, 1) * np.float32(255.0)).astype(np.uint8)
    from glcic.convert import to_uint8

    y = _luma(as_float(p))[:, None].expand(-1, 3, -1, -1)  # (1, 3, H, W): the luma in every channel
    return to_uint8(y)[0, :, :, 0]
