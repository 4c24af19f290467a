"""The metrics' input convention, shared by :mod:`glcic.metrics` and :mod:`glcic.texture`, and
where the texture measures read: the luma (:func:`luminance`) on the hole's interior
(:func:`hole_interior`).

One image per call, channels last. Every metric takes

* a numpy array ``(H, W, 3)``: float in [0, 1], or ``uint8`` in [0, 255]
  (divided by 255), or
* a torch tensor ``(3, H, W)`` or ``(1, 3, H, W)``: float in [0, 1] or ``uint8``.
  It is detached, moved to the CPU and permuted to ``(H, W, 3)`` at the edge.

Masks are ``(H, W)`` (torch also ``(1, H, W)`` or ``(1, 1, H, W)``), **non-zero
= hole**: ``bool``, ``uint8``, or float holding only 0 and 1. Anything else is an
:class:`~glcic.errors.InputError` that says how to fix it. Everything is converted to
float64.
"""

from __future__ import annotations

import numpy as np
import torch

from glcic.errors import InputError

__all__ = [
    "INTERIOR_ERODE",
    "INTERIOR_MIN_PIXELS",
    "LUMA",
    "bbox",
    "crop",
    "hole_interior",
    "hole_pixels",
    "luminance",
    "pair",
    "to_hwc",
    "to_mask",
]


