"""Reading the request body (glcic.server.requests): multipart and JSON, limits, field checks."""

from __future__ import annotations

import base64

import pytest

from tests.server.conftest import (
    INPAINT,
    assert_completed,
    assert_error,
    encode,
    files,
    random_image,
    rect_mask,
)


def test_json_base64_returns_png(client):
    image, mask = random_image(seed=2), rect_mask()
    body = {
        "image": base64.b64encode(encode(image)).decode(),
        # a data: URL and MIME line breaks are both fine
        "mask": "data:image/png;base64," + base64.encodebytes(encode(mask)).decode(),
        "postprocess": "none",
    }
    assert_completed(client.post(INPAINT, json=body), image, mask, seam=0)


def test_body_too_large_is_413_from_content_length(client):
    big = b"\0" * int(0.3 * 2**20)
    r = client.post(INPAINT, files=files(big, encode(rect_mask())))
    assert_error(r, 413, "payload_too_large", "limit of 0.2 MiB")


def test_body_too_large_is_413_while_streaming(client):
    """Without a Content-Length the body is counted as it arrives and cut off at the limit."""
    sent = []

    def chunks():
        for _ in range(64):  # 4 MiB offered, far past the 0.25 MiB limit
            sent.append(1)
            yield b"x" * 65536

    r = client.post(INPAINT, content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_multipart_too_large_is_413_while_streaming(client):
    boundary = "glcicboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def chunks():
        yield head
        for _ in range(64):  # 4 MiB of one file part, no Content-Length
            yield b"\0" * 65536

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    assert_error(client.post(INPAINT, content=chunks(), headers=headers), 413, "payload_too_large")


def test_too_many_parts_is_400(client):
    parts = [("image", (f"{i}.png", b"x", "image/png")) for i in range(10)]
    assert_error(client.post(INPAINT, files=parts), 400, "malformed_multipart", "too many files")


def test_missing_field(client):
    r = client.post(INPAINT, files={"image": ("i.png", encode(random_image()), "image/png")})
    assert_error(r, 422, "missing_field", "field 'mask' is required")
    r = client.post(INPAINT, json={"mask": "AAAA"})
    assert_error(r, 422, "missing_field", "field 'image' is required")


def test_text_field_instead_of_file(client):
    mask = {"mask": ("mask.png", encode(rect_mask()), "image/png")}
    r = client.post(INPAINT, data={"image": "/srv/photo.png"}, files=mask)
    assert_error(r, 422, "not_a_file", "curl: -F image=@FILE")


def test_unknown_field(client):
    image, mask = encode(random_image()), encode(rect_mask())
    r = client.post(INPAINT, files=files(image, mask), data={"path": "/etc/passwd"})
    assert_error(r, 422, "unknown_field", "unknown field(s) 'path'")


@pytest.mark.parametrize(
    "field,value", [("postprocess", "sharpen"), ("strategy", "tile"), ("method", "lama")]
)
def test_bad_enum(client, field, value):
    image, mask = encode(random_image()), encode(rect_mask())
    r = client.post(INPAINT, files=files(image, mask), data={field: value})
    assert_error(r, 422, "invalid_option", f"{field} must be one of")
    body = {
        "image": base64.b64encode(image).decode(),
        "mask": base64.b64encode(mask).decode(),
        field: value,
    }
    assert_error(client.post(INPAINT, json=body), 422, "invalid_option", repr(value))


def test_bad_base64(client):
    body = {"image": "not base64 at all!", "mask": base64.b64encode(encode(rect_mask())).decode()}
    assert_error(
        client.post(INPAINT, json=body), 400, "invalid_base64", "'image' is not valid base64"
    )


def test_wrong_json_types(client):
    assert_error(
        client.post(INPAINT, content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    assert_error(client.post(INPAINT, json=[1, 2]), 400, "invalid_json", "must be an object")
    assert_error(client.post(INPAINT, json={"image": 1, "mask": 2}), 422, "invalid_field", "image")


def test_unsupported_content_type(client):
    r = client.post(INPAINT, content=b"abc", headers={"content-type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type", "multipart/form-data")


@pytest.mark.parametrize("opener,closer", [(b"[", b"]"), (b'{"a":', b"}")])
def test_deeply_nested_json_is_400(client, opener, closer):
    body = opener * 5000 + b"1" + closer * 5000
    r = client.post(INPAINT, content=body, headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_json", "nested too deeply")


def test_huge_json_number_is_400(client):
    body = b'{"image": ' + b"9" * 5000 + b', "mask": "aGk="}'
    r = client.post(INPAINT, content=body, headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_json", "number too long")


def test_a_long_bad_option_is_not_echoed_in_full(client):
    body = {"image": "aGk=", "mask": "aGk=", "postprocess": "x" * 10_000}
    body = client.post(INPAINT, json=body).json()
    assert body["error"] == "invalid_option" and len(body["detail"]) < 200
