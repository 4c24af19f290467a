"""Measures of a fill's texture, which PSNR and L1 miss: the hole detail ratio of the luma
(:func:`hole_detail`) and of the chroma (:func:`colour_detail`), and the grid peaks
(:func:`grid_peaks`), all read on the hole's *interior* (:func:`hole_interior`).

PSNR and L1 reward the mean of the plausible fills, i.e. a blur. :func:`hole_detail`
(how much texture the fill has, against the photo's own) and :func:`grid_peaks` (how
much of it is the decoder's 4 px and 2 px upsampling pattern) say what they miss, on
luminance; :func:`colour_detail` is the detail ratio of the chroma, which catches false
colour (coloured stripes, tinted noise) that the luma measures cannot see. All are
``NaN`` where a hole has no interior to read: leave those out of averages
(``numpy.nanmedian``) and count them. Each is exact about its own definition and blind
to the rest; read them with PSNR / L1 and a picture (docs/evaluation.md, "Texture").

Inputs as every metric's (:mod:`glcic.metric_inputs`): ``(H, W, 3)`` numpy or
``(3, H, W)`` torch in [0, 1] (or ``uint8``), masks ``(H, W)``, non-zero = hole.
:func:`glcic.metrics.all_metrics` includes :func:`texture_metrics`, and
:mod:`glcic.metrics` re-exports every name here.
"""

from __future__ import annotations

import math

import numpy as np

from glcic.errors import InputError
from glcic.metric_inputs import hole_pixels, pair, to_hwc, to_mask
from glcic.options import GRID_PERIODS

__all__ = [
    "CHROMA_MIN_GRADIENT",
    "DETAIL_MIN_GRADIENT",
    "GRID_BLUR_SIGMA",
    "GRID_MIN_SIDE",
    "GRID_PERIODS",
    "INTERIOR_ERODE",
    "INTERIOR_MIN_PIXELS",
    "colour_detail",
    "grid_peaks",
    "hole_detail",
    "hole_interior",
    "luminance",
    "texture_metrics",
]

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

_LUMA = np.array([0.299, 0.587, 0.114])  # (3,) RGB -> Y, ITU-R BT.601
# (3, 2) RGB -> (Cb, Cr), ITU-R BT.601 in [0, 1] units (no offset: only differences are read).
_CBCR = np.array([[-0.168736, 0.5], [-0.331264, -0.418688], [0.5, -0.081312]])


def luminance(image: object) -> np.ndarray:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as PIL's mode ``L``).

    Args:
        image: ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in [0, 1] (or ``uint8``).

    Returns:
        float64 ``(H, W)`` in [0, 1].
    """
    return to_hwc(image, "image") @ _LUMA  # (H, W)


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

    hole = to_mask(mask, hw if hw is not None else np.shape(mask)[-2:])
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
    p, t = pair(pred, target)
    hole_pixels(p, t, mask)  # the same checks as the hole metrics
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
    spectra = _line_spectra(image, mask, "grid peaks are")
    if not spectra:
        return {p: math.nan for p in GRID_PERIODS}
    # 4. The lines of period p over their nearby lines, both axes summed.
    line = {p: 0.0 for p in GRID_PERIODS}
    near = {p: 0.0 for p in GRID_PERIODS}
    for power, big_n in spectra:
        f = np.arange(power.size) / big_n  # cycles / px
        for p in GRID_PERIODS:
            d = np.abs(f - 1.0 / p)
            ref = (d >= 2.0 / big_n - 1e-12) & (d <= max(_GRID_BAND, 3.0 / big_n) + 1e-12)
            line[p] += float(power[big_n // p])
            near[p] += float(power[ref].mean())
    return {p: line[p] / near[p] if near[p] > 0 else math.nan for p in GRID_PERIODS}


def _line_spectra(image: object, mask: object, what: str) -> list[tuple[np.ndarray, int]]:
    """Steps 1-3 of :func:`grid_peaks`, shared with :func:`stripe_peak`: the power on each
    frequency line of the fill's fine detail, per axis read.

    Args:
        image: the completed image, as :func:`grid_peaks`'.
        mask: ``(H, W)``, non-zero = hole.
        what: the measure, for the error message (``"grid peaks are"``).

    Returns:
        For the x axis, then the y axis, where the interior spans at least
        :data:`GRID_MIN_SIDE` px along it: ``(P, N)``, ``P`` float64 ``(N/2 + 1,)`` the power
        on the lines ``f = k / N`` cycles / px, ``k = 0 .. N/2``, ``N`` the interior's extent
        along the axis rounded up to a multiple of 4. Empty when nothing can be read (an
        interior under :data:`INTERIOR_MIN_PIXELS` pixels, narrower than
        :data:`GRID_MIN_SIDE` px both ways, or a fill without fine detail).

    Raises:
        InputError: bad inputs or an empty mask.
    """
    import cv2

    x = to_hwc(image, "image")
    hole = to_mask(mask, x.shape[:2])
    if not hole.any():
        raise InputError(
            f"the mask has no hole pixels, so {what} undefined; "
            "pass a mask with at least one non-zero pixel (1 = hole)"
        )
    inner = hole_interior(hole)
    if int(inner.sum()) < INTERIOR_MIN_PIXELS:
        return []
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
        return []
    # 3. Per axis: the power on each vertical (horizontal) frequency line.
    out = []
    for a in (h, h.T):  # lines along x, then along y
        n = a.shape[1]
        if n < GRID_MIN_SIDE:
            continue
        big_n = 4 * math.ceil(n / 4)
        out.append(((np.abs(np.fft.rfft(a, n=big_n, axis=1)) ** 2).sum(axis=0), big_n))  # (N/2 + 1,)
    return out


def texture_metrics(pred: object, target: object, mask: object) -> dict[str, float]:
    """:func:`hole_detail`, :func:`colour_detail` and :func:`grid_peaks` of one completed image.

    Returns:
        ``{"detail", "colour_detail", "grid_peak_4", "grid_peak_2"}``
        (:data:`glcic.options.TEXTURE_METRICS`), each a float or ``NaN`` (see the functions).
    """
    p, t = pair(pred, target)  # convert once
    peaks = grid_peaks(p, mask)
    return {
        "detail": hole_detail(p, t, mask),
        "colour_detail": colour_detail(p, t, mask),
        **{f"grid_peak_{period}": peaks[period] for period in GRID_PERIODS},
    }