def to_hwc(x: object, name: str) -> np.ndarray:
    """Convert one image to float64 ``(H, W, 3)`` in [0, 1] or raise InputError."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.ndim == 4 and t.shape[0] == 1:
            t = t[0]
        if t.ndim != 3 or t.shape[0] != 3:
            if t.ndim == 4:
                hint = "metrics take one image at a time; loop over the batch"
            elif t.ndim == 3 and t.shape[-1] == 3:
                hint = "torch images are channels-first (3, H, W); use x.permute(2, 0, 1)"
            else:
                hint = "give an RGB image"
            raise InputError(f"{name}: expected a (3, H, W) tensor; got {tuple(x.shape)}; {hint}")
        if t.dtype == torch.bool or not (t.is_floating_point() or t.dtype == torch.uint8):
            raise InputError(f"{name}: expected a float or uint8 tensor; got {t.dtype}")
        a = t.permute(1, 2, 0).to(torch.float64).numpy()  # (H, W, 3)
        is_uint8 = t.dtype == torch.uint8
    elif isinstance(x, np.ndarray):
        if x.ndim != 3 or x.shape[2] != 3:
            hint = (
                "numpy images are channels-last (H, W, 3); use x.transpose(1, 2, 0)"
                if x.ndim == 3 and x.shape[0] == 3
                else "give an RGB image"
            )
            raise InputError(f"{name}: expected an (H, W, 3) array; got {x.shape}; {hint}")
        if not (np.issubdtype(x.dtype, np.floating) or x.dtype == np.uint8):
            raise InputError(
                f"{name}: expected a float array in [0, 1] or uint8 in [0, 255]; got {x.dtype}"
            )
        a = x.astype(np.float64)
        is_uint8 = x.dtype == np.uint8
    else:
        raise InputError(
            f"{name}: expected a numpy array (H, W, 3) or a torch tensor (3, H, W); "
            f"got {type(x).__name__}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {a.shape}); give an image with pixels")
    if is_uint8:
        return a / 255.0
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} holds NaN or inf; check the model output")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(
            f"{name}: float images must lie in [0, 1]; got values in [{lo:.4g}, {hi:.4g}]; "
            "map [-1, 1] outputs with (x + 1) / 2, divide [0, 255] data by 255, or clamp(0, 1)"
        )
    return a


def pair(pred: object, target: object) -> tuple[np.ndarray, np.ndarray]:
    """Convert a completed image and its ground truth (:func:`to_hwc`) and check they match in size."""
    p = to_hwc(pred, "pred")
    t = to_hwc(target, "target")
    if p.shape != t.shape:
        raise InputError(
            f"pred and target differ in size: {p.shape} vs {t.shape} (as H, W, 3); "
            "compare images of the same size"
        )
    return p, t


def to_mask(mask: object, hw: tuple[int, ...]) -> np.ndarray:
    """Convert a hole mask to ``bool`` ``(H, W)`` or raise InputError."""
    if isinstance(mask, torch.Tensor):
        m = mask.detach().cpu()
        while m.ndim > 2 and m.shape[0] == 1:
            m = m[0]
        m = m.numpy()
    elif isinstance(mask, np.ndarray):
        m = mask
    else:
        raise InputError(
            f"mask: expected a numpy array or torch tensor (H, W), non-zero = hole; "
            f"got {type(mask).__name__}"
        )
    if m.ndim != 2:
        raise InputError(f"mask: expected shape (H, W); got {tuple(mask.shape)}")
    if m.shape != tuple(hw):
        raise InputError(
            f"mask size {m.shape} does not match the image size {tuple(hw)} (H, W); "
            "use the mask that belongs to these images"
        )
    if m.dtype == np.bool_ or m.dtype == np.uint8:
        return m.astype(bool)
    if np.issubdtype(m.dtype, np.floating):
        if not np.all((m == 0) | (m == 1)):
            raise InputError(
                "mask: a float mask must hold only 0 and 1 (1 = hole); binarize it with mask > 0.5"
            )
        return m == 1
    raise InputError(f"mask: expected dtype bool, uint8 or float 0/1; got {m.dtype}")


def hole_pixels(pred: object, target: object, mask: object) -> tuple[np.ndarray, np.ndarray]:
    """The hole pixels of both images, each ``(N, 3)`` float64 in [0, 1]."""
    p, t = pair(pred, target)
    hole = to_mask(mask, p.shape[:2])
    if not hole.any():
        raise InputError(
            "the mask has no hole pixels, so hole metrics are undefined; "
            "pass a mask with at least one non-zero pixel (1 = hole)"
        )
    return p[hole], t[hole]


# --------------------------------------------------------------------------- where texture is read

INTERIOR_ERODE = 3
"""Pixels taken off the hole's edge before texture is read (a 7x7 square erosion; the image
border counts as known). The edge holds the jump between the known pixels and the fill,
which a difference across it would count as detail, and the first pixels of every fill,
where diffusion, PatchMatch's blending and the network all lean on the known colours;
3 px removes both and keeps most of a hole of 10 % of a 128 px image."""
INTERIOR_MIN_PIXELS = 64
"""An interior smaller than this (an 8x8 block) has no texture worth a number: ``NaN``."""

LUMA = np.array([0.299, 0.587, 0.114])  # (3,) RGB -> Y, ITU-R BT.601


def luminance(image: object) -> np.ndarray:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as PIL's mode ``L``).

    Args:
        image: ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1] (or ``uint8``).

    Returns:
        float64 ``(H, W)`` in [0, 1].
    """
    return to_hwc(image, "image") @ LUMA  # (H, W)


def hole_interior(mask: object, hw: tuple[int, int] | None = None) -> np.ndarray:
    """The hole without its edge: the hole eroded by :data:`INTERIOR_ERODE` pixels.

    A pixel is interior when its whole 7x7 neighbourhood is hole and inside the image
    (the image border counts as known).

    Args:
        mask: ``(H, W)``, non-zero = hole (as in :func:`glcic.metrics.hole_psnr`).
        hw: the image size the mask must have (default: its own).

    Returns:
        ``bool`` ``(H, W)``; empty for holes thinner than 7 px.
    """
    import cv2

    hole = to_mask(mask, hw if hw is not None else np.shape(mask)[-2:])
    side = 2 * INTERIOR_ERODE + 1
    eroded = cv2.erode(
        hole.astype(np.uint8), np.ones((side, side), np.uint8),
        borderType=cv2.BORDER_CONSTANT, borderValue=0,
    )  # fmt: skip
    return eroded.astype(bool)


def crop(box: tuple[slice, slice] | None, *arrays: np.ndarray) -> list[np.ndarray]:
    """Each array cut to ``box`` (:func:`bbox`); uncut where ``box`` is None."""
    return [a[box] if box is not None else a for a in arrays]


def bbox(m: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of ``m``'s True pixels as slices; None when it has none."""
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
