"""Tests for glcic/classical.py: the classical inpainting baselines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from glcic.classical import (
    CLASSICAL_METHODS,
    METHOD_FUNCTIONS,
    check_image_and_mask,
    inpaint_classical,
    inpaint_fsr,
    inpaint_mean,
    inpaint_telea,
)
from glcic.errors import InputError

H, W = 48, 64


def smooth_image(h: int = H, w: int = W) -> np.ndarray:
    """A smooth RGB uint8 (h, w, 3) image: ramps and slow waves."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack(
        [
            40 + 2.0 * xx,
            30 + 2.5 * yy,
            128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 11.0),
        ],
        axis=-1,
    )
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def rect_mask(y0: int, y1: int, x0: int, x1: int, h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.mark.parametrize("name", sorted(CLASSICAL_METHODS))
def test_outside_hole_untouched_and_same_size(name: str) -> None:
    img = smooth_image()
    mask = rect_mask(16, 28, 20, 34)
    out = inpaint_classical(name, img, mask)
    assert out.dtype == np.uint8
    assert out.shape == img.shape
    np.testing.assert_array_equal(out[~mask], img[~mask])
    assert out is not img


@pytest.mark.parametrize("name", sorted(CLASSICAL_METHODS))
def test_uint8_mask_any_nonzero_is_hole(name: str) -> None:
    img = smooth_image()
    hole = rect_mask(16, 28, 20, 34)
    out_bool = inpaint_classical(name, img, hole)
    out_255 = inpaint_classical(name, img, hole.astype(np.uint8) * 255)
    out_1 = inpaint_classical(name, img, hole.astype(np.uint8))
    np.testing.assert_array_equal(out_bool, out_255)
    np.testing.assert_array_equal(out_bool, out_1)


@pytest.mark.parametrize("name", sorted(CLASSICAL_METHODS))
def test_empty_mask_returns_copy(name: str) -> None:
    img = smooth_image()
    out = inpaint_classical(name, img, np.zeros((H, W), bool))
    np.testing.assert_array_equal(out, img)
    assert out is not img


@pytest.mark.parametrize("name", ["telea", "ns", "biharmonic", "fsr"])
def test_full_cover_mask_has_nothing_to_propagate(name: str) -> None:
    with pytest.raises(InputError, match="covers the whole image; there are no known pixels"):
        inpaint_classical(name, smooth_image(), np.ones((H, W), bool))


def test_mean_full_cover_needs_explicit_fill() -> None:
    full = np.ones((H, W), bool)
    with pytest.raises(InputError, match=r"no known pixels to average; pass an explicit fill"):
        inpaint_mean(smooth_image(), full)
    out = inpaint_mean(smooth_image(), full, fill=(1.0, 0.5, 0.0))
    assert (out == np.array([255, 128, 0], np.uint8)).all()


def test_mean_fill_is_known_pixel_mean() -> None:
    img = smooth_image()
    mask = rect_mask(10, 20, 10, 30)
    out = inpaint_mean(img, mask)
    expected = np.round(img[~mask].astype(np.float64).mean(axis=0)).astype(np.uint8)
    assert (out[mask] == expected).all()


@pytest.mark.parametrize("fill", [(0.5, 0.5), (0.0, 0.5, 1.5), (128, 128, 128), "grey"])
def test_mean_bad_fill(fill: object) -> None:
    with pytest.raises(InputError, match=r"fill must be three numbers \(R, G, B\) in \[0, 1\]"):
        inpaint_mean(smooth_image(), rect_mask(0, 4, 0, 4), fill=fill)  # type: ignore[arg-type]


def test_unknown_method_lists_known_ones() -> None:
    with pytest.raises(
        InputError,
        match=r"unknown classical inpainting method 'patchmatch'; "
        r"known methods: biharmonic, fsr, mean, ns, telea",
    ):
        inpaint_classical("patchmatch", smooth_image(), rect_mask(0, 4, 0, 4))


def test_registry_names() -> None:
    assert set(CLASSICAL_METHODS) == {"telea", "ns", "biharmonic", "mean", "fsr"}
    assert tuple(METHOD_FUNCTIONS) == CLASSICAL_METHODS  # one function per name in glcic.options


def test_shape_mismatch() -> None:
    with pytest.raises(InputError, match=r"mask shape \(48, 63\) does not match the image size"):
        inpaint_telea(smooth_image(), np.zeros((H, W - 1), bool))


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (
            smooth_image().astype(np.float32) / 255,
            r"dtype uint8; got float32; if it holds \[0, 1\]",
        ),
        (smooth_image()[:, :, 0], r"shape \(H, W, 3\) RGB; got \(48, 64\); a grayscale image"),
        (np.zeros((H, W, 4), np.uint8), r"got \(48, 64, 4\); drop alpha"),
        ([[0, 0, 0]], "numpy uint8 array of shape"),
    ],
)
def test_bad_image(image: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        inpaint_telea(image, np.zeros((H, W), bool))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (np.zeros((H, W), np.float32), r"dtype bool or uint8 \(non-zero = hole\); got float32"),
        (np.zeros((H, W, 1), bool), r"shape \(H, W\); got \(48, 64, 1\); take one channel"),
    ],
)
def test_bad_mask(mask: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match):
        check_image_and_mask(smooth_image(), mask)


