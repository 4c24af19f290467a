"""The HTTP API of glcic.server.app, through FastAPI's TestClient and a tiny random model."""

from __future__ import annotations

import base64
import importlib.util
import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.models.completion import CompletionNetwork
from glcic.server import ServerSettings, create_app, serve_in_thread

pipeline_mod = pytest.importorskip("glcic.pipeline", reason="glcic.pipeline is not there yet")
REPO = Path(__file__).resolve().parents[2]
INPAINT = "/api/v1/inpaint"
H, W = 48, 64


# ---- fixtures and helpers ------------------------------------------------------------


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    torch.manual_seed(0)
    cfg = ModelConfig(width=0.125)
    info = BundleInfo(
        model=cfg,
        resolution=64,
        mean_pixel=[0.5, 0.4, 0.3],
        name="tiny-test",
        training_data="none (random weights)",
        license="MIT",
    )
    folder = save_bundle(tmp_path_factory.mktemp("bundle"), CompletionNetwork(cfg).eval(), info)
    return pipeline_mod.InpaintPipeline.from_pretrained(str(folder), device="cpu")


SETTINGS = dict(max_upload_mb=0.25, max_pixels=128 * 128, max_concurrent=1, queue=4, timeout=30.0)


@pytest.fixture(scope="module")
def client(pipe):
    with TestClient(create_app(pipeline=pipe, settings=ServerSettings(**SETTINGS))) as c:
        yield c


def random_image(h: int = H, w: int = W, seed: int = 0, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, channels), dtype=np.uint8)


def rect_mask(h: int = H, w: int = W, box=(12, 16, 32, 40)) -> np.ndarray:
    """(H, W) uint8, 255 = hole; box = (top, left, bottom, right)."""
    m = np.zeros((h, w), np.uint8)
    t, left, b, r = box
    m[t:b, left:r] = 255
    return m


def encode(array: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kw)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def files(image: bytes, mask: bytes) -> dict:
    return {"image": ("image.png", image, "image/png"), "mask": ("mask.png", mask, "image/png")}


def assert_error(r, status: int, error: str, match: str = "") -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "detail"}, body
    assert body["error"] == error, body
    assert match.lower() in body["detail"].lower(), body
    return body


def assert_completed(r, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    out = decode(r.content)
    assert out.shape == image.shape
    hole = mask > 0
    np.testing.assert_array_equal(out[~hole], image[~hole])  # outside the hole: untouched
    return out


# ---- valid requests ---------------------------------------------------------------------


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
    assert_completed(r, image, mask)


def test_blend_changes_only_the_hole_and_its_seam(client):
    from glcic.postprocess import DEFAULT_SEAM

    image, mask = random_image(seed=1), rect_mask()
    r = client.post(
        INPAINT, files=files(encode(image), encode(mask)), data={"postprocess": "blend"}
    )
    t, left, b, right = 12, 16, 32, 40  # rect_mask's box, grown by the seam
    s = DEFAULT_SEAM
    assert_completed(r, image, rect_mask(box=(t - s, left - s, b + s, right + s)))


def test_json_base64_returns_png(client):
    image, mask = random_image(seed=2), rect_mask()
    body = {
        "image": base64.b64encode(encode(image)).decode(),
        # a data: URL and MIME line breaks are both fine
        "mask": "data:image/png;base64," + base64.encodebytes(encode(mask)).decode(),
        "postprocess": "none",
    }
    assert_completed(client.post(INPAINT, json=body), image, mask)


def test_jpeg_input_keeps_decoded_pixels_outside_hole(client):
    jpeg = encode(random_image(seed=3), "JPEG", quality=90)
    image, mask = decode(jpeg), rect_mask()
    r = client.post(INPAINT, files=files(jpeg, encode(mask)))
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
    np.testing.assert_array_equal(np.asarray(out)[mask == 0], image[mask == 0])


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
    assert_completed(client.post(INPAINT, files=files(buf.getvalue(), encode(mask))), upright, mask)
    r = client.post(INPAINT, files=files(buf.getvalue(), encode(rect_mask())))
    assert_error(r, 422, "size_mismatch", "after EXIF rotation")


def test_empty_mask_leaves_image_unchanged(client):
    image = random_image(seed=5)
    r = client.post(INPAINT, files=files(encode(image), encode(np.zeros((H, W), np.uint8))))
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(decode(r.content), image)


def test_grey_and_alpha_masks_count_non_zero_as_hole(client):
    image = random_image(seed=6)
    grey = rect_mask() // 255 * 7  # any non-zero value is a hole
    assert_completed(client.post(INPAINT, files=files(encode(image), encode(grey))), image, grey)


# ---- client errors -------------------------------------------------------------------------


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
    assert_error(r, 422, "size_mismatch", f"the mask is {W + 1}x{H} but the image is {W}x{H}")


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


def test_too_many_pixels_is_413(client):
    big = np.zeros((200, 200, 3), np.uint8)  # 40,000 > 16,384 pixels, tiny as a PNG
    r = client.post(INPAINT, files=files(encode(big), encode(np.zeros((200, 200), np.uint8))))
    assert_error(r, 413, "too_many_pixels", "200x200 = 40000 pixels")


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


def test_full_mask_is_rejected(client):
    image = random_image()
    r = client.post(INPAINT, files=files(encode(image), encode(np.full((H, W), 255, np.uint8))))
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"error", "detail"}


def test_unknown_path_and_method_are_json(client):
    assert_error(client.get("/api/v1/nothing"), 404, "not_found")
    assert_error(client.get(INPAINT), 405, "method_not_allowed")


def test_static_files_cannot_escape_their_folder(client):
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert b"create_app" not in r.content


# ---- limits on concurrency and time --------------------------------------------------------------


