"""The answer's file (glcic.server.answer): the input's format and metadata unless asked otherwise, and its name."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from glcic.server.answer import Answer, answer_name
from tests.server.conftest import (
    INPAINT,
    H,
    W,
    assert_error,
    decode,
    encode,
    kept,
    random_image,
    rect_mask,
)

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
MAKE, MODEL, DATE = 0x010F, 0x0110, 0x0132  # EXIF tags: camera make, model, date


def camera_jpeg(orientation: int = 1, quality: int = 75) -> bytes:
    """A JPEG as a camera writes it: ICC profile, EXIF (make, model, date, orientation)."""
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[DATE] = "TestCam", "T-1", "2026:01:02 03:04:05"
    exif[0x0112] = orientation
    return encode(random_image(seed=11), "JPEG", quality=quality, icc_profile=SRGB, exif=exif)


def post(client, image: bytes, mask: np.ndarray, name: str = "photo.jpg", **data):
    files = {"image": (name, image, "image/jpeg"), "mask": ("mask.png", encode(mask), "image/png")}
    return client.post(INPAINT, files=files, data=data)


def test_jpeg_in_jpeg_out_with_its_icc_exif_and_quantisation(client):
    """Issue 23: the server dropped ICC and every EXIF tag, and always answered PNG."""
    jpeg = camera_jpeg()
    r = post(client, jpeg, rect_mask())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"] == 'inline; filename="photo_filled.jpg"'
    out, src = Image.open(io.BytesIO(r.content)), Image.open(io.BytesIO(jpeg))
    assert out.format == "JPEG"
    assert out.info.get("icc_profile") == SRGB
    exif = out.getexif()
    assert (exif[MAKE], exif[MODEL], exif[DATE]) == ("TestCam", "T-1", "2026:01:02 03:04:05")
    assert out.quantization == src.quantization  # the input's quality, not 95
    assert len(r.content) < 2 * len(jpeg)


def test_strip_metadata_drops_icc_and_exif(client):
    for value in ("true", "1"):
        r = post(client, camera_jpeg(), rect_mask(), strip_metadata=value)
        assert r.status_code == 200, r.text
        out = Image.open(io.BytesIO(r.content))
        assert out.format == "JPEG"
        assert "icc_profile" not in out.info and MAKE not in out.getexif()


def test_rotated_photo_keeps_exif_with_orientation_one(client):
    stored = camera_jpeg(orientation=6)  # 64x48 stored, 48x64 upright
    r = post(client, stored, rect_mask(W, H, box=(10, 10, 30, 30)))
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(r.content))
    assert out.size == (H, W)  # upright
    assert out.getexif()[0x0112] == 1 and out.getexif()[MAKE] == "TestCam"


@pytest.mark.parametrize(
    ("fmt", "pil", "media", "ending"),
    [
        ("png", "PNG", "image/png", ".png"),
        ("jpg", "JPEG", "image/jpeg", ".jpg"),
        ("WEBP", "WEBP", "image/webp", ".webp"),
        ("tiff", "TIFF", "image/tiff", ".tif"),
    ],
)
def test_format_field_picks_another_format(client, fmt, pil, media, ending):
    image, mask = random_image(seed=3), rect_mask()
    r = post(client, encode(image), mask, name="scan.png", format=fmt)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    assert r.headers["content-disposition"] == f'inline; filename="scan_filled{ending}"'
    out = Image.open(io.BytesIO(r.content))
    assert out.format == pil and out.size == (W, H)
    if pil in ("PNG", "TIFF"):  # lossless: the known pixels exactly
        np.testing.assert_array_equal(np.asarray(out)[kept(mask)], image[kept(mask)])


def test_png_in_png_out_and_a_json_request_gets_a_plain_name(client):
    image, mask = random_image(seed=4), rect_mask()
    r = post(client, encode(image), mask, name="shot.png")
    assert (r.headers["content-type"], r.headers["content-disposition"]) == (
        "image/png",
        'inline; filename="shot_filled.png"',
    )
    body = {"image": base64.b64encode(camera_jpeg()).decode(), "strip_metadata": True}
    body["mask"] = base64.b64encode(encode(mask)).decode()
    r = client.post(INPAINT, json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"] == 'inline; filename="filled.jpg"'
    assert "icc_profile" not in Image.open(io.BytesIO(r.content)).info


def test_sixteen_bit_png_stays_sixteen_bit(client):
    gray = (np.random.default_rng(0).integers(0, 65536, (H, W))).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG")
    mask = rect_mask()
    r = post(client, buf.getvalue(), mask, name="depth.png")
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(r.content))
    assert out.mode.startswith("I") and r.headers["content-type"] == "image/png"
    np.testing.assert_array_equal(np.asarray(out)[kept(mask)], gray[kept(mask)])  # bit for bit


def test_empty_mask_claims_nothing(client):
    """Issue 23: an all-black mask reported a blend although nothing was done."""
    jpeg = camera_jpeg()
    r = post(client, jpeg, np.zeros((H, W), np.uint8), postprocess="blend")
    assert r.status_code == 200, r.text
    assert r.headers["x-glcic-hole-pixels"] == "0"
    assert r.headers["x-glcic-postprocess"] == "none"
    assert r.headers["x-glcic-strategy"] == "none"
    assert r.headers["content-type"] == "image/jpeg"  # the input, as it came
    out = Image.open(io.BytesIO(r.content))
    assert out.info.get("icc_profile") == SRGB


def test_alpha_into_jpeg_is_refused_before_any_work(client):
    image = random_image(seed=4, channels=4)
    r = post(client, encode(image), rect_mask(), name="logo.png", format="jpeg")
    assert_error(r, 422, "invalid_option", "cannot hold the image's transparency")
    assert "'png'" in r.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("format", "gif", "format must be one of"),
        ("strip_metadata", "maybe", "strip_metadata must be true or false"),
        ("quality", "0", "quality must be a whole number from 1 to 100"),
        ("quality", "high", "quality must be a whole number"),
    ],
)
def test_bad_answer_options_are_422(client, field, value, match):
    r = post(client, camera_jpeg(), rect_mask(), **{field: value})
    assert_error(r, 422, "invalid_option", match)


def test_quality_sets_a_reencoded_jpeg(client):
    image = encode(random_image(seed=9))
    low = post(client, image, rect_mask(), format="jpeg", quality="20")
    high = post(client, image, rect_mask(), format="jpeg", quality="95")
    assert low.status_code == high.status_code == 200
    assert len(low.content) < len(high.content)
    assert decode(low.content).shape == (H, W, 3)


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("photo.jpg", "JPEG", "photo_filled.jpg"),
        ("IMG_0001.JPEG", "PNG", "IMG_0001_filled.png"),
        ("C:\\Users\\me\\holiday.webp", "WEBP", "holiday_filled.webp"),
        ("../../etc/passwd", "PNG", "passwd_filled.png"),
        ('a"b\r\nc.png', "PNG", "a_b__c_filled.png"),
        (".hidden", "PNG", "hidden_filled.png"),
        ("", "JPEG", "filled.jpg"),
        ("scan.tiff", "TIFF", "scan_filled.tif"),
    ],
)
def test_answer_names(name, fmt, expected):
    assert answer_name(name, fmt) == expected


def test_non_ascii_names_are_sent_both_ways():
    answer = Answer(b"", "JPEG", answer_name("café.jpg", "JPEG"))
    assert answer.disposition == (
        "inline; filename=\"caf__filled.jpg\"; filename*=UTF-8''caf%C3%A9_filled.jpg"
    )
    answer.disposition.encode("latin-1")
    assert answer.media_type == "image/jpeg"
