"""Image-completion metrics in [0, 1] units: PSNR, SSIM, hole PSNR and hole L1.

Convention: one image per call, channels last. Every function takes

* a numpy array ``(H, W, 3)``: float in [0, 1], or ``uint8`` in [0, 255]
  (divided by 255), or
* a torch tensor ``(3, H, W)`` or ``(1, 3, H, W)``: float in [0, 1] or ``uint8``.
  It is detached, moved to the CPU and permuted to ``(H, W, 3)`` at the edge.

Masks are ``(H, W)`` (torch also ``(1, H, W)`` or ``(1, 1, H, W)``), **non-zero
= hole**: ``bool``, ``uint8``, or float holding only 0 and 1. Batches are not
averaged here: loop over them and average PSNRs with :func:`mean_finite`.

Everything is computed in float64, so the numbers match scikit-image's
``peak_signal_noise_ratio`` and ``structural_similarity`` (uniform 7x7 window,
``data_range=1``, sample covariance, ``K1=0.01``, ``K2=0.03``).

PSNR of identical images is ``float("inf")``, not a capped number: a cap would
make "perfect" depend on an arbitrary constant. :func:`mean_finite` averages a
list of PSNRs while leaving those infinities out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from glcic.errors import InputError
from glcic.options import METRICS

__all__ = ["METRIC_NAMES", "all_metrics", "hole_l1", "hole_psnr", "mean_finite", "psnr", "ssim"]

METRIC_NAMES = METRICS
"""Keys of the dict that :func:`all_metrics` returns, in order (:data:`glcic.options.METRICS`)."""

_SSIM_WIN = 7  # skimage's default window for structural_similarity


def _to_hwc(x: object, name: str) -> np.ndarray:
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


def _pair(pred: object, target: object) -> tuple[np.ndarray, np.ndarray]:
    p = _to_hwc(pred, "pred")
    t = _to_hwc(target, "target")
    if p.shape != t.shape:
        raise InputError(
            f"pred and target differ in size: {p.shape} vs {t.shape} (as H, W, 3); "
            "compare images of the same size"
        )
    return p, t


def _to_mask(mask: object, hw: tuple[int, ...]) -> np.ndarray:
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


def _hole_pixels(pred: object, target: object, mask: object) -> tuple[np.ndarray, np.ndarray]:
    """The hole pixels of both images, each ``(N, 3)`` float64 in [0, 1]."""
    p, t = _pair(pred, target)
    hole = _to_mask(mask, p.shape[:2])
    if not hole.any():
        raise InputError(
            "the mask has no hole pixels, so hole metrics are undefined; "
            "pass a mask with at least one non-zero pixel (1 = hole)"
        )
    return p[hole], t[hole]


def _psnr_from_mse(mse: float, data_range: float) -> float:
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def psnr(pred: object, target: object, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio of the whole image, in dB.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``).
        target: ground truth, same convention and size.
        data_range: peak value; 1.0 for images in [0, 1].

    Returns:
        ``10 * log10(data_range**2 / MSE)`` over all pixels and channels;
        ``float("inf")`` when the images are identical.

    Raises:
        InputError: bad shapes, dtypes or value ranges, or sizes that differ.
    """
    p, t = _pair(pred, target)
    if not data_range > 0:
        raise InputError(f"data_range must be positive (1.0 for [0, 1] images); got {data_range!r}")
    return _psnr_from_mse(float(np.mean((p - t) ** 2)), data_range)


