"""Image-completion metrics in [0, 1] units: PSNR, SSIM, hole PSNR and hole L1, and three
measures of the fill's texture: the hole detail ratio, its colour twin and the grid peaks.

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

PSNR and L1 reward the mean of the plausible fills, i.e. a blur. :func:`hole_detail`
(how much texture the fill has, against the photo's own) and :func:`grid_peaks` (how
much of it is the decoder's 4 px and 2 px upsampling pattern) say what they miss, on
luminance; :func:`colour_detail` is the detail ratio of the chroma, which catches false
colour (coloured stripes, tinted noise) that the luma measures cannot see. All read the
hole's *interior* (:func:`hole_interior`), and are ``NaN`` where a hole has no interior
to read: leave those out of averages (``numpy.nanmedian``) and count them. Each is exact about its own definition and blind to the rest; read them
with PSNR / L1 and a picture (docs/evaluation.md, "Texture").
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from glcic.errors import InputError
from glcic.options import GRID_PERIODS, METRICS, TEXTURE_METRICS

__all__ = [
    "CHROMA_MIN_GRADIENT",
    "DETAIL_MIN_GRADIENT",
    "GRID_BLUR_SIGMA",
    "GRID_MIN_SIDE",
    "GRID_PERIODS",
    "INTERIOR_ERODE",
    "INTERIOR_MIN_PIXELS",
    "METRIC_NAMES",
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
    "texture_metrics",
]

METRIC_NAMES = (*METRICS, *TEXTURE_METRICS)
"""Keys of the dict that :func:`all_metrics` returns, in order (:data:`glcic.options.METRICS`,
then :data:`glcic.options.TEXTURE_METRICS`)."""

INTERIOR_ERODE = 3
"""Pixels taken off the hole's edge before texture is read (a 7x7 square erosion; the image
border counts as known). The edge holds the jump between the known pixels and the fill,
which a difference across it would count as detail, and the first pixels of every fill,
where diffusion, PatchMatch's blending and the network all lean on the known colours;
3 px removes both and keeps most of a hole of 10 % of a 128 px image."""
INTERIOR_MIN_PIXELS = 64
"""An interior smaller than this (an 8x8 block) has no texture worth a number: ``NaN``."""
DETAIL_MIN_GRADIENT = 1.0 / 255.0
"""The photo's mean gradient over the interior below which :func:`hole_detail` is ``NaN``:
less than one 8-bit level per pixel is a flat region (a clear sky, a white wall), and
the ratio of two near-zero numbers would be noise."""
CHROMA_MIN_GRADIENT = 0.5 / 255.0
"""The photo's mean chroma gradient over the interior below which :func:`colour_detail` is
``NaN``: half an 8-bit level per pixel. Photos vary less in colour than in brightness, hence
a lower floor than :data:`DETAIL_MIN_GRADIENT`; gray scenes (black-and-white photos, a gray
wall) fall under it, and a ratio against nothing would say nothing."""
GRID_BLUR_SIGMA = 2.0
"""The Gaussian (px) whose blur :func:`grid_peaks` subtracts: it keeps 99 % of the
amplitude at a period of 4 px and all of it at 2 px, and removes the shading that would
leak across the spectrum."""
GRID_MIN_SIDE = 16
"""The interior's extent (px) along an axis below which that axis's spectrum is not read
(too few frequency bins to tell a line from its neighbours)."""
_GRID_BAND = 1.0 / 16.0  # widest distance (cycles / px) of a "nearby" line from the peak's
_GRID_MIN_RMS = 1e-4  # fine detail below a tenth of 8-bit rounding noise: no pattern to measure

_SSIM_WIN = 7  # skimage's default window for structural_similarity
_LUMA = np.array([0.299, 0.587, 0.114])  # (3,) RGB -> Y, ITU-R BT.601
# (3, 2) RGB -> (Cb, Cr), ITU-R BT.601 in [0, 1] units (no offset: only differences are read).
_CBCR = np.array([[-0.168736, 0.5], [-0.331264, -0.418688], [0.5, -0.081312]])


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
        ``{"psnr", "ssim", "hole_psnr", "hole_l1", "detail", "colour_detail",
        "grid_peak_4", "grid_peak_2"}`` (see :data:`METRIC_NAMES`) as floats; the PSNRs may be ``inf``,
        the texture measures ``NaN`` (a hole without an interior; :func:`texture_metrics`).

    Raises:
        InputError: bad inputs or an empty mask.
    """
    p, t = _pair(pred, target)  # convert once; the metrics below reuse the float arrays
    return {
        "psnr": psnr(p, t),
        "ssim": ssim(p, t),
        "hole_psnr": hole_psnr(p, t, mask),
        "hole_l1": hole_l1(p, t, mask),
        **texture_metrics(p, t, mask),
    }


