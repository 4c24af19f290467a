"""glcic.io.metadata and the writer: ICC profile, EXIF and XMP from input to output, and bad metadata."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.io import encode_image, load_image, read_rgb, save_image
from glcic.io.metadata import webp_is_lossy
from tests.io.conftest import XMP, camera_exif, encode, photo, rgb_array, srgb_icc


def _exif_of(data: bytes) -> tuple[dict, dict]:
    exif = Image.open(io.BytesIO(data)).getexif()
    return dict(exif), dict(exif.get_ifd(0x8769))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_icc_exif_and_xmp_go_from_a_jpeg_to_every_format(fmt: str) -> None:
    """Issue 23, row 1: a camera JPEG's ICC profile and EXIF (and XMP) reach the output."""
    icc = srgb_icc()
    src = encode(Image.fromarray(photo()), "JPEG", quality=90, icc_profile=icc, exif=camera_exif(6), xmp=XMP)
    loaded = load_image(src)
    assert loaded.size == (120, 160)  # turned upright by orientation 6
    data, used = encode_image(Image.fromarray(loaded.rgb), loaded.info, fmt)
    assert used == fmt
    out = Image.open(io.BytesIO(data))
    out.load()
    assert out.info.get("icc_profile") == icc
    tags, exif_ifd = _exif_of(data)
    assert tags[0x010F] == "Glcic Camera" and exif_ifd[0x9003] == "2024:05:06 07:08:09"
    assert tags[0x0112] == 1  # the pixels are upright now: a viewer must not turn them again
    xmp = out.info["xmp"]
    xmp = xmp.encode() if isinstance(xmp, str) else xmp  # PNG's iTXt comes back as text
    assert b'tiff:Orientation="1"' in xmp and b'dc:creator="me"' in xmp


def test_exif_kept_bit_for_bit_when_nothing_was_turned() -> None:
    exif = camera_exif(1)
    loaded = load_image(encode(Image.fromarray(photo()), "JPEG", exif=exif))
    assert loaded.info.exif == exif and loaded.info.orientation == 1


def test_strip_metadata_drops_all_of_it(tmp_path: Path) -> None:
    src = encode(Image.fromarray(photo()), "JPEG", icc_profile=srgb_icc(), exif=camera_exif(), xmp=XMP)
    loaded = load_image(src)
    for fmt in ("JPEG", "PNG", "WEBP"):
        data, _ = encode_image(Image.fromarray(loaded.rgb), loaded.info, fmt, strip_metadata=True)
        out = Image.open(io.BytesIO(data))
        out.load()
        assert not {"icc_profile", "exif", "xmp"} & set(out.info), fmt
    # A PIL image that carries metadata in .info writes none of it either (PIL would copy the ICC).
    im = Image.fromarray(loaded.rgb)
    im.info["icc_profile"] = srgb_icc()
    save_image(tmp_path / "o.png", im, info=loaded.info, strip_metadata=True)
    assert "icc_profile" not in Image.open(tmp_path / "o.png").info


def test_corrupt_icc_profile_is_dropped_with_a_warning(tmp_path: Path) -> None:
    bad = b"\x00\x00\x01\x00" + b"not an ICC profile" * 20
    path = tmp_path / "bad_icc.jpg"
    Image.fromarray(photo()).save(path, quality=90, icc_profile=bad, exif=camera_exif())
    with pytest.warns(UserWarning, match=r"bad_icc\.jpg: its ICC colour profile is corrupt \(it has no ICC header\)"):
        loaded = load_image(path)
    assert loaded.info.icc_profile is None and loaded.info.exif is not None  # the rest is kept
    out = save_image(tmp_path / "o.jpg", loaded.rgb, info=loaded.info)
    assert "icc_profile" not in Image.open(out).info and Image.open(out).getexif()[0x010F] == "Glcic Camera"
    # A profile whose header lies about its length.
    wrong = bytearray(srgb_icc())
    wrong[:4] = (len(wrong) + 10).to_bytes(4, "big")
    with pytest.warns(UserWarning, match="its header says"):
        assert load_image(encode(Image.fromarray(photo()), "PNG", icc_profile=bytes(wrong))).info.icc_profile is None


def test_malformed_exif_is_dropped_with_a_warning_and_the_image_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "bad_exif.jpg"
    Image.fromarray(photo()).save(path, exif=b"Exif\x00\x00" + b"garbage, not a TIFF header" * 3)
    with pytest.warns(UserWarning, match=r"bad_exif\.jpg: its EXIF block \(84 bytes\) could not be read"):
        loaded = load_image(path)
    assert loaded.info.exif is None and loaded.size == (160, 120)
    save_image(tmp_path / "o.jpg", loaded.rgb, info=loaded.info)
    assert not Image.open(tmp_path / "o.jpg").getexif()


