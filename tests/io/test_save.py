"""glcic.io.save: the format from the file ending, checked before any work; atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from glcic.errors import InputError
from glcic.io import check_save_path, encode_image, load_image, save_image
from tests.io.conftest import encode, photo, rgb_array


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".webp"])
def test_save_lossless_roundtrip(tmp_path: Path, suffix: str) -> None:
    rgb = rgb_array()
    out = save_image(tmp_path / f"o{suffix}", rgb)
    np.testing.assert_array_equal(load_image(out).rgb, rgb)
    assert [p.name for p in tmp_path.iterdir()] == [f"o{suffix}"]  # no temp files left


def test_save_alpha_gray_and_jpeg(tmp_path: Path) -> None:
    rgb, a = rgb_array(), rgb_array(seed=3)[:, :, 0]
    loaded = load_image(save_image(tmp_path / "o.png", rgb, a))
    np.testing.assert_array_equal(loaded.rgb, rgb)
    np.testing.assert_array_equal(loaded.alpha, a)
    np.testing.assert_array_equal(load_image(save_image(tmp_path / "g.png", rgb[:, :, 0])).rgb[:, :, 0], rgb[:, :, 0])
    assert load_image(save_image(tmp_path / "o.JPG", rgb)).size == (32, 24)
    with pytest.raises(InputError, match=r"o2\.jpg: JPEG cannot store the image's transparency"):
        save_image(tmp_path / "o2.jpg", rgb, a)


def test_save_errors_come_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot tell the output format from 'o\.tga'; end the file name with one of \.png"):
        save_image(tmp_path / "o.tga", rgb_array())
    with pytest.raises(InputError, match="the folder .*nowhere does not exist; create it first"):
        save_image(tmp_path / "nowhere" / "o.png", rgb_array())
    (tmp_path / "d.png").mkdir()
    with pytest.raises(InputError, match="is a folder; give a file name"):
        check_save_path(tmp_path / "d.png")
    with pytest.raises(InputError, match=r"save_image takes an \(H, W, 3\) RGB or \(H, W\) gray array"):
        save_image(tmp_path / "o.png", np.zeros((4, 4, 2), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png"]


# ----------------------------------------------------------------------------- encoding like the input


def _jpeg_q75(tmp_path: Path) -> Path:
    path = tmp_path / "q75.jpg"
    Image.fromarray(photo(240, 320)).save(path, quality=75)
    return path


def test_jpeg_in_jpeg_out_keeps_its_tables_and_about_its_size(tmp_path: Path) -> None:
    """Issue 23, row 2: a quality-75 JPEG came back at quality 95, 1.9x its size."""
    src = _jpeg_q75(tmp_path)
    loaded = load_image(src)
    out = save_image(tmp_path / "o.jpg", loaded.rgb, info=loaded.info)
    with Image.open(src) as a, Image.open(out) as b:
        assert b.quantization == a.quantization
        assert JpegImagePlugin.get_sampling(b) == JpegImagePlugin.get_sampling(a) == 2  # 4:2:0
    ratio = out.stat().st_size / src.stat().st_size
    assert 0.9 < ratio < 1.1, ratio
    # An explicit quality wins; without the input's info the default is 95.
    q95 = save_image(tmp_path / "q95.jpg", loaded.rgb)
    q50 = save_image(tmp_path / "q50.jpg", loaded.rgb, info=loaded.info, quality=50)
    assert q95.stat().st_size > 1.5 * src.stat().st_size > 1.5 * q50.stat().st_size
    with pytest.raises(InputError, match=r"quality must be an integer from 1 to 100 .*; got 101"):
        save_image(tmp_path / "bad.jpg", loaded.rgb, quality=101)


def test_lossy_webp_stays_lossy_and_lossless_stays_lossless(tmp_path: Path) -> None:
    """Issue 23, row 3: a lossy WebP came back lossless, 4.5x its size."""
    im = Image.fromarray(photo(240, 320))
    im.save(tmp_path / "lossy.webp", quality=80)
    im.save(tmp_path / "lossless.webp", lossless=True)
    for name, chunk in (("lossy", b"VP8 "), ("lossless", b"VP8L")):
        loaded = load_image(tmp_path / f"{name}.webp")
        out = save_image(tmp_path / f"o_{name}.webp", loaded.rgb, info=loaded.info)
        assert out.read_bytes()[12:16] == chunk
        ratio = out.stat().st_size / (tmp_path / f"{name}.webp").stat().st_size
        assert 0.8 < ratio < 1.25, (name, ratio)
    # A JPEG is lossy too: into .webp it goes lossy; a PNG goes lossless unless a quality is given.
    jpeg = load_image(_jpeg_q75(tmp_path))
    assert encode_image(jpeg.rgb, jpeg.info, "webp")[0][12:16] == b"VP8 "
    png = load_image(save_image(tmp_path / "p.png", jpeg.rgb))
    assert encode_image(png.rgb, png.info, "WEBP")[0][12:16] == b"VP8L"
    assert encode_image(png.rgb, png.info, "WEBP", quality=70)[0][12:16] == b"VP8 "


def test_encode_image_format_follows_the_input_unless_asked() -> None:
    jpeg = load_image(encode(Image.fromarray(photo()), "JPEG"))
    assert encode_image(jpeg.rgb, jpeg.info)[1] == "JPEG"
    assert encode_image(jpeg.rgb, None)[1] == "PNG"
    gif = load_image(encode(Image.fromarray(photo()).convert("P"), "GIF"))
    assert encode_image(gif.rgb, gif.info)[1] == "PNG"  # glcic does not write GIF
    assert encode_image(jpeg.rgb, jpeg.info, ".tif")[1] == "TIFF"
    with pytest.raises(InputError, match=r"cannot write format 'tga'; use one of PNG, JPEG, WEBP, BMP, TIFF"):
        encode_image(jpeg.rgb, jpeg.info, "tga")
    with pytest.raises(InputError, match="JPEG cannot store the image's transparency"):
        encode_image(np.zeros((4, 4, 4), np.uint8), None, "JPEG")


def test_a_failed_encode_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "o.png").write_bytes(b"old")
    with pytest.raises(InputError, match=r"cannot write o\.png as PNG \(cannot write mode F as PNG\)"):
        save_image(tmp_path / "o.png", Image.new("F", (4, 4)))
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"] and (tmp_path / "o.png").read_bytes() == b"old"
