"""Tests for glcic/metrics.py: parity with scikit-image, the hole metrics, all_metrics, and
the re-export of the texture measures (tested in tests/test_texture.py)."""

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
    hole_l1,
    hole_psnr,
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
    assert out["detail"] < 0.2 and math.isnan(out["grid_peak_4"]) and math.isnan(out["stripe_peak"])
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


# --- the texture measures, re-exported from glcic.texture ---------------------------


def test_metrics_re_exports_every_texture_name() -> None:
    """``from glcic.metrics import hole_detail`` (and the rest) keeps working after the split."""
    import glcic.metrics
    import glcic.texture

    for name in glcic.texture.__all__:
        assert name in glcic.metrics.__all__, name
        assert getattr(glcic.metrics, name) is getattr(glcic.texture, name), name
