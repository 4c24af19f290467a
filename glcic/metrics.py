"""Image-completion metrics in [0, 1] units: PSNR, SSIM, hole PSNR and hole L1, and (from
:mod:`glcic.texture`, re-exported here) three measures of the fill's texture: the hole
detail ratio, its colour twin and the grid peaks.

Convention (:mod:`glcic.metric_inputs`): one image per call, channels last. Every
function takes

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

PSNR and L1 reward the mean of the plausible fills, i.e. a blur; the texture measures
(:func:`hole_detail`, :func:`colour_detail`, :func:`grid_peaks`, :func:`stripe_peak`, defined in
:mod:`glcic.texture`) say what they miss, and are ``NaN`` where a hole has no interior
to read (docs/evaluation.md, "Texture").
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from glcic.errors import InputError
from glcic.metric_inputs import hole_pixels, pair
from glcic.options import METRICS, TEXTURE_METRICS
from glcic.texture import (
    CHROMA_MIN_GRADIENT,
    DETAIL_MIN_GRADIENT,
    GRID_BLUR_SIGMA,
    GRID_MIN_SIDE,
    GRID_PERIODS,
    INTERIOR_ERODE,
    INTERIOR_MIN_PIXELS,
    STRIPE_MAX_PERIOD,
    colour_detail,
    grid_peaks,
    hole_detail,
    hole_interior,
    luminance,
    stripe_peak,
    texture_metrics,
)

__all__ = [
    "CHROMA_MIN_GRADIENT",
    "DETAIL_MIN_GRADIENT",
    "GRID_BLUR_SIGMA",
    "GRID_MIN_SIDE",
    "GRID_PERIODS",
    "INTERIOR_ERODE",
    "INTERIOR_MIN_PIXELS",
    "METRIC_NAMES",
    "STRIPE_MAX_PERIOD",
    "all_metrics",
    "colour_detail",
    "grid_peaks",
    "hole_detail",
    "hole_interior",
    "hole_l1",
    "hole_psnr",
    "luminance",
    "mean_finite",
    "psnr",
    "ssim",
    "stripe_peak",
    "texture_metrics",
]

METRIC_NAMES = (*METRICS, *TEXTURE_METRICS)
"""Keys of the dict that :func:`all_metrics` returns, in order (:data:`glcic.options.METRICS`,
then :data:`glcic.options.TEXTURE_METRICS`)."""

_SSIM_WIN = 7  # skimage's default window for structural_similarity


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
    p, t = pair(pred, target)
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

    p, t = pair(pred, target)
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
    p, t = hole_pixels(pred, target, mask)  # (N, 3) each
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
    p, t = hole_pixels(pred, target, mask)  # (N, 3) each
    return float(np.mean(np.abs(p - t)))


def all_metrics(pred: object, target: object, mask: object) -> dict[str, float]:
    """Every metric of one image.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``).
        target: ground truth, same convention and size.
        mask: ``(H, W)``, non-zero = hole; must hold at least one hole pixel.

    Returns:
        ``{"psnr", "ssim", "hole_psnr", "hole_l1", "detail", "colour_detail",
        "grid_peak_4", "grid_peak_2", "stripe_peak"}`` (see :data:`METRIC_NAMES`) as floats; the PSNRs may be ``inf``,
        the texture measures ``NaN`` (a hole without an interior; :func:`texture_metrics`).

    Raises:
        InputError: bad inputs or an empty mask.
    """
    p, t = pair(pred, target)  # convert once; the metrics below reuse the float arrays
    return {
        "psnr": psnr(p, t),
        "ssim": ssim(p, t),
        "hole_psnr": hole_psnr(p, t, mask),
        "hole_l1": hole_l1(p, t, mask),
        **texture_metrics(p, t, mask),
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
