"""Tests for glcic/texture.py: the hole detail ratio of the luma and of the chroma, the hole's
interior, the grid peaks and the stripe peak."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from glcic.errors import InputError
from glcic.options import TEXTURE_METRICS
from glcic.texture import (
    colour_detail,
    grid_peaks,
    hole_detail,
    hole_interior,
    luminance,
    stripe_peak,
    texture_metrics,
)


def photo_squares() -> list[np.ndarray]:
    """Real photographs (scikit-image's bundled ones), centre square, 128x128 uint8."""
    import cv2
    from skimage import data

    out = []
    for name in ("chelsea", "astronaut", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field"):
        img = getattr(data, name)()[..., :3]
        h, w = img.shape[:2]
        s = min(h, w)
        sq = np.ascontiguousarray(img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s])
        out.append(cv2.resize(sq, (128, 128), interpolation=cv2.INTER_AREA))  # as glcic.data.preprocess
    return out


def box(h: int = 128, w: int = 128, y: tuple[int, int] = (40, 88), x: tuple[int, int] = (36, 92)) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y[0] : y[1], x[0] : x[1]] = True
    return m


def filled(target: np.ndarray, mask: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """``target`` with ``fill`` in the hole, as uint8 (H, W, 3)."""
    return np.where(mask[..., None], np.clip(np.round(fill), 0, 255), target).astype(np.uint8)


def stripes(period: int, amplitude: float, shape: tuple[int, int] = (128, 128)) -> np.ndarray:
    """A square wave along x of ``period`` px and +-``amplitude`` levels, (H, W, 1)."""
    xx = np.arange(shape[1])[None, :, None]
    return np.where(xx % period < period // 2, amplitude, -amplitude) * np.ones((shape[0], 1, 1))


def test_luminance_is_bt601() -> None:
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = (255, 0, 0)
    img[0, 1] = (0, 255, 0)
    img[1, 0] = (0, 0, 255)
    img[1, 1] = (255, 255, 255)
    np.testing.assert_allclose(luminance(img), [[0.299, 0.587], [0.114, 1.0]])


def test_hole_interior_erodes_three_pixels_and_the_image_border() -> None:
    m = box(64, 64, (10, 30), (20, 50))  # 20 x 30
    inner = hole_interior(m)
    ys, xs = np.nonzero(inner)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (13, 26, 23, 46)  # 3 px off each side
    edge = box(64, 64, (0, 20), (0, 64))  # touches three image borders
    ys, xs = np.nonzero(hole_interior(edge))
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (3, 16, 3, 60)
    assert not hole_interior(box(64, 64, (10, 16), (0, 64))).any()  # 6 px thin: no interior


def test_detail_by_hand_on_ramps() -> None:
    """Forward differences of the luma: a ramp of slope 2a against a ramp of slope a reads 2."""
    xx = np.broadcast_to(np.arange(64)[None, :, None], (64, 64, 3)).astype(np.float64)
    target = 0.1 + 0.004 * xx  # luma slope 0.004 / px (> 1/255), in [0, 1]
    pred = 0.1 + 0.008 * xx
    m = box(64, 64, (10, 50), (10, 50))
    assert hole_detail(pred, target, m) == pytest.approx(2.0)
    diagonal = 0.1 + 0.004 * (xx + xx.transpose(1, 0, 2))  # |grad| = 0.004 * sqrt(2)
    assert hole_detail(diagonal, target, m) == pytest.approx(math.sqrt(2))
    # Known pixels, even next to the hole, do not count: only the interior does.
    noisy_outside = np.where(m[..., None], pred, np.random.default_rng(0).random((64, 64, 3)))
    assert hole_detail(noisy_outside, target, m) == pytest.approx(2.0)


def test_detail_reads_one_for_the_photo_zero_for_flat_and_low_for_blur() -> None:
    import cv2

    m = box()
    for target in photo_squares()[:3]:
        assert hole_detail(target, target, m) == pytest.approx(1.0)
        flat = filled(target, m, target[m].mean(axis=0))
        assert hole_detail(flat, target, m) == 0.0
        blurred = filled(target, m, cv2.GaussianBlur(target, (0, 0), 2.0))
        assert 0.05 < hole_detail(blurred, target, m) < 0.5
        # Its limit: noise raises it as much as texture does (hence the grid peaks, PSNR, a picture).
        noise = np.random.default_rng(1).normal(0, 20, target.shape)
        assert hole_detail(filled(target, m, target + noise), target, m) > 1.2


def test_detail_is_nan_without_an_interior_or_on_a_flat_photo() -> None:
    target = photo_squares()[0]
    assert math.isnan(hole_detail(target, target, box(y=(40, 46))))  # 6 px tall: no interior
    assert math.isnan(hole_detail(target, target, box(y=(40, 48), x=(40, 48))))  # 2x2 interior
    grey = np.full((128, 128, 3), 120, np.uint8)
    assert math.isnan(hole_detail(target, grey, box()))  # nothing to compare the fill with
    with pytest.raises(InputError, match="the mask has no hole pixels"):
        hole_detail(target, target, np.zeros((128, 128), bool))


def colour_stripes(shape: tuple[int, int] = (128, 128)) -> np.ndarray:
    """Stripes in colour only, +-8 levels: magenta / green of period 3 px along x plus blue /
    orange of period 5 px along y, both of zero luma (BT.601), (H, W, 3) levels."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    magenta = np.array([1.0, -(0.299 + 0.114) / 0.587, 1.0])  # 0.299 R + 0.587 G + 0.114 B = 0
    blue = np.array([-1.0, (0.299 - 0.114) / 0.587, 1.0])
    s3 = np.array([1.0, -1.0, 0.0])[xx % 3][..., None]
    s5 = np.array([1.0, 1.0, -1.0, -1.0, 0.0])[yy % 5][..., None]
    return 8.0 * (s3 * magenta + s5 * blue)


def test_colour_detail_one_for_the_photo_zero_for_gray_and_high_for_false_colour() -> None:
    m = box()
    for target in photo_squares():
        assert colour_detail(target, target, m) == pytest.approx(1.0)
        # The photo's own luma in the hole, gray: as much detail, no colour at all.
        gray = filled(target, m, np.repeat(luminance(target)[..., None] * 255.0, 3, axis=-1))
        assert hole_detail(gray, target, m) == pytest.approx(1.0, abs=0.01)
        assert colour_detail(gray, target, m) < 1e-6
        # Coloured stripes of equal luma: the luma measures barely move, colour detail jumps.
        striped = filled(target, m, target + colour_stripes())
        assert hole_detail(striped, target, m) == pytest.approx(1.0, abs=0.02)
        assert colour_detail(striped, target, m) > 2.0


def test_colour_detail_by_hand_on_a_chroma_ramp() -> None:
    """A ramp in R and B of equal luma and twice the slope reads 2 (luma detail NaN: flat)."""
    xx = np.broadcast_to(np.arange(64)[None, :], (64, 64)).astype(np.float64)
    v = np.array([1.0, 0.0, -0.299 / 0.114])  # no luma
    base = np.array([0.1, 0.5, 0.9])
    target = base + 0.002 * xx[..., None] * v  # chroma slope 0.002 |(Cb, Cr) of v| = 0.0033 / px
    pred = base + 0.004 * xx[..., None] * v  # in [0, 1]: R up to 0.35, B down to 0.24
    m = box(64, 64, (10, 50), (10, 50))
    assert colour_detail(pred, target, m) == pytest.approx(2.0)
    assert math.isnan(hole_detail(pred, target, m))


def test_colour_detail_ignores_the_known_pixels() -> None:
    m = box()
    t = photo_squares()[0]
    striped_around = filled(t, ~m, t + colour_stripes() * 4)  # 32 levels, up to the hole's edge
    fill = filled(t, m, t + colour_stripes())
    both = np.where(m[..., None], fill, striped_around)
    assert colour_detail(both, t, m) == pytest.approx(colour_detail(fill, t, m))


def test_colour_detail_nan_on_a_gray_photo_or_without_an_interior() -> None:
    t = photo_squares()[0]
    gray = np.repeat(np.round(luminance(t) * 255.0).astype(np.uint8)[..., None], 3, axis=-1)
    assert math.isfinite(hole_detail(t, gray, box()))  # texture in the luma ...
    assert math.isnan(colour_detail(t, gray, box()))  # ... and none in the colour
    assert math.isnan(colour_detail(t, t, box(y=(40, 46))))  # 6 px tall: no interior
    with pytest.raises(InputError, match="the mask has no hole pixels"):
        colour_detail(t, t, np.zeros((128, 128), bool))


def test_grid_peaks_near_one_on_photos_and_high_on_stripes() -> None:
    m = box()
    photos = photo_squares()
    for p in (4, 2):
        vals = [grid_peaks(t, m)[p] for t in photos]
        assert 0.2 < min(vals) and max(vals) < 1.5, vals  # one photo varies ...
        assert 0.75 < float(np.median(vals)) < 1.15, vals  # ... their median is about 1
    for t in photos:
        four = grid_peaks(filled(t, m, t + stripes(4, 8)), m)
        assert four[4] > 2.0, four  # the decoder's 4 px pattern, 8 levels
        assert four[2] < 1.5, four  # a square wave of period 4 has no 2 px component
        two = grid_peaks(filled(t, m, t + stripes(2, 8)), m)
        assert two[2] > 2.0, two
    # Vertical stripes (a pattern along y) count as much as horizontal ones.
    t = photos[0]
    along_y = grid_peaks(filled(t, m, t + stripes(4, 8).transpose(1, 0, 2)), m)[4]
    assert along_y > 2.0


def test_grid_peaks_of_white_noise_is_about_one() -> None:
    rng = np.random.default_rng(0)
    vals = []
    for _ in range(20):
        img = (rng.random((128, 128, 3)) * 255).astype(np.uint8)
        peaks = grid_peaks(img, box())
        vals.append((peaks[4], peaks[2]))
    assert np.median(vals, axis=0) == pytest.approx([1.0, 1.0], abs=0.15)


def test_grid_peaks_ignore_the_known_pixels() -> None:
    """Stripes outside the hole, even at its edge, do not count."""
    m = box()
    t = photo_squares()[0]
    striped_around = np.where(m[..., None], t, np.clip(t + stripes(4, 30), 0, 255)).astype(np.uint8)
    assert grid_peaks(striped_around, m) == pytest.approx(grid_peaks(t, m))


def test_grid_peaks_nan_cases() -> None:
    t = photo_squares()[0]
    assert all(math.isnan(v) for v in grid_peaks(t, box(y=(40, 46))).values())  # no interior
    assert all(math.isnan(v) for v in grid_peaks(np.full((128, 128, 3), 90, np.uint8), box()).values())
    thin = box(y=(40, 60), x=(10, 120))  # 14 px tall interior: only the x axis is read
    assert all(math.isfinite(v) for v in grid_peaks(t, thin).values())


def blurred(target: np.ndarray) -> np.ndarray:
    """The photo's Gaussian blur (sigma 2 px), float levels: the fill of a blurry network."""
    import cv2

    return cv2.GaussianBlur(target.astype(np.float64), (0, 0), 2.0)


def test_stripe_peak_of_photos_blurs_and_noise_is_its_calibrated_level() -> None:
    """Without stripes, about 1.3-2.5 (docs/evaluation.md: the maximum over ~40 lines is biased up)."""
    m = box()
    photos = photo_squares()
    vals = [stripe_peak(t, m) for t in photos]
    assert 1.2 < min(vals) and max(vals) < 4.0, vals  # real structure (coffee's cup rim) varies ...
    assert 1.4 < float(np.median(vals)) < 2.5, vals  # ... a photo's median is about 1.7
    smooth = [stripe_peak(filled(t, m, blurred(t)), m) for t in photos]
    assert max(smooth) < 6.0, smooth
    rng = np.random.default_rng(0)
    noise = [stripe_peak((rng.random((128, 128, 3)) * 255).astype(np.uint8), m) for _ in range(20)]
    assert 1.2 < min(noise) and max(noise) < 1.8, noise
    assert float(np.median(noise)) == pytest.approx(1.4, abs=0.15)


def test_stripe_peak_high_on_stripes_of_any_period_that_grid_peaks_miss() -> None:
    """Stripes of +-4 levels over a blurry fill: 8 px apart, horizontal (a pattern along y), and
    12 px apart, vertical, which the grid peaks at 4 and 2 px do not see; 4 px still reads high."""
    m = box()
    for t in photo_squares():
        fill = blurred(t)
        plain = stripe_peak(filled(t, m, fill), m)
        horizontal = filled(t, m, fill + stripes(8, 4).transpose(1, 0, 2))
        assert stripe_peak(horizontal, m) > max(10.0, 2.5 * plain), (plain, stripe_peak(horizontal, m))
        assert max(grid_peaks(horizontal, m).values()) < 1.5  # the measure this one completes
        vertical = filled(t, m, fill + stripes(12, 4))
        assert stripe_peak(vertical, m) > max(15.0, 2.5 * plain), (plain, stripe_peak(vertical, m))
        four = filled(t, m, fill + stripes(4, 4))
        assert stripe_peak(four, m) > 100.0
        assert stripe_peak(four, m) >= max(grid_peaks(four, m).values())  # it takes the 4 px lines too
    # Over a photo's own texture stripes stand out less (docs/evaluation.md), yet still far above it.
    t = photo_squares()[0]
    assert stripe_peak(filled(t, m, t + stripes(4, 8)), m) > 5 * stripe_peak(t, m)


def test_stripe_peak_ignores_the_known_pixels_and_shares_texture_metrics() -> None:
    m = box()
    t = photo_squares()[0]
    striped_around = np.where(m[..., None], t, np.clip(t + stripes(8, 30), 0, 255)).astype(np.uint8)
    assert stripe_peak(striped_around, m) == stripe_peak(t, m)
    striped = filled(t, m, blurred(t) + stripes(12, 4))
    assert texture_metrics(striped, t, m)["stripe_peak"] == stripe_peak(striped, m)


def test_stripe_peak_nan_cases_and_bad_input() -> None:
    t = photo_squares()[0]
    assert math.isnan(stripe_peak(t, box(y=(40, 46))))  # no interior
    assert math.isnan(stripe_peak(np.full((128, 128, 3), 90, np.uint8), box()))  # flat fill
    assert math.isnan(stripe_peak(t, box(y=(40, 61), x=(40, 61))))  # 15 x 15 interior: no axis
    thin = box(y=(40, 60), x=(10, 120))  # 14 px tall interior: only the x axis is read
    assert math.isfinite(stripe_peak(t, thin))
    vertical = filled(t, thin, blurred(t) + stripes(8, 4))  # a pattern along x: the axis read
    assert stripe_peak(vertical, thin) > 10.0
    with pytest.raises(InputError, match="the mask has no hole pixels, so the stripe peak is undefined"):
        stripe_peak(t, np.zeros((128, 128), bool))
    with pytest.raises(InputError, match=r"expected an \(H, W, 3\) array"):
        stripe_peak(t[..., 0], box())
    with pytest.raises(InputError, match="does not match the image size"):
        stripe_peak(t, box(64, 64))


def test_texture_metrics_take_torch_and_float() -> None:
    t = photo_squares()[1]
    m = box()
    want = texture_metrics(t, t, m)
    as_torch = torch.from_numpy(t).permute(2, 0, 1)
    got = texture_metrics(as_torch, t / 255.0, torch.from_numpy(m)[None])
    assert tuple(got) == TEXTURE_METRICS
    assert got == pytest.approx(want)
