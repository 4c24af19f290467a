"""The load test's requests and their checks: what benchmarks/load_test.py sends, and what it expects back.

``make_case`` draws one request: 70 % valid (multipart or JSON, an image of one of
``SIZES`` with a random rectangular hole), 30 % one of ``INVALID_KINDS``. ``check`` says
whether the server's answer is right for it: a valid request must come back as a PNG of
its input's size with every pixel outside the hole (and the blend's seam around it)
equal to the input's; an invalid one as the ``EXPECTED`` 4xx JSON.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import cv2
import httpx
import numpy as np
from PIL import Image

from glcic.postprocess import DEFAULT_SEAM

INPAINT = "/api/v1/inpaint"
SIZES = [(64, 64), (96, 128), (120, 160), (192, 256)]  # (H, W)
INVALID_KINDS = [
    "not_an_image",
    "truncated",
    "size_mismatch",
    "bad_option",
    "missing_mask",
    "bad_base64",
]
EXPECTED = {  # kind -> (status, error code)
    "not_an_image": (422, "invalid_image"),
    "truncated": (422, "invalid_image"),
    "size_mismatch": (422, "size_mismatch"),
    "bad_option": (422, "invalid_option"),
    "missing_mask": (422, "missing_field"),
    "bad_base64": (400, "invalid_base64"),
}


@dataclass
class Case:
    kind: str  # "multipart", "json" or one of INVALID_KINDS
    request: dict[str, Any]  # keyword arguments of httpx.AsyncClient.post
    image: np.ndarray | None = None  # (H, W, 3) uint8, for valid cases
    mask: np.ndarray | None = None  # (H, W) bool, True = hole

    @property
    def valid(self) -> bool:
        return self.kind in ("multipart", "json")


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def make_case(rng: np.random.Generator) -> Case:
    """One request: 70 % valid (multipart or JSON), 30 % one of the invalid kinds."""
    h, w = SIZES[rng.integers(len(SIZES))]
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mh, mw = int(rng.integers(h // 8, h // 2)), int(rng.integers(w // 8, w // 2))
    top, left = int(rng.integers(0, h - mh)), int(rng.integers(0, w - mw))
    mask[top : top + mh, left : left + mw] = True
    image_png, mask_png = _png(image), _png(mask.astype(np.uint8) * 255)

    def multipart(img: bytes, msk: bytes | None, **data: str) -> dict[str, Any]:
        files = {"image": ("image.png", img, "image/png")}
        if msk is not None:
            files["mask"] = ("mask.png", msk, "image/png")
        return {"files": files, "data": data}

    if rng.random() < 0.7:
        if rng.random() < 0.5:
            return Case("multipart", multipart(image_png, mask_png), image, mask)
        body = {
            "image": base64.b64encode(image_png).decode(),
            "mask": base64.b64encode(mask_png).decode(),
        }
        return Case("json", {"json": body}, image, mask)
    kind = INVALID_KINDS[rng.integers(len(INVALID_KINDS))]
    if kind == "not_an_image":
        req = multipart(b"this is not an image" * 10, mask_png)
    elif kind == "truncated":
        req = multipart(image_png[: len(image_png) // 2], mask_png)
    elif kind == "size_mismatch":
        req = multipart(image_png, _png(np.zeros((h + 1, w), np.uint8)))
    elif kind == "bad_option":
        req = multipart(image_png, mask_png, postprocess="sharpen")
    elif kind == "missing_mask":
        req = multipart(image_png, None)
    else:  # bad_base64
        req = {"json": {"image": "%%% not base64 %%%", "mask": base64.b64encode(mask_png).decode()}}
    return Case(kind, req)


def _kept(hole: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels farther than the blend seam from the hole (the server blends by default)."""
    band = np.ones((2 * DEFAULT_SEAM + 1,) * 2, np.uint8)
    return cv2.dilate(hole.astype(np.uint8), band) == 0


def check(case: Case, response: httpx.Response) -> str | None:
    """None when the answer is right for the case; otherwise what was wrong."""
    if case.valid:
        if response.status_code != 200:
            return f"{case.kind}: status {response.status_code}: {response.text[:200]}"
        if response.headers.get("content-type") != "image/png":
            return f"{case.kind}: content-type {response.headers.get('content-type')}"
        out = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
        if out.shape != case.image.shape:
            return f"{case.kind}: shape {out.shape}, expected {case.image.shape}"
        keep = _kept(case.mask)
        if not np.array_equal(out[keep], case.image[keep]):
            return f"{case.kind}: pixels outside the hole and its {DEFAULT_SEAM}-pixel seam changed"
        return None
    status, code = EXPECTED[case.kind]
    try:
        body = response.json()
    except ValueError:
        return f"{case.kind}: status {response.status_code}, body is not JSON"
    if response.status_code != status or body.get("error") != code or not body.get("detail"):
        return f"{case.kind}: got {response.status_code} {body}, expected {status} {code}"
    return None