@pytest.mark.parametrize("radius", [0, -1, "3"])
def test_bad_radius(radius: object) -> None:
    with pytest.raises(InputError, match="radius must be a positive number"):
        inpaint_telea(smooth_image(), rect_mask(0, 4, 0, 4), radius=radius)  # type: ignore[arg-type]


def test_rgb_channels_stay_in_place() -> None:
    """A pure-red image stays red: no BGR swap leaks out of the OpenCV call."""
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = 200
    for name in ("telea", "ns", "fsr"):
        out = inpaint_classical(name, img, rect_mask(10, 20, 10, 20))
        # Telea's weights make a flat colour come back within a level or two.
        assert np.abs(out[..., 0].astype(int) - 200).max() <= 3, name
        assert (out[..., 1:] == 0).all(), name


def _hole_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    mse = np.mean((a[mask].astype(np.float64) - b[mask].astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_telea_beats_mean_fill_on_smooth_image() -> None:
    img = smooth_image()
    mask = rect_mask(14, 30, 18, 40)
    telea = _hole_psnr(inpaint_telea(img, mask), img, mask)
    mean = _hole_psnr(inpaint_mean(img, mask), img, mask)
    assert telea > mean + 6.0, (telea, mean)  # 4x lower MSE; measured ~9 dB
    assert telea > 30.0


def test_biharmonic_is_accurate_on_smooth_image() -> None:
    img = smooth_image()
    mask = rect_mask(14, 26, 18, 32)
    out = inpaint_classical("biharmonic", img, mask)
    assert _hole_psnr(out, img, mask) > 35.0


def test_fsr_is_the_library_call_it_wraps() -> None:
    """inpaint_fsr == cv2.xphoto.inpaint(FSR_FAST) on BGR with the mask inverted (xphoto:
    non-zero = known), inside the hole; the input outside it."""
    img = smooth_image()
    img[20:30, 5:60] = (200, 30, 90)  # an edge to carry into the hole
    hole = rect_mask(14, 30, 18, 40)
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    expected = np.zeros_like(bgr)
    cv2.xphoto.inpaint(bgr, (~hole).astype(np.uint8) * 255, expected, cv2.xphoto.INPAINT_FSR_FAST)
    expected = cv2.cvtColor(expected, cv2.COLOR_BGR2RGB)
    out = inpaint_fsr(img, hole)
    np.testing.assert_array_equal(out[hole], expected[hole])
    np.testing.assert_array_equal(out[~hole], img[~hole])  # xphoto rewrites some; we do not
    assert _hole_psnr(out, img, hole) > _hole_psnr(inpaint_mean(img, hole), img, hole) + 6.0
