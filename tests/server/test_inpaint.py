"""Decoding, completing and encoding one request (glcic.server.inpaint), through the API."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.server.conftest import (
    INPAINT,
    H,
    W,
    assert_completed,
    assert_error,
    decode,
    encode,
    files,
    kept,
    random_image,
    rect_mask,
)


def test_multipart_returns_png_of_input_size_untouched_outside_hole(client):
    image, mask = random_image(), rect_mask()
    r = client.post(INPAINT, files=files(encode(image), encode(mask)))
    out = assert_completed(r, image, mask)
    assert (out[mask > 0] != image[mask > 0]).any()  # the hole was filled with something new
    assert float(r.headers["x-elapsed-ms"]) >= 0


@pytest.mark.parametrize("method", ["glcic", "telea"])
def test_multipart_with_options(client, method):
    image, mask = random_image(seed=1), rect_mask()
    data = {"postprocess": "none", "strategy": "original", "method": method}
    r = client.post(INPAINT, files=files(encode(image), encode(mask)), data=data)
    assert_completed(r, image, mask, seam=0)


def test_blend_changes_only_the_hole_and_its_seam(client):
    from glcic.postprocess import DEFAULT_SEAM

    image, mask = random_image(seed=1), rect_mask()
    r = client.post(
        INPAINT, files=files(encode(image), encode(mask)), data={"postprocess": "blend"}
    )
    t, left, b, right = 12, 16, 32, 40  # rect_mask's box, grown by the seam
    s = DEFAULT_SEAM
    assert_completed(r, image, rect_mask(box=(t - s, left - s, b + s, right + s)), seam=0)


def test_jpeg_input_keeps_decoded_pixels_outside_hole(client):
    # Asked for PNG, the answer holds the decoded pixels exactly (a JPEG answer re-encodes them).
    jpeg = encode(random_image(seed=3), "JPEG", quality=90)
    image, mask = decode(jpeg), rect_mask()
    r = client.post(INPAINT, files=files(jpeg, encode(mask)), data={"format": "png"})
    assert_completed(r, image, mask)


def test_rgba_input_keeps_alpha(client):
    image, mask = random_image(seed=4, channels=4), rect_mask()
    out = client.post(INPAINT, files=files(encode(image), encode(mask)))
    assert out.status_code == 200, out.text
    out = decode(out.content)
    assert out.shape == (H, W, 4)
    np.testing.assert_array_equal(out[..., 3], image[..., 3])


def test_gray_input_gives_gray_output(client):
    image, mask = random_image(seed=7)[:, :, 0], rect_mask()
    r = client.post(INPAINT, files=files(encode(image), encode(mask)))
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(r.content))
    assert out.mode == "L"
    np.testing.assert_array_equal(np.asarray(out)[kept(mask)], image[kept(mask)])


def test_exif_rotated_photo_takes_an_upright_mask(client):
    """A phone photo stored sideways (EXIF orientation 6) is upright in the browser and here."""
    stored = Image.fromarray(random_image(seed=8))  # stored as 64x48
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif)
    upright = np.asarray(
        Image.open(io.BytesIO(buf.getvalue())).transpose(Image.Transpose.ROTATE_270)
    )
    mask = rect_mask(W, H, box=(10, 10, 30, 30))  # painted on the upright 48x64 view
    png = {"format": "png"}  # the decoded pixels, exactly
    r = client.post(INPAINT, files=files(buf.getvalue(), encode(mask)), data=png)
    assert_completed(r, upright, mask)
    r = client.post(INPAINT, files=files(buf.getvalue(), encode(rect_mask())))
    # The one wording of glcic.io.mask_size_error: the mask fits the stored, unturned pixels.
    assert_error(r, 422, "size_mismatch", "as if drawn on its stored 64x48 pixels before its EXIF rotation")


def test_empty_mask_leaves_image_unchanged(client):
    image = random_image(seed=5)
    r = client.post(INPAINT, files=files(encode(image), encode(np.zeros((H, W), np.uint8))))
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(decode(r.content), image)


def test_grey_and_alpha_masks_count_non_zero_as_hole(client):
    image = random_image(seed=6)
    grey = rect_mask() // 255 * 7  # any non-zero value is a hole
    assert_completed(client.post(INPAINT, files=files(encode(image), encode(grey))), image, grey)


def test_not_an_image(client):
    r = client.post(INPAINT, files=files(b"hello, not a picture", encode(rect_mask())))
    assert_error(r, 422, "invalid_image", "image is not an image this server can read")
    r = client.post(INPAINT, files=files(encode(random_image()), b"%PDF-1.4"))
    assert_error(r, 422, "invalid_mask", "mask is not an image this server can read")


def test_truncated_image(client):
    png = encode(random_image())
    r = client.post(INPAINT, files=files(png[: len(png) // 2], encode(rect_mask())))
    assert_error(r, 422, "invalid_image")


def test_size_mismatch(client):
    r = client.post(INPAINT, files=files(encode(random_image()), encode(rect_mask(H, W + 1))))
    assert_error(r, 422, "size_mismatch", f"mask is {W + 1}x{H} but image is {W}x{H}; paint the mask at the image's size")


def test_too_many_pixels_is_413(client):
    big = np.zeros((200, 200, 3), np.uint8)  # 40,000 > 16,384 pixels, tiny as a PNG
    r = client.post(INPAINT, files=files(encode(big), encode(np.zeros((200, 200), np.uint8))))
    assert_error(r, 413, "too_many_pixels", "200x200 = 40000 pixels")


def test_mask_over_the_pixel_limit_is_413(client):
    r = client.post(
        INPAINT, files=files(encode(random_image()), encode(np.zeros((200, 200), np.uint8)))
    )
    assert_error(r, 413, "too_many_pixels", "mask is 200x200 = 40000 pixels")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` 1-bit pixels and holds none."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_decompression_bomb_is_413_from_its_header(client):
    r = client.post(INPAINT, files=files(png_header_only(40_000, 40_000), encode(rect_mask())))
    assert_error(r, 413, "too_many_pixels", "image is far larger than this server's limit")


def test_gray_alpha_input_stays_gray_alpha(client):
    image, mask = random_image(seed=9, channels=2), rect_mask()
    r = client.post(INPAINT, files=files(encode(image), encode(mask)))
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(r.content))
    assert out.mode == "LA"
    np.testing.assert_array_equal(np.asarray(out)[..., 1], image[..., 1])
    np.testing.assert_array_equal(np.asarray(out)[kept(mask)], image[kept(mask)])


def test_full_mask_is_rejected(client):
    image = random_image()
    r = client.post(INPAINT, files=files(encode(image), encode(np.full((H, W), 255, np.uint8))))
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"error", "detail"}


def test_answer_says_which_model_strategy_and_scale_ran(client, pipe):
    image, mask = random_image(seed=2), rect_mask()
    r = client.post(INPAINT, files=files(encode(image), encode(mask)), data={"strategy": "resize"})
    assert r.status_code == 200, r.text
    assert r.headers["x-glcic-model"] == "tiny-test"
    assert r.headers["x-glcic-strategy"] == "resize"
    assert r.headers["x-glcic-postprocess"] == "blend"
    assert r.headers["x-glcic-hole-pixels"] == str(int((mask > 0).sum()))
    expected = pipe.run(image, mask > 0, strategy="resize").scale
    assert float(r.headers["x-glcic-scale"]) == pytest.approx(expected, rel=1e-3)
    r = client.post(INPAINT, files=files(encode(image), encode(mask)), data={"method": "telea"})
    assert (r.headers["x-glcic-model"], r.headers["x-glcic-strategy"]) == ("telea", "none")
    assert r.headers["x-glcic-scale"] == "1"


def test_model_names_are_percent_encoded_in_headers():
    from glcic.server.inpaint import what_ran

    headers = what_ran("faces 100% café", "crop", 0.5, "blend", 120)
    assert headers == {
        "X-Glcic-Model": "faces 100%25 caf%C3%A9",
        "X-Glcic-Strategy": "crop",
        "X-Glcic-Scale": "0.5",
        "X-Glcic-Postprocess": "blend",
        "X-Glcic-Hole-Pixels": "120",
    }
    for value in headers.values():
        value.encode("ascii")