# --------------------------------------------------------------------------- texture


def luminance(image: object) -> np.ndarray:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as PIL's mode ``L``).

    Args:
        image: ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1] (or ``uint8``).

    Returns:
        float64 ``(H, W)`` in [0, 1].
    """
    return _to_hwc(image, "image") @ _LUMA  # (H, W)


def hole_interior(mask: object, hw: tuple[int, int] | None = None) -> np.ndarray:
    """The hole without its edge: the hole eroded by :data:`INTERIOR_ERODE` pixels.

    A pixel is interior when its whole 7x7 neighbourhood is hole and inside the image
    (the image border counts as known).

    Args:
        mask: ``(H, W)``, non-zero = hole (as in :func:`hole_psnr`).
        hw: the image size the mask must have (default: its own).

    Returns:
        ``bool`` ``(H, W)``; empty for holes thinner than 7 px.
    """
    import cv2

    hole = _to_mask(mask, hw if hw is not None else np.shape(mask)[-2:])
    side = 2 * INTERIOR_ERODE + 1
    eroded = cv2.erode(
        hole.astype(np.uint8), np.ones((side, side), np.uint8),
        borderType=cv2.BORDER_CONSTANT, borderValue=0,
    )  # fmt: skip
    return eroded.astype(bool)


def _gradient(y: np.ndarray) -> np.ndarray:
    """Forward-difference gradient magnitude ``sqrt(dx^2 + dy^2)`` of ``y`` (H, W), per pixel;
    of ``y`` (H, W, C), ``sqrt`` of the sum over the channels of ``dx^2 + dy^2``. The last
    column's dx and the last row's dy are 0."""
    dx = np.zeros_like(y)
    dy = np.zeros_like(y)
    dx[:, :-1] = y[:, 1:] - y[:, :-1]
    dy[:-1, :] = y[1:, :] - y[:-1, :]
    if y.ndim == 2:
        return np.hypot(dx, dy)  # (H, W)
    return np.sqrt((dx**2 + dy**2).sum(axis=-1))  # (H, W)


def _crop(box: tuple[slice, slice] | None, *arrays: np.ndarray) -> list[np.ndarray]:
    return [a[box] if box is not None else a for a in arrays]


def _bbox(m: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of ``m``'s True pixels as slices; None when it has none."""
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def hole_detail(pred: object, target: object, mask: object) -> float:
    """How much texture the fill has, against the photo's own: 1 = as much, a blur far less.

    The mean gradient magnitude of ``pred``'s luminance over the hole's interior
    (:func:`hole_interior`) divided by the same over ``target``. The gradient is the
    forward difference ``sqrt((Y[y, x+1] - Y[y, x])^2 + (Y[y+1, x] - Y[y, x])^2)`` of the
    luma ``Y`` in [0, 1] (:func:`luminance`); at an interior pixel both neighbours are in
    the hole, so the known pixels never enter. Noise, stripes and a wrong texture raise
    it as much as the right one: read it with :func:`grid_peaks` and the hole PSNR / L1.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``).
        target: ground truth, same convention and size.
        mask: ``(H, W)``, non-zero = hole.

    Returns:
        The ratio (>= 0); ``NaN`` when the interior has fewer than
        :data:`INTERIOR_MIN_PIXELS` pixels or the photo is flat there (mean gradient
        below :data:`DETAIL_MIN_GRADIENT`).

    Raises:
        InputError: bad inputs or an empty mask.
    """
    return _gradient_ratio(pred, target, mask, _LUMA, DETAIL_MIN_GRADIENT)


