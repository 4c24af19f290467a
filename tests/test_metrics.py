"""Tests for glcic/metrics.py: parity with scikit-image, the hole metrics, and the texture
measures (hole detail ratio, grid peaks)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from glcic.errors import InputError
from glcic.metrics import (
    METRIC_NAMES,
    all_metrics,
    colour_detail,
    grid_peaks,
    hole_detail,
    hole_interior,
    hole_l1,
    hole_psnr,
    luminance,
    mean_finite,
    psnr,
    ssim,
    texture_metrics,
)
from glcic.options import METRICS, TEXTURE_METRICS

H, W = 40, 56


def random_pair(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((H, W, 3)), rng.random((H, W, 3))


@pytest.fixture(scope="module")
def photo_pair() -> tuple[np.ndarray, np.ndarray]:
    """A real photograph crop (uint8) and a plausibly degraded copy of it."""
    from skimage.data import chelsea

    target = np.ascontiguousarray(chelsea()[100:196, 150:278])  # (96, 128, 3) uint8
    rng = np.random.default_rng(3)
    noisy = target.astype(np.float64) + rng.normal(0, 12, target.shape)
    noisy[30:60, 40:90] = noisy[30:60, 40:90].mean(axis=(0, 1))  # a flat "fill"
    pred = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    return pred, target


def hole_mask(h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[10:25, 12:40] = True
    return m


# --- parity with scikit-image ------------------------------------------------------


def test_psnr_matches_skimage_random() -> None:
    pred, target = random_pair()
    ref = peak_signal_noise_ratio(target, pred, data_range=1.0)
    assert psnr(pred, target) == pytest.approx(ref, abs=1e-6)


def test_ssim_matches_skimage_random() -> None:
    pred, target = random_pair(1)
    ref = structural_similarity(pred, target, channel_axis=-1, data_range=1.0)
    assert ssim(pred, target) == pytest.approx(ref, abs=1e-4)


def test_psnr_and_ssim_match_skimage_on_a_photo(photo_pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred8, target8 = photo_pair
    pred, target = pred8 / 255.0, target8 / 255.0
    ref_psnr = peak_signal_noise_ratio(target, pred, data_range=1.0)
    ref_ssim = structural_similarity(pred, target, channel_axis=-1, data_range=1.0)
    assert 15.0 < ref_psnr < 35.0 and 0.2 < ref_ssim < 0.95  # a realistic, non-trivial pair
    # float numpy, uint8 numpy and torch CHW all give the reference numbers.
    as_torch = [torch.from_numpy(x).permute(2, 0, 1) for x in (pred, target)]
    for p, t in [(pred, target), (pred8, target8), as_torch, (pred8, target)]:
        assert psnr(p, t) == pytest.approx(ref_psnr, abs=1e-6)
        assert ssim(p, t) == pytest.approx(ref_ssim, abs=1e-4)


def test_torch_batch_of_one_and_float32() -> None:
    pred, target = random_pair(2)
    ref = peak_signal_noise_ratio(target, pred, data_range=1.0)
    p = torch.from_numpy(pred).permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    t = torch.from_numpy(target).permute(2, 0, 1)[None].float()
    assert psnr(p, t) == pytest.approx(ref, abs=1e-4)  # float32 rounding of the inputs


# --- hole metrics ------------------------------------------------------------------


def test_hole_psnr_by_hand() -> None:
    pred, target = random_pair(4)
    mask = hole_mask()
    mse = np.mean((pred[mask] - target[mask]) ** 2)  # over hole pixels and all channels
    assert hole_psnr(pred, target, mask) == pytest.approx(10 * np.log10(1.0 / mse), abs=1e-9)
    # Pixels outside the hole do not count.
    pred2 = pred.copy()
    pred2[~mask] = 1.0 - target[~mask]
    assert hole_psnr(pred2, target, mask) == pytest.approx(hole_psnr(pred, target, mask))


def test_hole_l1_by_hand() -> None:
    pred, target = random_pair(5)
    mask = hole_mask()
    expected = np.abs(pred[mask] - target[mask]).mean()
    assert hole_l1(pred, target, mask) == pytest.approx(expected, abs=1e-12)
    assert hole_l1(pred, target, mask.astype(np.uint8) * 255) == pytest.approx(expected)
    as_torch = torch.from_numpy(mask.astype(np.float32))[None, None]  # (1, 1, H, W) 0/1
    assert hole_l1(pred, target, as_torch) == pytest.approx(expected)


def test_all_metrics(photo_pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, target = photo_pair
    mask = np.zeros(pred.shape[:2], bool)
    mask[30:60, 40:90] = True
    out = all_metrics(pred, target, mask)
    assert tuple(out) == METRIC_NAMES == (*METRICS, *TEXTURE_METRICS)
    assert {k: out[k] for k in TEXTURE_METRICS} == pytest.approx(
        texture_metrics(pred, target, mask), nan_ok=True
    )
    # The hole's inside is one flat colour (noise only near its edge): no detail, no pattern.
    assert out["detail"] < 0.2 and math.isnan(out["grid_peak_4"])
    assert out["psnr"] == pytest.approx(psnr(pred, target))
    assert out["ssim"] == pytest.approx(ssim(pred, target))
    assert out["hole_psnr"] == pytest.approx(hole_psnr(pred, target, mask))
    assert out["hole_l1"] == pytest.approx(hole_l1(pred, target, mask))
    assert all(isinstance(v, float) for v in out.values())
    assert out["hole_psnr"] < out["psnr"]  # the flat fill is the worst part


# --- identical images and averaging ------------------------------------------------


def test_identical_images_give_inf() -> None:
    x, _ = random_pair()
    assert psnr(x, x) == math.inf
    assert hole_psnr(x, x, hole_mask()) == math.inf
    assert ssim(x, x) == pytest.approx(1.0)
    assert hole_l1(x, x, hole_mask()) == 0.0


def test_mean_finite() -> None:
    assert mean_finite([20.0, math.inf, 30.0]) == pytest.approx(25.0)
    assert mean_finite([math.inf, math.inf]) == math.inf
    assert mean_finite(iter([10.0])) == 10.0
    with pytest.raises(InputError, match="got no values"):
        mean_finite([])
    with pytest.raises(InputError, match=r"1 NaN or -inf value\(s\)"):
        mean_finite([20.0, math.nan])


# --- errors ------------------------------------------------------------------------


def test_empty_mask() -> None:
    pred, target = random_pair()
    empty = np.zeros((H, W), bool)
    for fn in (hole_psnr, hole_l1, all_metrics):
        with pytest.raises(InputError, match="the mask has no hole pixels"):
            fn(pred, target, empty)


def test_shape_mismatch() -> None:
    pred, target = random_pair()
    with pytest.raises(InputError, match=r"pred and target differ in size: \(40, 56, 3\) vs"):
        psnr(pred, target[:, :-1])
    with pytest.raises(InputError, match=r"mask size \(40, 55\) does not match the image size"):
        hole_l1(pred, target, np.ones((H, W - 1), bool))


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((3, H, W)), r"expected an \(H, W, 3\) array; got \(3, 40, 56\); numpy images"),
        (torch.zeros(H, W, 3), r"expected a \(3, H, W\) tensor; got \(40, 56, 3\); torch images"),
        (torch.zeros(2, 3, H, W), "one image at a time; loop over the batch"),
        (np.full((H, W, 3), 255.0), r"must lie in \[0, 1\]; got values in \[255, 255\]"),
        (np.full((H, W, 3), -0.5), r"map \[-1, 1\] outputs with \(x \+ 1\) / 2"),
        (np.zeros((H, W, 3), np.int32), "expected a float array in"),
        (np.full((H, W, 3), np.nan), "NaN or inf"),
        ([[0.0]], "expected a numpy array"),
    ],
)
def test_bad_image(image: object, match: str) -> None:
    _, target = random_pair()
    with pytest.raises(InputError, match=match):
        psnr(image, target)


def test_bad_mask_values() -> None:
    pred, target = random_pair()
    with pytest.raises(InputError, match=r"only 0 and 1 \(1 = hole\); binarize it with mask > 0.5"):
        hole_l1(pred, target, np.full((H, W), 0.5))


def test_ssim_too_small() -> None:
    x = np.zeros((6, 30, 3))
    with pytest.raises(InputError, match="7x7 window"):
        ssim(x, x)


# --- texture: hole detail, colour detail and grid peaks -------------------------------------------


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


def test_texture_metrics_take_torch_and_float() -> None:
    t = photo_squares()[1]
    m = box()
    want = texture_metrics(t, t, m)
    as_torch = torch.from_numpy(t).permute(2, 0, 1)
    got = texture_metrics(as_torch, t / 255.0, torch.from_numpy(m)[None])
    assert tuple(got) == TEXTURE_METRICS
    assert got == pytest.approx(want)