def test_huge_exif_fits_png_and_webp_but_not_jpeg(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Glcic Camera"
    exif.get_ifd(0x8769)[0x927C] = b"\x01" * 100_000  # a 100 kB maker note
    src = encode(Image.fromarray(photo()), "PNG", exif=exif.tobytes())
    loaded = load_image(src)
    assert len(loaded.info.exif) > 100_000
    for suffix in (".png", ".webp"):
        save_image(tmp_path / f"o{suffix}", loaded.rgb, info=loaded.info)
        assert len(Image.open(tmp_path / f"o{suffix}").getexif().get_ifd(0x8769)[0x927C]) == 100_000
    with pytest.warns(UserWarning, match=r"left out of the JPEG file: its EXIF \(\d+ bytes; a JPEG holds at most 65533"):
        save_image(tmp_path / "o.jpg", loaded.rgb, info=loaded.info)
    assert Image.open(tmp_path / "o.jpg").size == (160, 120)  # written whole, without it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jpg", "o.png", "o.webp"]


def test_bmp_holds_no_metadata_and_says_so(tmp_path: Path) -> None:
    loaded = load_image(encode(Image.fromarray(photo()), "JPEG", exif=camera_exif()))
    with pytest.warns(UserWarning, match="BMP holds no ICC profile, EXIF or XMP"):
        save_image(tmp_path / "o.bmp", loaded.rgb, info=loaded.info)


def test_an_rgb_profile_is_not_put_on_a_gray_result(tmp_path: Path) -> None:
    loaded = load_image(encode(Image.fromarray(photo()), "JPEG", icc_profile=srgb_icc()))
    with pytest.warns(UserWarning, match=r"its RGB ICC profile \(the result is gray\)"):
        save_image(tmp_path / "g.png", loaded.rgb[:, :, 0], info=loaded.info)
    assert "icc_profile" not in Image.open(tmp_path / "g.png").info


def test_webp_lossy_or_lossless_from_its_chunks() -> None:
    im = Image.fromarray(rgb_array())
    rgba = Image.fromarray(np.dstack([rgb_array(), rgb_array(seed=1)[:, :, 0]]))
    cases = [
        (encode(im, "WEBP", quality=80), True),  # RIFF ... VP8
        (encode(im, "WEBP", lossless=True), False),  # VP8L
        (encode(rgba, "WEBP", quality=80), True),  # VP8X, ALPH, VP8
        (encode(rgba, "WEBP", lossless=True), False),  # VP8X, VP8L
        (encode(im, "WEBP", quality=80, icc_profile=srgb_icc()), True),  # VP8X, ICCP, VP8
        (encode(im, "PNG"), None),
        (b"RIFF\x00\x00\x00\x00WEBP", None),  # ends before any image chunk
    ]
    for data, lossy in cases:
        f = io.BytesIO(data)
        assert webp_is_lossy(f) is lossy and f.tell() == 0
        if lossy is not None:
            assert load_image(data).info.webp_lossy is lossy


def _exif_with_thumbnail(thumb: bytes) -> bytes:
    """EXIF as cameras write it: IFD0 (make) and IFD1 pointing at a JPEG thumbnail."""
    import struct

    ifd0 = struct.pack(">H", 1) + struct.pack(">HHI4s", 0x010F, 2, 4, b"Cam\x00") + struct.pack(">I", 26)
    ifd1 = struct.pack(">H", 2) + struct.pack(">HHII", 0x0201, 4, 1, 56) + struct.pack(">HHII", 0x0202, 4, 1, len(thumb))
    ifd1 += struct.pack(">I", 0)
    return b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + ifd1 + thumb


def test_exif_thumbnail_of_the_original_is_not_carried() -> None:
    """The EXIF thumbnail is a small copy of the original picture: it would still show what was filled."""
    from PIL import ExifTags

    thumb = encode(Image.fromarray(photo(16, 16)), "JPEG")
    raw = _exif_with_thumbnail(thumb)
    src = Image.Exif()
    src.load(raw)
    assert src.get_ifd(ExifTags.IFD.IFD1)[0x0202] == len(thumb)  # the test's EXIF has one
    info = load_image(encode(Image.fromarray(photo()), "JPEG", exif=raw)).info
    kept = Image.Exif()
    kept.load(info.exif)
    assert kept[0x010F] == "Cam" and not kept.get_ifd(ExifTags.IFD.IFD1) and thumb not in info.exif


def test_an_empty_exif_block_is_nothing_to_carry_and_datasets_read_no_metadata(tmp_path: Path) -> None:
    empty = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"  # as CelebA's JPEGs carry it
    path = tmp_path / "celeba_like.jpg"
    Image.fromarray(photo()).save(path, exif=empty, icc_profile=b"junk" * 40)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_rgb(path).shape == (120, 160, 3)  # pixels only: no metadata, no warnings
        assert load_image(path, metadata=False).info is None
    with pytest.warns(UserWarning, match="ICC colour profile is corrupt") as caught:
        assert load_image(path).info.exif is None
    assert not any("EXIF" in str(w.message) for w in caught)
