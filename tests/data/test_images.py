"""Tests for glcic.data.images: listing and decoding image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.data.images import IMAGE_EXTENSIONS, list_images, read_rgb
from glcic.errors import InputError


def _save(path: Path, array: np.ndarray, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kw)
    return path


def test_list_images_sorted_recursive_case_insensitive(tmp_path: Path) -> None:
    img = np.zeros((4, 4, 3), np.uint8)
    _save(tmp_path / "b.PNG", img)
    _save(tmp_path / "a.jpg", img)
    _save(tmp_path / "sub" / "c.JpEg", img)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    assert list_images(tmp_path) == [
        tmp_path / "a.jpg",
        tmp_path / "b.PNG",
        tmp_path / "sub" / "c.JpEg",
    ]
    assert list_images(tmp_path, recursive=False) == [tmp_path / "a.jpg", tmp_path / "b.PNG"]
    assert ".webp" in IMAGE_EXTENSIONS and ".bmp" in IMAGE_EXTENSIONS


def test_list_images_missing_or_file_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        list_images(tmp_path / "nope")
    f = _save(tmp_path / "x.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(InputError, match="is a file, not a folder"):
        list_images(f)


def test_exif_rotated_jpeg_is_read_upright(tmp_path: Path) -> None:
    # Stored 20 high x 40 wide: left half red, right half blue. EXIF orientation 6
    # means "rotate 90 degrees clockwise to display", so upright the red half is on top.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(tmp_path / "rot.jpg", stored, exif=exif.tobytes(), quality=95)
    img = read_rgb(path)
    assert img.shape == (40, 20, 3) and img.dtype == np.uint8
    top, bottom = img[5, 10].astype(int), img[35, 10].astype(int)
    assert top[0] > 200 and top[2] < 60, top  # red on top
    assert bottom[2] > 200 and bottom[0] < 60, bottom  # blue below


def test_16bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 1000, 32896, 65535]], np.uint16)  # (1, 5)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    img = read_rgb(path)
    assert img.shape == (1, 5, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img[0, :, 0], [0, 1, 4, 128, 255])
    np.testing.assert_array_equal(img[..., 0], img[..., 2])


def test_palette_rgba_la_bilevel_cmyk_become_rgb(tmp_path: Path) -> None:
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
    _save(tmp_path / "rgba.png", rgba)
    assert tuple(read_rgb(tmp_path / "rgba.png")[1, 1]) == (1, 2, 3)

    Image.new("LA", (3, 2), (77, 0)).save(tmp_path / "la.png")
    assert tuple(read_rgb(tmp_path / "la.png")[0, 0]) == (77, 77, 77)

    Image.new("1", (3, 2), 1).save(tmp_path / "bw.png")
    assert tuple(read_rgb(tmp_path / "bw.png")[0, 0]) == (255, 255, 255)

    Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    cmyk = read_rgb(tmp_path / "cmyk.jpg")
    assert cmyk.shape == (8, 8, 3) and cmyk.dtype == np.uint8
    assert cmyk.min() > 240  # no ink = white


def test_unreadable_missing_and_truncated_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(InputError, match="broken.jpg"):
        read_rgb(bad)
    with pytest.raises(InputError, match="ghost.png.*does not exist"):
        read_rgb(tmp_path / "ghost.png")
    good = _save(
        tmp_path / "full.jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    )
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.jpg"):
        read_rgb(cut)
