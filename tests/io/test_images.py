"""glcic.io.images: decoding, the pixel limit, EXIF orientation, and every way a file can be bad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from glcic.errors import ImageTooLargeError, InputError
from glcic.io import load_image, load_mask, read_rgb
from tests.io.conftest import encode, rgb_array, save_array


def test_arrays_gray_rgba_and_bad_ones() -> None:
    g = rgb_array()[:, :, 0]
    np.testing.assert_array_equal(load_image(g).rgb, np.repeat(g[:, :, None], 3, axis=2))
    rgba = np.dstack([rgb_array(), g])
    loaded = load_image(rgba)
    np.testing.assert_array_equal(loaded.alpha, g)
    np.testing.assert_array_equal(loaded.to_array(), rgba)
    with pytest.raises(InputError, match=r"dtype uint8; got float32; if it holds \[0, 1\] floats"):
        load_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(InputError, match=r"channels-first arrays need x.transpose\(1, 2, 0\)"):
        load_image(np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(InputError, match="cannot read an image from a int"):
        load_image(3)


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated_file_is_refused_not_padded(tmp_path: Path, fmt: str, suffix: str) -> None:
    data = encode(Image.fromarray(rgb_array(64, 64)), fmt)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=rf"cut\{suffix} is truncated or corrupt"):
        load_image(path)


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    data = encode(Image.fromarray(rgb_array(100, 120)))
    path = tmp_path / "big.png"
    path.write_bytes(data[: len(data) // 2])  # truncated: decoding would fail differently
    with pytest.raises(InputError, match=r"big\.png is 120x100 = 0\.012 MP, which is over the limit of 0\.005 MP .*--max-pixels N"):
        load_image(path, max_pixels=5000)
    Image.fromarray(rgb_array(100, 120)).save(path)
    assert load_image(path, max_pixels=12000).size == (120, 100)
    assert load_image(path, max_pixels=None).size == (120, 100)


def test_pil_decompression_bomb_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.png"
    Image.fromarray(rgb_array(100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL refuses > 2000 px itself
    with pytest.raises(InputError, match=r"over the limit.*--max-pixels"):
        load_image(path, max_pixels=900)
    # Our own, larger limit wins over PIL's, and PIL's is restored afterwards.
    assert load_image(path, max_pixels=20000).size == (100, 100)
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_over_the_limit_is_image_too_large_and_corrupt_is_not(tmp_path: Path) -> None:
    # The server answers 413 for ImageTooLargeError and 400 for other InputErrors.
    path = tmp_path / "big.png"
    Image.fromarray(rgb_array(100, 120)).save(path)
    for read in (load_image, load_mask):
        with pytest.raises(ImageTooLargeError, match=r"big\.png is 120x100 = 0\.012 MP, which is over the limit"):
            read(path, max_pixels=5000)
        with pytest.raises(ImageTooLargeError, match="over the limit"):
            read(path.read_bytes(), max_pixels=5000)
    with pytest.raises(ImageTooLargeError, match=r"image array is 120x100"):
        load_image(rgb_array(100, 120), max_pixels=5000)
    with pytest.raises(ImageTooLargeError, match=r"mask array is 120x100"):
        load_mask(np.zeros((100, 120), bool), max_pixels=5000)
    with pytest.raises(ImageTooLargeError, match=r"<PIL image> is 120x100"):
        load_image(Image.new("RGB", (120, 100)), max_pixels=5000)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(InputError) as bad:
        load_image(tmp_path / "bad.png", max_pixels=5000)
    assert not isinstance(bad.value, ImageTooLargeError)


def test_pil_bomb_guard_is_image_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.png"
    Image.fromarray(rgb_array(100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL refuses > 2000 px itself
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        load_image(path, max_pixels=900)


def test_exif_orientation_is_honoured(tmp_path: Path) -> None:
    # Stored 40 wide x 20 high: left half red, right half blue. Orientation 6 means
    # "rotate 90 degrees clockwise to display": upright it is 20 wide x 40 high,
    # red on top.
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = (255, 0, 0)
    a[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(a).save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    loaded = load_image(tmp_path / "rot.jpg")
    assert loaded.size == (20, 40)
    assert loaded.rgb[5, 10, 0] > 200 and loaded.rgb[5, 10, 2] < 60  # top: red
    assert loaded.rgb[35, 10, 2] > 200 and loaded.rgb[35, 10, 0] < 60  # bottom: blue
    np.testing.assert_array_equal(loaded.rgb, np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "rot.jpg"))))
    assert load_image(tmp_path / "rot.jpg", exif_transpose=False).size == (40, 20)
    # A mask file with the same tag is rotated the same way.
    m = np.zeros((20, 40), np.uint8)
    m[:, :20] = 255
    Image.fromarray(m).save(tmp_path / "m.jpg", exif=exif.tobytes(), quality=95)
    hole = load_mask(tmp_path / "m.jpg", size=loaded.size)
    assert hole.shape == (40, 20) and hole[5, 10] and not hole[35, 10]


def test_exif_rotated_jpeg_is_read_upright(tmp_path: Path) -> None:
    # Stored 20 high x 40 wide: left half red, right half blue. EXIF orientation 6
    # means "rotate 90 degrees clockwise to display", so upright the red half is on top.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save_array(tmp_path / "rot.jpg", stored, exif=exif.tobytes(), quality=95)
    img = read_rgb(path)
    assert img.shape == (40, 20, 3) and img.dtype == np.uint8
    top, bottom = img[5, 10].astype(int), img[35, 10].astype(int)
    assert top[0] > 200 and top[2] < 60, top  # red on top
    assert bottom[2] > 200 and bottom[0] < 60, bottom  # blue below


def test_unreadable_missing_and_truncated_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(InputError, match="broken.jpg"):
        read_rgb(bad)
    with pytest.raises(InputError, match="ghost.png.*does not exist"):
        read_rgb(tmp_path / "ghost.png")
    good = save_array(
        tmp_path / "full.jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    )
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.jpg"):
        read_rgb(cut)