def ssim(pred: object, target: object) -> float:
    """Structural similarity of the whole image (mean SSIM over pixels and channels).

    Identical to ``skimage.metrics.structural_similarity(pred, target,
    channel_axis=-1, data_range=1.0)`` on ``(H, W, 3)`` float images: uniform 7x7
    window, sample covariance, ``K1=0.01``, ``K2=0.03``.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``); at least 7x7 pixels.
        target: ground truth, same convention and size.

    Returns:
        Mean SSIM, at most 1.0 (for identical images).

    Raises:
        InputError: bad shapes, dtypes or value ranges, sizes that differ, or an
            image smaller than the 7x7 window.
    """
    from skimage.metrics import structural_similarity

    p, t = _pair(pred, target)
    if min(p.shape[:2]) < _SSIM_WIN:
        raise InputError(
            f"SSIM uses a {_SSIM_WIN}x{_SSIM_WIN} window; images of size {p.shape[:2]} are too "
            f"small; use images of at least {_SSIM_WIN}x{_SSIM_WIN} pixels"
        )
    return float(structural_similarity(p, t, channel_axis=-1, data_range=1.0))


def hole_psnr(pred: object, target: object, mask: object, data_range: float = 1.0) -> float:
    """PSNR over the hole only: the MSE is averaged over hole pixels and all channels.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``).
        target: ground truth, same convention and size.
        mask: ``(H, W)``, non-zero = hole.
        data_range: peak value; 1.0 for images in [0, 1].

    Returns:
        PSNR in dB; ``float("inf")`` when the hole pixels are identical.

    Raises:
        InputError: bad inputs or an empty mask (no hole pixels).
    """
    p, t = _hole_pixels(pred, target, mask)  # (N, 3) each
    if not data_range > 0:
        raise InputError(f"data_range must be positive (1.0 for [0, 1] images); got {data_range!r}")
    return _psnr_from_mse(float(np.mean((p - t) ** 2)), data_range)


def hole_l1(pred: object, target: object, mask: object) -> float:
    """Mean absolute error over the hole pixels and all channels, in [0, 1] units.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``).
        target: ground truth, same convention and size.
        mask: ``(H, W)``, non-zero = hole.

    Returns:
        Mean ``|pred - target|`` over the hole, in [0, 1].

    Raises:
        InputError: bad inputs or an empty mask (no hole pixels).
    """
    p, t = _hole_pixels(pred, target, mask)  # (N, 3) each
    return float(np.mean(np.abs(p - t)))


def all_metrics(pred: object, target: object, mask: object) -> dict[str, float]:
    """Every metric of one image.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``).
        target: ground truth, same convention and size.
        mask: ``(H, W)``, non-zero = hole; must hold at least one hole pixel.

    Returns:
        ``{"psnr", "ssim", "hole_psnr", "hole_l1"}`` (see :data:`METRIC_NAMES`) as
        floats; the PSNRs may be ``inf``.

    Raises:
        InputError: bad inputs or an empty mask.
    """
    p, t = _pair(pred, target)  # convert once; the metrics below reuse the float arrays
    return {
        "psnr": psnr(p, t),
        "ssim": ssim(p, t),
        "hole_psnr": hole_psnr(p, t, mask),
        "hole_l1": hole_l1(p, t, mask),
    }


def mean_finite(values: Iterable[float]) -> float:
    """Average PSNR-like values, leaving out ``+inf`` (identical image pairs).

    Leaving them out (rather than capping them at some dB value) keeps the mean
    independent of an arbitrary constant; report how many were left out next to
    it (``sum(math.isinf(v) for v in values)``).

    Args:
        values: numbers, e.g. one PSNR per image.

    Returns:
        Mean of the finite values; ``inf`` when every value is ``+inf``.

    Raises:
        InputError: ``values`` is empty or holds NaN or ``-inf``.
    """
    vals = [float(v) for v in values]
    if not vals:
        raise InputError("mean_finite got no values; evaluate at least one image")
    bad = [v for v in vals if math.isnan(v) or v == -math.inf]
    if bad:
        raise InputError(
            f"mean_finite got {len(bad)} NaN or -inf value(s); PSNRs are finite or +inf, "
            "so check how the values were computed"
        )
    finite = [v for v in vals if math.isfinite(v)]
    if not finite:
        return math.inf
    return math.fsum(finite) / len(finite)
