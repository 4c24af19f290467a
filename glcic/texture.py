"""Measures of a fill's texture, which PSNR and L1 miss: the hole detail ratio of the luma
(:func:`hole_detail`) and of the chroma (:func:`colour_detail`), the grid peaks
(:func:`grid_peaks`) and the stripe peak (:func:`stripe_peak`), all read on the hole's
*interior* (:func:`hole_interior`, defined with :func:`luminance` in
:mod:`glcic.metric_inputs` and re-exported here).

PSNR and L1 reward the mean of the plausible fills, i.e. a blur. :func:`hole_detail`
(how much texture the fill has, against the photo's own), :func:`grid_peaks` (how
much of it is the decoder's 4 px and 2 px upsampling pattern) and :func:`stripe_peak`
(stripes of any period from 2 to 16 px) say what they miss, on luminance;
:func:`colour_detail` is the detail ratio of the chroma, which catches false
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
from glcic.metric_inputs import (
    INTERIOR_ERODE,
    INTERIOR_MIN_PIXELS,
    LUMA,
    bbox,
    crop,
    hole_interior,
    hole_pixels,
    luminance,
    pair,
    to_hwc,
    to_mask,
)
from glcic.options import GRID_PERIODS

__all__ = [
    "CHROMA_MIN_GRADIENT",
    "DETAIL_MIN_GRADIENT",
    "GRID_BLUR_SIGMA",
    "GRID_MIN_SIDE",
    "GRID_PERIODS",
    "INTERIOR_ERODE",
    "INTERIOR_MIN_PIXELS",
    "STRIPE_MAX_PERIOD",
    "colour_detail",
    "grid_peaks",
    "hole_detail",
    "hole_interior",
    "luminance",
    "stripe_peak",
    "texture_metrics",
]

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
STRIPE_MAX_PERIOD = 16
"""The longest period (px) that :func:`stripe_peak` reads; its shortest is 2 px (the finest a
pixel grid holds). It spans the stripes adversarial fine-tunes paint (8-10 px apart); beyond
it the blur of :data:`GRID_BLUR_SIGMA` takes most of the amplitude out of the fine detail (it
leaves 27 % at 16 px, 71 % at 8 px)."""
_GRID_BAND = 1.0 / 16.0  # widest distance (cycles / px) of a "nearby" line from the peak's
_GRID_MIN_RMS = 1e-4  # fine detail below a tenth of 8-bit rounding noise: no pattern to measure

# (3, 2) RGB -> (Cb, Cr), ITU-R BT.601 in [0, 1] units (no offset: only differences are read).
_CBCR = np.array([[-0.168736, 0.5], [-0.331264, -0.418688], [0.5, -0.081312]])


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
    return _gradient_ratio(pred, target, mask, LUMA, DETAIL_MIN_GRADIENT)


def _gradient_ratio(pred: object, target: object, mask: object, to: np.ndarray, floor: float) -> float:
    """Mean :func:`_gradient` of ``pred @ to`` over the hole's interior over the same of
    ``target @ to`` (``to``: (3,) or (3, C)); ``NaN`` for a small interior or a photo whose
    mean gradient there is under ``floor``."""
    p, t = pair(pred, target)
    hole_pixels(p, t, mask)  # the same checks as the hole metrics
    inner = hole_interior(mask, p.shape[:2])
    if int(inner.sum()) < INTERIOR_MIN_PIXELS:
        return math.nan
    box = bbox(inner)
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
    return _grid_peaks(_line_spectra(image, mask, "grid peaks are"))


def _grid_peaks(spectra: list[tuple[np.ndarray, int]]) -> dict[int, float]:
    """Step 4 of :func:`grid_peaks` on :func:`_line_spectra`'s output."""
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


