"""glcic.io.modes: every PIL mode (gray, alpha, palette, CMYK, 16-bit, float) as 8-bit RGB."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from glcic.errors import InputError
from glcic.io import load_image, read_rgb
from tests.io.conftest import rgb_array, save_array


def test_grayscale_la_and_rgba(tmp_path: Path) -> None:
    g = rgb_array()[:, :, 0]
    a = rgb_array(seed=1)[:, :, 0]
    Image.fromarray(g).save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    assert loaded.mode == "L" and loaded.is_gray and loaded.alpha is None
    np.testing.assert_array_equal(loaded.rgb, np.repeat(g[:, :, None], 3, axis=2))
    Image.fromarray(np.dstack([g, a])).save(tmp_path / "la.png")
    loaded = load_image(tmp_path / "la.png")
    assert loaded.mode == "LA" and loaded.is_gray
    np.testing.assert_array_equal(loaded.alpha, a)
    rgba = np.dstack([rgb_array(), a])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    loaded = load_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(loaded.rgb, rgba[:, :, :3])  # colour under alpha is kept
    np.testing.assert_array_equal(loaded.alpha, a)


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    p = Image.fromarray(rgb_array()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    p.save(tmp_path / "p.png")
    loaded = load_image(tmp_path / "p.png")
    np.testing.assert_array_equal(loaded.rgb, np.asarray(p.convert("RGB")))
    assert loaded.alpha is None and loaded.mode == "P"
    p.info["transparency"] = 0
    p.save(tmp_path / "pt.png", transparency=0)
    loaded = load_image(tmp_path / "pt.png")
    idx = np.asarray(Image.open(tmp_path / "pt.png"))
    np.testing.assert_array_equal(loaded.alpha, np.where(idx == 0, 0, 255))


def test_cmyk(tmp_path: Path) -> None:
    cmyk = Image.fromarray(rgb_array()).convert("CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=100)
    loaded = load_image(tmp_path / "c.jpg")
    assert loaded.mode == "CMYK"
    np.testing.assert_array_equal(loaded.rgb, np.asarray(Image.open(tmp_path / "c.jpg").convert("RGB")))


def test_16_bit_gray_and_colour_png_are_scaled_not_clipped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    g16 = rng.integers(0, 65536, (20, 30), dtype=np.uint16)
    g16[0, 0], g16[0, 1] = 65535, 257
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    loaded = load_image(tmp_path / "g16.png")
    assert loaded.mode.startswith("I;16")
    expect = np.round(g16 / 257).astype(np.uint8)
    np.testing.assert_array_equal(loaded.rgb[:, :, 0], expect)
    assert loaded.rgb[0, 0, 0] == 255 and loaded.rgb[0, 1, 0] == 1
    c16 = rng.integers(0, 65536, (20, 30, 4), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), c16)  # BGRA on disk
    loaded = load_image(tmp_path / "c16.png")
    expect = np.round(c16 / 257).astype(np.uint8)
    np.testing.assert_array_equal(loaded.rgb, expect[:, :, [2, 1, 0]])
    np.testing.assert_array_equal(loaded.alpha, expect[:, :, 3])


def test_int32_and_float_modes() -> None:
    a = np.array([[0, 65535], [257, 1000]], dtype=np.int32)
    loaded = load_image(Image.fromarray(a))  # mode I
    np.testing.assert_array_equal(loaded.rgb[:, :, 0], np.round(a / 257).astype(np.uint8))
    f = np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32)
    np.testing.assert_array_equal(load_image(Image.fromarray(f)).rgb[:, :, 0], [[0, 255], [128, 64]])
    f255 = np.array([[0.0, 255.0], [128.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(load_image(Image.fromarray(f255)).rgb[:, :, 0], [[0, 255], [128, 3]])
    with pytest.raises(InputError, match=r"float pixels \(PIL mode F\) in \[-1, 2\]"):
        load_image(Image.fromarray(np.array([[-1.0, 2.0]], dtype=np.float32)))


def test_16bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 1000, 32896, 65535]], np.uint16)  # (1, 5)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    img = read_rgb(path)
    assert img.shape == (1, 5, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img[0, :, 0], [0, 1, 4, 128, 255])
    np.testing.assert_array_equal(img[..., 0], img[..., 2])


def test_palette_rgba_la_bilevel_cmyk_becomergb_array(tmp_path: Path) -> None:
    pal = Image.new("P", (6, 4))
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * (256 * 3 - 6))
    pal.paste(1, (0, 0, 3, 4))
    pal.save(tmp_path / "pal.png")
    pal.save(tmp_path / "pal_t.png", transparency=0)
    img = read_rgb(tmp_path / "pal.png")
    assert img.shape == (4, 6, 3)
    assert tuple(img[0, 0]) == (10, 200, 30) and tuple(img[0, 5]) == (0, 0, 0)
    assert read_rgb(tmp_path / "pal_t.png").shape == (4, 6, 3)

    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., :3] = (1, 2, 3)
    save_array(tmp_path / "rgba.png", rgba)
    assert tuple(read_rgb(tmp_path / "rgba.png")[1, 1]) == (1, 2, 3)

    Image.new("LA", (3, 2), (77, 0)).save(tmp_path / "la.png")
    assert tuple(read_rgb(tmp_path / "la.png")[0, 0]) == (77, 77, 77)

    Image.new("1", (3, 2), 1).save(tmp_path / "bw.png")
    assert tuple(read_rgb(tmp_path / "bw.png")[0, 0]) == (255, 255, 255)

    Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    cmyk = read_rgb(tmp_path / "cmyk.jpg")
    assert cmyk.shape == (8, 8, 3) and cmyk.dtype == np.uint8
    assert cmyk.min() > 240  # no ink = white
