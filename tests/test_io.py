"""glcic.io: every kind of image and mask a user may hand over, and every way it can be bad."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from glcic.errors import InputError
from glcic.io import check_save_path, load_image, load_mask, save_image


def _rgb(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_bytes(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


# ----------------------------------------------------------------------------- sources


def test_every_source_kind_gives_the_same_pixels(tmp_path: Path) -> None:
    rgb = _rgb()
    path = tmp_path / "a.png"
    Image.fromarray(rgb).save(path)
    data = path.read_bytes()
    for source in (path, str(path), data, io.BytesIO(data), Image.open(path), rgb):
        loaded = load_image(source)
        np.testing.assert_array_equal(loaded.rgb, rgb)
        assert loaded.alpha is None and loaded.rgb.dtype == np.uint8
    assert load_image(path).size == (32, 24)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_image(f).rgb, rgb)


def test_arrays_gray_rgba_and_bad_ones() -> None:
    g = _rgb()[:, :, 0]
    np.testing.assert_array_equal(load_image(g).rgb, np.repeat(g[:, :, None], 3, axis=2))
    rgba = np.dstack([_rgb(), g])
    loaded = load_image(rgba)
    np.testing.assert_array_equal(loaded.alpha, g)
    np.testing.assert_array_equal(loaded.to_array(), rgba)
    with pytest.raises(InputError, match=r"dtype uint8; got float32; if it holds \[0, 1\] floats"):
        load_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(InputError, match=r"channels-first arrays need x.transpose\(1, 2, 0\)"):
        load_image(np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(InputError, match="cannot read an image from a int"):
        load_image(3)


# ----------------------------------------------------------------------------- bad files


def test_missing_folder_empty_and_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.png does not exist; check the path"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="is a folder, not an image file"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.png is empty \(0 bytes\)"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "notes.png").write_text("these are not pixels\n")
    with pytest.raises(InputError, match=r"notes\.png is not an image glcic can read; expected a PNG, JPEG"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(InputError, match="the image data is empty"):
        load_image(b"")


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated_file_is_refused_not_padded(tmp_path: Path, fmt: str, suffix: str) -> None:
    data = _png_bytes(Image.fromarray(_rgb(64, 64)), fmt)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=rf"cut\{suffix} is truncated or corrupt"):
        load_image(path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import glcic.io

    path = tmp_path / "secret.png"
    Image.fromarray(_rgb()).save(path)

    def refuse(*args, **kwargs):  # what open() does on a file without read permission
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(glcic.io, "open", refuse, raising=False)  # chmod does not stop root
    with pytest.raises(InputError, match=r"cannot open .*secret\.png: Permission denied; check its permissions"):
        load_image(path)


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    data = _png_bytes(Image.fromarray(_rgb(100, 120)))
    path = tmp_path / "big.png"
    path.write_bytes(data[: len(data) // 2])  # truncated: decoding would fail differently
    with pytest.raises(InputError, match=r"big\.png is 120x100 = 0\.012 MP, which is over the limit of 0\.005 MP .*--max-pixels N"):
        load_image(path, max_pixels=5000)
    Image.fromarray(_rgb(100, 120)).save(path)
    assert load_image(path, max_pixels=12000).size == (120, 100)
    assert load_image(path, max_pixels=None).size == (120, 100)


def test_pil_decompression_bomb_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.png"
    Image.fromarray(_rgb(100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL refuses > 2000 px itself
    with pytest.raises(InputError, match=r"over the limit.*--max-pixels"):
        load_image(path, max_pixels=900)
    # Our own, larger limit wins over PIL's, and PIL's is restored afterwards.
    assert load_image(path, max_pixels=20000).size == (100, 100)
    assert Image.MAX_IMAGE_PIXELS == 1000


# ----------------------------------------------------------------------------- modes


def test_grayscale_la_and_rgba(tmp_path: Path) -> None:
    g = _rgb()[:, :, 0]
    a = _rgb(seed=1)[:, :, 0]
    Image.fromarray(g).save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    assert loaded.mode == "L" and loaded.is_gray and loaded.alpha is None
    np.testing.assert_array_equal(loaded.rgb, np.repeat(g[:, :, None], 3, axis=2))
    Image.fromarray(np.dstack([g, a])).save(tmp_path / "la.png")
    loaded = load_image(tmp_path / "la.png")
    assert loaded.mode == "LA" and loaded.is_gray
    np.testing.assert_array_equal(loaded.alpha, a)
    rgba = np.dstack([_rgb(), a])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    loaded = load_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(loaded.rgb, rgba[:, :, :3])  # colour under alpha is kept
    np.testing.assert_array_equal(loaded.alpha, a)


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    p = Image.fromarray(_rgb()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
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
    cmyk = Image.fromarray(_rgb()).convert("CMYK")
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


# ----------------------------------------------------------------------------- masks


def test_mask_rules(tmp_path: Path) -> None:
    m = np.zeros((10, 12), np.uint8)
    m[2:5, 3:7] = 255
    m[8, 11] = 1  # any non-zero value is a hole
    Image.fromarray(m).save(tmp_path / "m.png")
    hole = load_mask(tmp_path / "m.png")
    np.testing.assert_array_equal(hole, m > 0)
    Image.fromarray(m > 0).save(tmp_path / "m1.png")  # mode "1"
    np.testing.assert_array_equal(load_mask(tmp_path / "m1.png"), m > 0)
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[m > 0] = (0, 0, 9)
    np.testing.assert_array_equal(load_mask(Image.fromarray(rgb)), m > 0)
    # Strokes painted on a transparent layer: uniform colour, alpha decides.
    rgba = np.full((10, 12, 4), 255, np.uint8)
    rgba[:, :, 3] = m
    np.testing.assert_array_equal(load_mask(Image.fromarray(rgba)), m > 0)
    np.testing.assert_array_equal(load_mask(rgba), m > 0)
    # An opaque black/white RGBA mask: colour decides.
    rgba = np.dstack([np.repeat(m[:, :, None], 3, axis=2), np.full((10, 12), 255, np.uint8)])
    np.testing.assert_array_equal(load_mask(Image.fromarray(rgba)), m > 0)
    # Arrays and tensors.
    np.testing.assert_array_equal(load_mask(m > 0), m > 0)
    np.testing.assert_array_equal(load_mask(torch.from_numpy(m)[None, None].float()), m > 0)
    with pytest.raises(InputError, match="mask array must have shape"):
        load_mask(np.zeros((2, 10, 12)))


def test_mask_size_mismatch_and_resize(tmp_path: Path) -> None:
    m = np.zeros((10, 12), np.uint8)
    m[:5] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    with pytest.raises(InputError, match=r"mask is 12x10 but image is 24x20; pass --resize-mask .* nearest neighbour"):
        load_mask(tmp_path / "m.png", size=(24, 20))
    hole = load_mask(tmp_path / "m.png", size=(24, 20), resize=True)
    assert hole.shape == (20, 24) and hole[:10].all() and not hole[10:].any()
    assert load_mask(tmp_path / "m.png", size=(12, 10)).shape == (10, 12)


def test_bad_mask_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_mask(tmp_path / "missing.png")
    (tmp_path / "m.png").write_text("no")
    with pytest.raises(InputError, match="not an image glcic can read"):
        load_mask(tmp_path / "m.png")


# ----------------------------------------------------------------------------- saving


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".webp"])
def test_save_lossless_roundtrip(tmp_path: Path, suffix: str) -> None:
    rgb = _rgb()
    out = save_image(tmp_path / f"o{suffix}", rgb)
    np.testing.assert_array_equal(load_image(out).rgb, rgb)
    assert [p.name for p in tmp_path.iterdir()] == [f"o{suffix}"]  # no temp files left


def test_save_alpha_gray_and_jpeg(tmp_path: Path) -> None:
    rgb, a = _rgb(), _rgb(seed=3)[:, :, 0]
    loaded = load_image(save_image(tmp_path / "o.png", rgb, a))
    np.testing.assert_array_equal(loaded.rgb, rgb)
    np.testing.assert_array_equal(loaded.alpha, a)
    np.testing.assert_array_equal(load_image(save_image(tmp_path / "g.png", rgb[:, :, 0])).rgb[:, :, 0], rgb[:, :, 0])
    assert load_image(save_image(tmp_path / "o.JPG", rgb)).size == (32, 24)
    with pytest.raises(InputError, match=r"o2\.jpg: JPEG cannot store the image's transparency"):
        save_image(tmp_path / "o2.jpg", rgb, a)


def test_save_errors_come_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot tell the output format from 'o\.tga'; end the file name with one of \.png"):
        save_image(tmp_path / "o.tga", _rgb())
    with pytest.raises(InputError, match="the folder .*nowhere does not exist; create it first"):
        save_image(tmp_path / "nowhere" / "o.png", _rgb())
    (tmp_path / "d.png").mkdir()
    with pytest.raises(InputError, match="is a folder; give a file name"):
        check_save_path(tmp_path / "d.png")
    with pytest.raises(InputError, match=r"save_image takes an \(H, W, 3\) RGB or \(H, W\) gray array"):
        save_image(tmp_path / "o.png", np.zeros((4, 4, 2), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png"]