def stripe_peak(image: object, mask: object) -> float:
    """How strongly the fill's fine detail repeats at any one period from 2 to 16 px: stripes.

    :func:`grid_peaks` reads the decoder's own periods, 4 and 2 px; adversarial fine-tunes
    also paint stripes of other periods (lines 8-10 px apart across the hole), which it
    misses. Measured on the same line spectra (steps 1-3 of :func:`grid_peaks`: the luma's
    fine detail on the hole's interior, zero-mean, in the interior's box padded to ``N``, a
    multiple of 4, along each axis; the power ``P(f)`` on each frequency line ``f = k / N``):
    for every line of each axis with ``1/16 <= f <= 1/2`` cycles / px (a period of 2 to
    :data:`STRIPE_MAX_PERIOD` px), ``P(f)`` over the mean power of its nearby lines,
    ``2 / N <= |f' - f| <= max(1/16, 3 / N)`` (grid peaks' rule) among the lines there are,
    ``0 <= f' <= 1/2``: one-sided at ``1/2``, as grid peaks' period 2 (the lines beyond
    mirror those below), and reaching down to the line ``f' = 0`` near ``1/16``. The result
    is the largest of these ratios over both axes and all those lines, so it is at least the
    per-axis ratio at 4 and 2 px: a 4 px grid reads high here too. A stripe between two
    lines (period 9 px when ``N`` is 48) spreads over both, and still stands far above the
    lines 2 away.

    What it reads (the 479 val photos of ``scenes`` at 128 px, ``blobs`` / ``rect`` holes;
    docs/evaluation.md, "Texture"): the largest of some 40 ratios is biased up, so a fill
    without stripes reads above 1: white noise 1.39 / 1.46 (median; 5-95 % 1.26-1.74; nearer
    1 on larger holes, 1.19 at 256 px), the photo itself 1.68 / 1.85 (5-95 % 1.37-3.6; up to
    14 on windows and tiles), its Gaussian blur (sigma 2 px, a blurry fill) 2.04 / 2.51
    (5-95 % 1.3-7.9). Stripes of +-4 levels on that blur: 24 / 27 at 8 px apart, 24 / 39 at
    12 px, 16 / 17 at 16 px, 43 / 202 at 4 px (5 % of them under 4-10 at 8-16 px, mostly on
    small blobs). A stripe between two lines leaks into its neighbours, which caps its ratio
    (about 15-20 on a 48 px hole, however strong it is). Over the photo's own texture,
    stripes stand out less: +-8 levels 8 px apart read 2.8 / 2.8, +-4 only 1.9 / 2.1.

    Limits: real periodic structure (windows, fences, tiles, brickwork, text) raises it in
    the photo too, which is why the photo's own value is reported beside the fill's
    (``original``) and one image's value says little: compare medians. It takes the 4 px and
    2 px lines too, so a fill with a decoder grid reads high whatever else it paints: read it
    with the grid peaks. It reads the luma only: stripes of colour alone (of equal luma) leave
    it where it was (:func:`colour_detail` sees those). Oblique stripes count (their power
    lies on one line of each axis) while their period along x or y is 2-16 px; longer periods
    read lower (a square wave's third harmonic still counts). Fills without stripes but
    smoother than the photo read a little above it (their spectrum falls faster), and streaky
    fills whose rows repeat one profile (Telea on a square hole: 2.7) higher still, since the
    spectrum of one profile is not averaged over independent rows.

    Args:
        image: the completed image, ``(H, W, 3)`` numpy or ``(3, H, W)`` torch, in
            [0, 1] (or ``uint8``).
        mask: ``(H, W)``, non-zero = hole.

    Returns:
        The largest ratio (> 0); ``NaN`` as :func:`grid_peaks`: when the interior has fewer
        than :data:`INTERIOR_MIN_PIXELS` pixels, spans fewer than :data:`GRID_MIN_SIDE` px
        along both axes (one axis under it is left out), or the fill has no fine detail at
        all (a flat colour).

    Raises:
        InputError: bad inputs or an empty mask.
    """
    return _stripe_peak(_line_spectra(image, mask, "the stripe peak is"))


def _stripe_peak(spectra: list[tuple[np.ndarray, int]]) -> float:
    """:func:`stripe_peak` on :func:`_line_spectra`'s output."""
    best = math.nan
    for power, big_n in spectra:
        half = big_n // 2
        # The nearby lines j of line k: 2 <= |j - k| <= reach, those of 0 .. N/2 only.
        reach = int(math.floor(max(_GRID_BAND, 3.0 / big_n) * big_n + 1e-9))
        k = np.arange(math.ceil(big_n / STRIPE_MAX_PERIOD), half + 1)  # (K,) 1/16 <= f <= 1/2
        offsets = np.r_[-reach:-1, 2 : reach + 1]  # (2 reach - 2,)
        j = k[:, None] + offsets[None, :]  # (K, 2 reach - 2)
        inside = (j >= 0) & (j <= half)
        near = np.where(inside, power[np.clip(j, 0, half)], 0.0).sum(axis=1)  # (K,)
        near = near / inside.sum(axis=1)
        ratio = power[k][near > 0] / near[near > 0]
        if ratio.size:
            best = float(np.fmax(best, ratio.max()))
    return best


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
    hole_box = bbox(hole)
    y, w, inner = crop(hole_box, x @ LUMA, hole.astype(np.float64), inner)
    size = 2 * int(math.ceil(4 * GRID_BLUR_SIGMA)) + 1
    g = cv2.getGaussianKernel(size, GRID_BLUR_SIGMA, cv2.CV_64F)

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(a, cv2.CV_64F, g, g, borderType=cv2.BORDER_CONSTANT)

    h = y - blur(y * w) / np.maximum(blur(w), 1e-12)  # (h, w) fine detail
    # 2. On the interior only, zero-mean there, cut to its box.
    h = np.where(inner, h - h[inner].mean(), 0.0)
    h, inner = crop(bbox(inner), h, inner)
    if float(np.sqrt(np.mean(h[inner] ** 2))) < _GRID_MIN_RMS:
        return []
    # 3. Per axis: the power on each vertical (horizontal) frequency line.
    out = []
    for a in (h, h.T):  # lines along x, then along y
        n = a.shape[1]
        if n < GRID_MIN_SIDE:
            continue
        big_n = 4 * math.ceil(n / 4)
        power = (np.abs(np.fft.rfft(a, n=big_n, axis=1)) ** 2).sum(axis=0)  # (N/2 + 1,)
        out.append((power, big_n))
    return out


def texture_metrics(pred: object, target: object, mask: object) -> dict[str, float]:
    """:func:`hole_detail`, :func:`colour_detail`, :func:`grid_peaks` and :func:`stripe_peak`
    of one completed image.

    Returns:
        ``{"detail", "colour_detail", "grid_peak_4", "grid_peak_2", "stripe_peak"}``
        (:data:`glcic.options.TEXTURE_METRICS`), each a float or ``NaN`` (see the functions).
    """
    p, t = pair(pred, target)  # convert once
    spectra = _line_spectra(p, mask, "grid peaks are")  # once for both spectral measures
    peaks = _grid_peaks(spectra)
    return {
        "detail": hole_detail(p, t, mask),
        "colour_detail": colour_detail(p, t, mask),
        **{f"grid_peak_{period}": peaks[period] for period in GRID_PERIODS},
        "stripe_peak": _stripe_peak(spectra),
    }