def _gradient_ratio(pred: object, target: object, mask: object, to: np.ndarray, floor: float) -> float:
    """Mean :func:`_gradient` of ``pred @ to`` over the hole's interior over the same of
    ``target @ to`` (``to``: (3,) or (3, C)); ``NaN`` for a small interior or a photo whose
    mean gradient there is under ``floor``."""
    p, t = _pair(pred, target)
    _hole_pixels(p, t, mask)  # the same checks as the hole metrics
    inner = hole_interior(mask, p.shape[:2])
    if int(inner.sum()) < INTERIOR_MIN_PIXELS:
        return math.nan
    box = _bbox(inner)
    # One pixel more on the bottom and right: the forward differences' neighbours.
    box = (slice(box[0].start, box[0].stop + 1), slice(box[1].start, box[1].stop + 1))
    inner, cp, ct = inner[box], p[box] @ to, t[box] @ to  # (h, w) bool, (h, w[, C]) each
    photo = float(_gradient(ct)[inner].mean())
    if photo < floor:
        return math.nan
    return float(_gradient(cp)[inner].mean()) / photo


def colour_detail(pred: object, target: object, mask: object) -> float:
    """How much colour variation the fill has, against the photo's own: 1 = as much, a blur
    or a gray fill less, false colour (coloured stripes, tinted noise) far more.

    :func:`hole_detail` on the chroma instead of the luma: the mean over the hole's interior
    of ``sqrt(dCb_x^2 + dCb_y^2 + dCr_x^2 + dCr_y^2)`` (the forward differences of
    :func:`hole_detail`) of ``pred``, divided by the same of ``target``, with ITU-R BT.601
    ``Cb = -0.168736 R - 0.331264 G + 0.5 B`` and ``Cr = 0.5 R - 0.418688 G - 0.081312 B``
    in [0, 1] units. A pattern in colour alone (green / pink or blue / yellow lines of equal
    luma) leaves the luma measures where they were and raises this one. Like the detail, it
    counts any variation, right or wrong, and says nothing about where it is.

    Args:
        pred: completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1]
            (or ``uint8``).
        target: ground truth, same convention and size.
        mask: ``(H, W)``, non-zero = hole.

    Returns:
        The ratio (>= 0); ``NaN`` when the interior has fewer than
        :data:`INTERIOR_MIN_PIXELS` pixels or the photo's colour is flat there (mean chroma
        gradient below :data:`CHROMA_MIN_GRADIENT`: gray scenes, black-and-white photos).

    Raises:
        InputError: bad inputs or an empty mask.
    """
    return _gradient_ratio(pred, target, mask, _CBCR, CHROMA_MIN_GRADIENT)