class BlockingPipeline:
    """Wraps a pipeline; every call waits until ``release`` is set."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.entered = threading.Event()
        self.release = threading.Event()

    @property
    def info(self):
        return self.pipe.info

    def __call__(self, *args, **kwargs):
        self.entered.set()
        self.release.wait(20)
        return self.pipe(*args, **kwargs)


def test_queue_full_is_503_with_retry_after(pipe):
    blocking = BlockingPipeline(pipe)
    settings = ServerSettings(max_concurrent=1, queue=0, retry_after=7)
    image, mask = encode(random_image()), encode(rect_mask())
    with TestClient(create_app(pipeline=blocking, settings=settings)) as c:
        first: dict = {}
        t = threading.Thread(
            target=lambda: first.update(r=c.post(INPAINT, files=files(image, mask)))
        )
        t.start()
        try:
            assert blocking.entered.wait(10)
            r = c.post(INPAINT, files=files(image, mask))
            assert_error(r, 503, "busy", "retry in 7 s")
            assert r.headers["retry-after"] == "7"
            assert c.get("/api/v1/health").json()["running"] == 1
        finally:
            blocking.release.set()
            t.join(20)
        assert first["r"].status_code == 200
        # the slot is free again
        assert c.post(INPAINT, files=files(image, mask)).status_code == 200


def test_slow_request_is_504_and_keeps_its_slot_until_done(pipe):
    blocking = BlockingPipeline(pipe)
    settings = ServerSettings(max_concurrent=1, queue=0, timeout=0.2)
    image, mask = encode(random_image()), encode(rect_mask())
    with TestClient(create_app(pipeline=blocking, settings=settings)) as c:
        r = c.post(INPAINT, files=files(image, mask))
        assert_error(r, 504, "timeout", "0.2 s")
        # the timed-out job still runs on its thread, so there is no room for another
        assert_error(c.post(INPAINT, files=files(image, mask)), 503, "busy")
        blocking.release.set()
        deadline = time.monotonic() + 10
        while c.get("/api/v1/health").json()["running"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert c.post(INPAINT, files=files(image, mask)).status_code == 200


def test_server_bug_is_json_500_without_traceback(pipe):
    class Broken:
        info = pipe.info

        def __call__(self, *args, **kwargs):
            raise RuntimeError("secret internal state /home/model")

    app = create_app(pipeline=Broken(), settings=ServerSettings())
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post(INPAINT, files=files(encode(random_image()), encode(rect_mask())))
        assert_error(r, 500, "internal_error")
        assert "secret" not in r.text and "Traceback" not in r.text


# ---- service endpoints and the page ------------------------------------------------------------------


def test_health(client):
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["limits"]["max_pixels"] == 128 * 128
    assert body["limits"]["max_upload_bytes"] == int(0.25 * 2**20)
    assert body["running"] == 0 and body["waiting"] == 0


def test_model(client, pipe):
    body = client.get("/api/v1/model").json()
    assert body == dict(pipe.info)
    assert body["name"] == "tiny-test"
    assert body["resolution"] == 64
    for key in ("training_data", "value_range", "license"):
        assert key in body


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert 'src="/static/app.js"' in r.text and "https://" not in r.text  # no CDN
    types = {"app.js": "javascript", "style.css": "text/css", "index.html": "text/html"}
    for name, kind in types.items():
        r = client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert kind in r.headers["content-type"], (name, r.headers["content-type"])
        assert r.headers["x-content-type-options"] == "nosniff"


def test_openapi_documents_both_request_forms(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"][INPAINT]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    assert body["multipart/form-data"]["schema"]["required"] == ["image", "mask"]
    assert client.get("/docs").status_code == 200


def test_serve_with_a_missing_model_fails_clearly(tmp_path):
    cmd = [sys.executable, "-m", "glcic.cli", "serve", "--model", str(tmp_path / "nope")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "glcic export" in proc.stderr


def test_settings_are_checked():
    with pytest.raises(ValueError, match="queue must be >= 0"):
        ServerSettings(queue=-1).check()
    with pytest.raises(ValueError, match="max_concurrent must be >= 1"):
        ServerSettings(max_concurrent=0).check()


def test_serve_flags_default_to_server_settings():
    import argparse

    from glcic.commands import serve

    parser = serve.register(argparse.ArgumentParser().add_subparsers(), "serve")
    args = parser.parse_args([])
    s = ServerSettings()
    assert args.host == "127.0.0.1"
    assert (args.max_upload_mb, args.max_pixels, args.max_concurrent, args.queue, args.timeout) == (
        s.max_upload_mb,
        s.max_pixels,
        s.max_concurrent,
        s.queue,
        s.timeout,
    )


# ---- a small version of benchmarks/load_test.py -----------------------------------------------------


def _load_test_module():
    name = "glcic_benchmarks_load_test"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / "load_test.py")
        sys.modules[name] = importlib.util.module_from_spec(
            spec
        )  # dataclasses look themselves up here
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def test_load_smoke(pipe):
    """24 mixed valid and invalid requests, 4 at a time, over real HTTP: no 5xx, all answered right."""
    load_test = _load_test_module()
    app = create_app(pipeline=pipe, settings=ServerSettings(max_concurrent=2, queue=8))
    with serve_in_thread(app) as url:
        report = load_test.run_load(url, requests=24, concurrency=4, seed=0)
    assert report.server_errors == 0, report.failures
    assert report.failures == []
    assert report.valid_ok == report.valid > 0
    assert report.invalid_ok == report.invalid > 0


def test_openapi_docs_work_offline(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/_swagger/swagger-ui-bundle.js" in r.text
    assert "cdn" not in r.text.lower() and "https://" not in r.text.replace("https://fastapi.tiangolo.com", "")
    js = client.get("/_swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "glcic"
