"""glcic.io.depth: 16-bit PNG and TIFF, gray and colour (with alpha), read and written whole."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from glcic.io import load_image, save_image
from glcic.io.depth import encode_png16, png_metadata_chunks
from tests.io.conftest import camera_exif, encode, srgb_icc


def _u16(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)
    a.flat[0], a.flat[1] = 65535, 1  # both ends; 1 is 0 at 8 bits
    return a


def _write16(path: Path, a: np.ndarray) -> Path:
    """A 16-bit file as other programs write it: OpenCV (BGR) for PNG, tifffile for TIFF, PIL for gray."""
    if path.suffix == ".png" and a.ndim == 3:
        cv2.imwrite(str(path), cv2.cvtColor(a, cv2.COLOR_RGBA2BGRA if a.shape[2] == 4 else cv2.COLOR_RGB2BGR))
    elif path.suffix == ".tif":
        tifffile.imwrite(path, a, photometric="rgb" if a.ndim == 3 else "minisblack", compression="zlib")
    else:
        Image.fromarray(a).save(path)
    return path


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 3), (20, 30, 4)], ids=["gray", "rgb", "rgba"])
def test_16_bit_read_and_written_whole(tmp_path: Path, suffix: str, shape: tuple[int, ...]) -> None:
    """Issue 23, row 4 (the reading and writing half): every bit in, every bit out."""
    a = _u16(shape)
    loaded = load_image(_write16(tmp_path / f"in{suffix}", a))
    assert loaded.info.bits == 16
    np.testing.assert_array_equal(loaded.deep, a)
    np.testing.assert_array_equal(loaded.rgb[:, :, 0], np.round((a if a.ndim == 2 else a[:, :, 0]) / 257))
    if len(shape) == 3 and shape[2] == 4:  # 16-bit with alpha: the alpha keeps its 16 bits too
        np.testing.assert_array_equal(loaded.alpha, np.round(a[:, :, 3] / 257))
    result = Image.fromarray(loaded.deep) if loaded.deep.ndim == 2 else loaded.deep  # what the pipeline returns
    out = save_image(tmp_path / f"out{suffix}", result, info=loaded.info)
    np.testing.assert_array_equal(load_image(out).deep, a)
    assert [p.name for p in sorted(tmp_path.iterdir())] == [f"in{suffix}", f"out{suffix}"]


def test_16_bit_png_carries_icc_exif_and_xmp(tmp_path: Path) -> None:
    """16-bit colour goes through OpenCV's encoder; the metadata chunks are added to its stream."""
    src = encode(Image.fromarray(np.zeros((8, 8, 3), np.uint8)), "JPEG", icc_profile=srgb_icc(), exif=camera_exif(),
                 xmp=b"<x:xmpmeta/>")
    info = load_image(src).info
    out = save_image(tmp_path / "o.png", _u16((8, 8, 3)), info=info)
    im = Image.open(out)
    im.load()
    assert im.info["icc_profile"] == srgb_icc() and im.getexif()[0x010F] == "Glcic Camera"
    assert im.info["xmp"] == b"<x:xmpmeta/>"
    np.testing.assert_array_equal(load_image(out).deep, _u16((8, 8, 3)))


def test_16_bit_tiff_carries_icc_xmp_and_the_exif_it_can(tmp_path: Path) -> None:
    src = encode(Image.fromarray(np.zeros((8, 8, 3), np.uint8)), "JPEG", icc_profile=srgb_icc(), exif=camera_exif(),
                 xmp=b"<x:xmpmeta/>")
    info = load_image(src).info
    with pytest.warns(UserWarning, match=r"left out of the TIFF file: its EXIF's Exif and GPS sections"):
        out = save_image(tmp_path / "o.tif", _u16((8, 8, 3)), info=info)
    loaded = load_image(out)
    assert loaded.info.icc_profile == srgb_icc() and loaded.info.xmp == b"<x:xmpmeta/>"
    assert Image.open(out).getexif()[0x010F] == "Glcic Camera"  # the first IFD's text tags are kept
    np.testing.assert_array_equal(loaded.deep, _u16((8, 8, 3)))


def test_16_bit_into_an_8_bit_format_says_so(tmp_path: Path) -> None:
    a = _u16((8, 8, 3))
    with pytest.warns(UserWarning, match=r"JPEG holds 8 bits per channel, so the 16-bit result was written with 8"):
        save_image(tmp_path / "o.jpg", a)
    with pytest.warns(UserWarning, match="WEBP holds 8 bits"):
        save_image(tmp_path / "g.webp", Image.fromarray(a[:, :, 0]))


def test_16_bit_tiff_turned_upright_once(tmp_path: Path) -> None:
    """PIL and OpenCV both turn a TIFF by its Orientation tag while decoding; glcic does not turn it again."""
    a = _u16((20, 30, 3))
    path = tmp_path / "o6.tif"
    tifffile.imwrite(path, a, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    loaded = load_image(path)
    np.testing.assert_array_equal(loaded.deep, np.rot90(a, -1))
    assert loaded.info.orientation == 6 and loaded.size == (20, 30)


def test_16_bit_png_with_exif_orientation_is_turned(tmp_path: Path) -> None:
    a = _u16((20, 30, 4))
    exif = Image.Exif()
    exif[0x0112] = 8
    data = encode_png16(a, png_metadata_chunks(None, exif.tobytes(), None))
    loaded = load_image(data)
    np.testing.assert_array_equal(loaded.deep, np.rot90(a, 1))
    reset = Image.Exif()
    reset.load(loaded.info.exif)
    assert loaded.info.orientation == 8 and reset[0x0112] == 1
