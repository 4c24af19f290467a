"""Tests for glcic/classical/: the classical inpainting baselines."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

import glcic.classical.patchmatch as patchmatch_module
from glcic.classical import (
    CLASSICAL_METHODS,
    METHOD_FUNCTIONS,
    PATCHMATCH_PATCH_SIZE,
    available_methods,
    check_image_and_mask,
    inpaint_classical,
    inpaint_fsr,
    inpaint_mean,
    inpaint_patchmatch,
    inpaint_telea,
    unavailable_methods,
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


@pytest.mark.parametrize("name", ["telea", "ns", "biharmonic", "fsr", "patchmatch"])
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
        match=r"unknown classical inpainting method 'lama'; "
        r"known methods: biharmonic, fsr, mean, ns, patchmatch, telea",
    ):
        inpaint_classical("lama", smooth_image(), rect_mask(0, 4, 0, 4))


def test_registry_names() -> None:
    assert set(CLASSICAL_METHODS) == {"telea", "ns", "biharmonic", "mean", "fsr", "patchmatch"}
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
    for name in ("telea", "ns", "fsr", "patchmatch"):
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


# --- patchmatch -------------------------------------------------------------------


def photo() -> np.ndarray:
    """A real photograph: a 96x128 crop of scikit-image's cat, uint8 RGB."""
    from skimage.data import chelsea

    return np.ascontiguousarray(chelsea()[100:196, 150:278])


def test_patchmatch_is_the_library_call_it_wraps() -> None:
    """The hole is PyPatchMatch's ``inpaint`` (7x7 patches); the library keeps the known
    pixels itself, and so do we; the same input gives the same output."""
    from patchmatch import patch_match

    img = photo()
    hole = rect_mask(30, 60, 40, 90, *img.shape[:2])
    raw = patch_match.inpaint(img, hole.astype(np.uint8) * 255, patch_size=PATCHMATCH_PATCH_SIZE)
    np.testing.assert_array_equal(raw[~hole], img[~hole])  # its own convention: non-zero = hole
    out = inpaint_patchmatch(img, hole)
    np.testing.assert_array_equal(out, raw)
    np.testing.assert_array_equal(inpaint_patchmatch(img, hole), out)  # deterministic
    # What is in the hole does not matter: a white hole (what the pipeline sends) gives the same.
    np.testing.assert_array_equal(inpaint_patchmatch(np.where(hole[..., None], 255, img).astype(np.uint8), hole), out)


def test_patchmatch_paints_texture_where_telea_blurs() -> None:
    from glcic.metrics import hole_detail

    img = photo()
    hole = rect_mask(25, 70, 30, 100, *img.shape[:2])
    assert hole_detail(inpaint_patchmatch(img, hole), img, hole) > 0.6
    assert hole_detail(inpaint_telea(img, hole), img, hole) < 0.4


@pytest.mark.parametrize("patch_size", [0, -2, 2.5, True, "3"])
def test_patchmatch_bad_patch_size(patch_size: object) -> None:
    with pytest.raises(InputError, match="patch_size must be a positive integer"):
        inpaint_patchmatch(smooth_image(), rect_mask(10, 20, 10, 20), patch_size=patch_size)  # type: ignore[arg-type]


@pytest.fixture
def fresh_patchmatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget the loaded PyPatchMatch before and after the test, and let it import again."""
    for name in ("patchmatch", "patchmatch.patch_match"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    patchmatch_module._library.cache_clear()
    yield
    patchmatch_module._library.cache_clear()


def fake_patchmatch(root: Path, body: str) -> None:
    """A package ``patchmatch`` under ``root`` whose ``patch_match`` module runs ``body``."""
    pkg = root / "patchmatch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "patch_match.py").write_text("import logging\nlogger = logging.getLogger(__name__)\n" + body)


def assert_unavailable(match: str, capsys: pytest.CaptureFixture[str]) -> None:
    """patchmatch cannot run, says why, and every other method still can."""
    assert "patchmatch" not in available_methods()
    assert set(available_methods()) == set(CLASSICAL_METHODS) - {"patchmatch"}
    assert list(unavailable_methods()) == ["patchmatch"]
    assert match in unavailable_methods()["patchmatch"]
    with pytest.raises(InputError, match=r"^method patchmatch cannot run here: .*" + re.escape(match)):
        inpaint_classical("patchmatch", smooth_image(), rect_mask(10, 20, 10, 20))
    out = inpaint_classical("telea", smooth_image(), rect_mask(10, 20, 10, 20))
    assert out.shape == (H, W, 3)
    assert capsys.readouterr().err == ""  # the package's own warning is ours, not a second line


def test_patchmatch_available_here() -> None:
    assert "patchmatch" in available_methods()
    assert unavailable_methods() == {}


@pytest.mark.usefixtures("fresh_patchmatch")
def test_patchmatch_not_installed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "patchmatch", None)  # import patchmatch -> ImportError
    assert_unavailable("PyPatchMatch is not installed", capsys)


@pytest.mark.usefixtures("fresh_patchmatch")
def test_patchmatch_library_that_does_not_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As PyPatchMatch does when its .so is missing: it logs a warning and sets the flag False."""
    fake_patchmatch(
        tmp_path,
        "logger.warning('patchmatch failed to load: %s', 'libpatchmatch.so not found')\n"
        "patchmatch_available = False\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert_unavailable("native library did not load (patchmatch failed to load: libpatchmatch.so not found)", capsys)
    assert "pip install --force-reinstall" in unavailable_methods()["patchmatch"]


@pytest.mark.usefixtures("fresh_patchmatch")
def test_patchmatch_broken_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A library that loads but fails when called is found out before any real work."""
    fake_patchmatch(
        tmp_path,
        "patchmatch_available = True\n"
        "def inpaint(image, mask, patch_size=15):\n"
        "    raise OSError('undefined symbol: PM_inpaint')\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert_unavailable("native library is broken (OSError: undefined symbol: PM_inpaint)", capsys)


def test_patchmatch_call_that_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(image: np.ndarray, mask: np.ndarray, patch_size: int) -> np.ndarray:
        raise RuntimeError("patchmatch failed: out of memory")

    monkeypatch.setattr(patchmatch_module, "_library", lambda: (failing, ""))
    with pytest.raises(InputError, match="^method patchmatch failed: patchmatch failed: out of memory; reinstall"):
        inpaint_patchmatch(smooth_image(), rect_mask(10, 20, 10, 20))


def test_cli_patchmatch_missing_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    from glcic.cli import main

    Image.fromarray(smooth_image()).save(tmp_path / "in.png")
    Image.fromarray(rect_mask(10, 20, 10, 20).astype(np.uint8) * 255).save(tmp_path / "mask.png")
    monkeypatch.setattr(patchmatch_module, "_library", lambda: (None, "PyPatchMatch is not installed (test)"))
    argv = ["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
            "--method", "patchmatch", "--output", str(tmp_path / "out.png")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["glcic inpaint: error: method patchmatch cannot run here: PyPatchMatch is not installed (test)"]
    assert not (tmp_path / "out.png").exists()
    # Installed, the same command works.
    monkeypatch.undo()
    assert main(argv) == 0
    out = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    assert out.shape == (H, W, 3)