def grid_peaks(image: object, mask: object) -> dict[int, float]:
    """How strongly the fill's fine detail repeats every 4 and every 2 pixels.

    The completion network's decoder doubles its resolution twice with stride-2
    transposed convolutions, which leave a pattern of period 4 px and 2 px; real photos
    and exemplar fills have no such period. Measured as:

    1. ``h``: the fill's fine detail, the luma (:func:`luminance`) minus its Gaussian blur
       (sigma :data:`GRID_BLUR_SIGMA`) over the hole alone (normalized convolution: the
       blur of ``Y * hole`` over the blur of ``hole``, so known pixels never enter);
    2. ``h`` on the hole's interior (:func:`hole_interior`; zero elsewhere, minus its mean
       there), cut to the interior's bounding box, padded with zeros to a multiple of 4
       (``N``) along each axis, so that periods 4 and 2 fall on exact FFT bins;
    3. along x (and likewise y): the power on each frequency line ``f``, ``P(f) = sum over
       rows |FFT_x(h)(f)|^2`` (by Parseval, the power of the 2-D spectrum on the line
       ``f_x = f``);
    4. the peak at period ``p``: the power on the lines ``f = 1 / p`` of both axes over the
       mean power of nearby lines, ``2 / N <= |f - 1/p| <= max(1/16, 3 / N)`` cycles / px
       (skipping the line next to the peak, which the window's main lobe shares), summed
       over both axes. An axis along which the interior spans fewer than
       :data:`GRID_MIN_SIDE` px is left out.

    About 1 where the fill has no periodic pattern: photos read 0.9-0.95 (their spectrum
    falls with frequency, so the lower neighbours weigh a little more), white noise 0.95-1.05;
    a 4 px stripe pattern of 8 levels' amplitude over a photo reads 3-4 at period 4.

    Args:
        image: the completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in
            [0, 1] (or ``uint8``).
        mask: ``(H, W)``, non-zero = hole.

    Returns:
        ``{period: ratio}`` for each period of :data:`GRID_PERIODS` (4 and 2); each ``NaN``
        when the interior has fewer than :data:`INTERIOR_MIN_PIXELS` pixels, spans fewer
        than :data:`GRID_MIN_SIDE` px along both axes, or the fill has no fine detail at all
        (a flat colour).

    Raises:
        InputError: bad inputs or an empty mask.
    """
    import cv2

    x = _to_hwc(image, "image")
    hole = _to_mask(mask, x.shape[:2])
    if not hole.any():
        raise InputError(
            "the mask has no hole pixels, so grid peaks are undefined; "
            "pass a mask with at least one non-zero pixel (1 = hole)"
        )
    nan = {p: math.nan for p in GRID_PERIODS}
    inner = hole_interior(hole)
    if int(inner.sum()) < INTERIOR_MIN_PIXELS:
        return nan
    # 1. Fine detail: the fill minus its blur over the hole alone (the hole's box is enough).
    hole_box = _bbox(hole)
    y, w, inner = _crop(hole_box, x @ _LUMA, hole.astype(np.float64), inner)
    size = 2 * int(math.ceil(4 * GRID_BLUR_SIGMA)) + 1
    g = cv2.getGaussianKernel(size, GRID_BLUR_SIGMA, cv2.CV_64F)

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(a, cv2.CV_64F, g, g, borderType=cv2.BORDER_CONSTANT)

    h = y - blur(y * w) / np.maximum(blur(w), 1e-12)  # (h, w) fine detail
    # 2. On the interior only, zero-mean there, cut to its box.
    h = np.where(inner, h - h[inner].mean(), 0.0)
    h, inner = _crop(_bbox(inner), h, inner)
    if float(np.sqrt(np.mean(h[inner] ** 2))) < _GRID_MIN_RMS:
        return nan
    # 3-4. Per axis: the power on each vertical (horizontal) frequency line.
    line = {p: 0.0 for p in GRID_PERIODS}
    near = {p: 0.0 for p in GRID_PERIODS}
    used = False
    for a in (h, h.T):  # lines along x, then along y
        n = a.shape[1]
        if n < GRID_MIN_SIDE:
            continue
        used = True
        big_n = 4 * math.ceil(n / 4)
        power = (np.abs(np.fft.rfft(a, n=big_n, axis=1)) ** 2).sum(axis=0)  # (N/2 + 1,)
        f = np.arange(power.size) / big_n  # cycles / px
        for p in GRID_PERIODS:
            d = np.abs(f - 1.0 / p)
            ref = (d >= 2.0 / big_n - 1e-12) & (d <= max(_GRID_BAND, 3.0 / big_n) + 1e-12)
            line[p] += float(power[big_n // p])
            near[p] += float(power[ref].mean())
    if not used:
        return nan
    return {p: line[p] / near[p] if near[p] > 0 else math.nan for p in GRID_PERIODS}


def texture_metrics(pred: object, target: object, mask: object) -> dict[str, float]:
    """:func:`hole_detail`, :func:`colour_detail` and :func:`grid_peaks` of one completed image.

    Returns:
        ``{"detail", "colour_detail", "grid_peak_4", "grid_peak_2"}``
        (:data:`glcic.options.TEXTURE_METRICS`), each a float or ``NaN`` (see the functions).
    """
    p, t = _pair(pred, target)  # convert once
    peaks = grid_peaks(p, mask)
    return {
        "detail": hole_detail(p, t, mask),
        "colour_detail": colour_detail(p, t, mask),
        **{f"grid_peak_{p}": peaks[p] for p in GRID_PERIODS},
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
