"""The work done on a worker thread for one request: decode, check, complete, encode.

Every problem with the two files becomes an :class:`~glcic.server.errors.ApiError`:
413 for an image or mask over the pixel limit, 422 for anything unreadable, a size
mismatch or a mask the pipeline cannot use.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from glcic.errors import InputError
from glcic.io import load_image, load_mask
from glcic.server.errors import ApiError
from glcic.server.requests import InpaintRequest


def run_inpaint(pipe: Any, req: InpaintRequest, max_pixels: int) -> bytes:
    """Decode, check and complete one request; return the PNG bytes. Raises ApiError."""
    # Pixel counts from the headers first, so an oversized file is a 413 before any decoding.
    _image_size(req.image, "image", max_pixels)
    _image_size(req.mask, "mask", max_pixels)
    try:
        loaded = load_image(req.image, max_pixels=max_pixels)  # upright: EXIF orientation applied
    except InputError as e:
        raise ApiError(422, "invalid_image", f"image: {e}") from e
    try:
        hole = load_mask(req.mask, max_pixels=max_pixels)  # (H, W) bool, True = hole
    except InputError as e:
        raise ApiError(422, "invalid_mask", f"mask: {e}") from e
    (w, h), (mh, mw) = loaded.size, hole.shape
    if (mh, mw) != (h, w):
        raise ApiError(
            422,
            "size_mismatch",
            f"the mask is {mw}x{mh} but the image is {w}x{h} (after EXIF rotation); "
            "paint the mask at the image's size",
        )
    # Gray images stay gray and transparency is handed back untouched: give the pipeline
    # a PIL image in the input's mode family (L, LA, RGB, RGBA); it answers in the same.
    if loaded.is_gray:
        g = loaded.rgb[:, :, 0]  # (H, W)
        pixels = g if loaded.alpha is None else np.stack([g, loaded.alpha], axis=2)  # (H, W[, 2])
    else:
        pixels = loaded.to_array()  # (H, W, 3 or 4)
    image = Image.fromarray(pixels)
    if not hole.any():  # nothing to complete: the input, as PNG
        return _encode_png(image)
    try:
        out = pipe(
            image, hole, postprocess=req.postprocess, strategy=req.strategy, method=req.method
        )
    except InputError as e:
        raise ApiError(422, "invalid_input", str(e)) from e
    if out.size != image.size:  # the pipeline promises the input's size
        raise RuntimeError(f"pipeline returned {out.size}, expected {image.size}")
    return _encode_png(out)


def _image_size(data: bytes, name: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) as stored, from the file header alone (no decompression bombs)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            size = im.size
    except UnidentifiedImageError as e:
        raise ApiError(
            422,
            f"invalid_{name}",
            f"{name} is not an image this server can read; send a PNG, JPEG, WebP, BMP, TIFF or GIF file",
        ) from e
    except Image.DecompressionBombError as e:
        raise ApiError(
            413,
            "too_many_pixels",
            f"{name} is far larger than this server's limit of {max_pixels} pixels",
        ) from e
    except Exception as e:  # PIL raises many types for files it cannot identify
        raise ApiError(
            422,
            f"invalid_{name}",
            f"{name} is not a readable image ({type(e).__name__}: {e}); send a PNG, JPEG, WebP, BMP, TIFF or GIF file",
        ) from e
    if size[0] * size[1] > max_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"{name} is {size[0]}x{size[1]} = {size[0] * size[1]} pixels; this server takes at most {max_pixels}: "
            "downscale it (or start the server with a larger --max-pixels)",
        )
    return size


def _encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    # compress_level 3: about as small as the default 6 on photos, several times faster.
    image.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()
