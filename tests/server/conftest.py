"""Fixtures and helpers of the server tests: a tiny random-weight pipeline, a client, test images."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from glcic import InpaintPipeline
from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.models.completion import CompletionNetwork
from glcic.postprocess import DEFAULT_SEAM
from glcic.server import ServerSettings, create_app

INPAINT = "/api/v1/inpaint"
H, W = 48, 64


def tiny_bundle(
    folder, name: str = "tiny-test", seed: int = 0, mean_pixel=(0.5, 0.4, 0.3), **text
) -> str:
    """Write a random-weight bundle of width 1/8 (a few hundred KB) into ``folder``; its path."""
    torch.manual_seed(seed)
    cfg = ModelConfig(width=0.125)
    text = {"training_data": "none (random weights)", "license": "MIT", **text}
    info = BundleInfo(model=cfg, resolution=64, mean_pixel=list(mean_pixel), name=name, **text)
    return str(save_bundle(folder, CompletionNetwork(cfg).eval(), info))


@pytest.fixture(scope="session")
def pipe(tmp_path_factory):
    folder = tiny_bundle(tmp_path_factory.mktemp("bundle"))
    return InpaintPipeline.from_pretrained(folder, device="cpu")


@pytest.fixture(scope="session")
def other_pipe(tmp_path_factory):
    """A second tiny pipeline that fills holes differently from ``pipe`` (other weights, other mean)."""
    folder = tiny_bundle(
        tmp_path_factory.mktemp("other"),
        "tiny-other",
        seed=1,
        mean_pixel=(0.1, 0.9, 0.2),
        description="The other tiny test model.",
        license="CC0",
    )
    return InpaintPipeline.from_pretrained(folder, device="cpu")


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


def kept(mask: np.ndarray, seam: int = DEFAULT_SEAM) -> np.ndarray:
    """(H, W) bool: the pixels farther than ``seam`` from the hole (``mask > 0``), which no answer may change.

    The server blends by default, and blending may change a ``seam``-pixel band around the hole.
    """
    hole = (mask > 0).astype(np.uint8)
    if seam:
        hole = cv2.dilate(hole, np.ones((2 * seam + 1, 2 * seam + 1), np.uint8))
    return hole == 0


def assert_completed(
    r, image: np.ndarray, mask: np.ndarray, seam: int = DEFAULT_SEAM
) -> np.ndarray:
    """A 200 PNG of ``image``'s shape, equal to ``image`` outside the hole and its ``seam`` (0: no blend)."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    out = decode(r.content)
    assert out.shape == image.shape
    keep = kept(mask, seam)
    np.testing.assert_array_equal(out[keep], image[keep])  # outside the hole: untouched
    return out
