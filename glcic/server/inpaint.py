"""The work done on a worker thread for one request: decode, check, complete, encode.

The answer carries what ran: ``X-Glcic-Model`` (the model's name on this server, the one
the request's ``model`` field takes, or the classical method), ``X-Glcic-Strategy`` and
``X-Glcic-Scale`` (:meth:`glcic.pipeline.InpaintPipeline.run`'s result),
``X-Glcic-Postprocess`` and ``X-Glcic-Hole-Pixels``. An empty mask runs nothing: the
input comes back (re-encoded by the same rules) with ``X-Glcic-Hole-Pixels: 0``,
strategy and post-processing ``none``. The file is encoded by :mod:`glcic.server.answer`.

Every problem with the two files becomes an :class:`~glcic.server.errors.ApiError`:
413 for an image or mask over the pixel limit (:mod:`glcic.io` checks it from the
file header, before decoding) or a method and hole that would need more memory than
one request may use (:mod:`glcic.server.costs`), 422 for anything unreadable, a size
mismatch or a mask the pipeline cannot use. The decoded image goes to the pipeline as it is (a
:class:`~glcic.io.LoadedImage`); the pipeline keeps gray gray and alpha untouched
(:mod:`glcic.inputs`), so the server has no rules of its own about modes.
"""

from __future__ import annotations

import io
import string
from typing import Any
from urllib.parse import quote

import numpy as np
from PIL import Image, UnidentifiedImageError

from glcic.errors import ImageTooLargeError, InputError
from glcic.inputs import to_pil
from glcic.io import READABLE, LoadedImage, load_image, load_mask, mask_size_error
from glcic.server.answer import Answer, check_alpha, encode_answer, requested_format
from glcic.server.costs import check_cost, refine_window
from glcic.server.errors import ApiError
from glcic.server.requests import InpaintRequest

HEADER_SAFE = " " + "".join(c for c in string.printable if c not in string.whitespace + "%")
"""Characters a header value keeps as they are: printable ASCII and space, but ``%`` (the escape)."""


def run_inpaint(pipe: Any, req: InpaintRequest, max_pixels: int) -> tuple[Answer, dict[str, str]]:
    """Decode, check and complete one request with ``pipe``, the model ``req.model`` names.
    Raises ApiError.

    Returns:
        The encoded answer, and the headers that say what ran (:func:`what_ran`).
    """
    loaded, hole = _decode(req, max_pixels)
    fmt = requested_format(req.format)
    check_alpha(fmt, loaded.info, loaded.alpha is not None)  # before any work
    # The server's name for the model (what a request sends back), not the bundle's own.
    model = req.model if req.method == "glcic" else req.method
    holes = int(hole.sum())
    bundle = getattr(pipe, "bundle_info", None)
    width = bundle.model.width if bundle is not None else 0.5
    window = refine_window(hole) if req.method == "glcic" and req.strategy == "refine" else 0
    check_cost(req.method, req.strategy, loaded.size, holes, width, max_pixels, window)
    if not holes:  # nothing to complete: the input, encoded as asked; nothing claimed
        out: Any = loaded.deep if loaded.deep is not None else to_pil(loaded)
        ran = what_ran(model, "none", 1.0, "none", 0)
    else:
        try:
            # The pipeline answers a LoadedImage in its own kind: a PIL image (L, LA, RGB,
            # RGBA, I;16) or a uint16 array for 16-bit colour.
            result = pipe.run(
                loaded, hole, postprocess=req.postprocess, strategy=req.strategy, method=req.method
            )
        except InputError as e:
            raise ApiError(422, "invalid_input", str(e)) from e
        out = result.image
        size = out.size if isinstance(out, Image.Image) else out.shape[1::-1]  # (W, H)
        if tuple(size) != loaded.size:  # the pipeline promises the input's size
            raise RuntimeError(f"pipeline returned {size}, expected {loaded.size}")
        ran = what_ran(model, result.strategy, result.scale, result.postprocess, holes)
    answer = encode_answer(
        out,
        loaded.info,
        fmt,
        strip_metadata=req.strip_metadata,
        quality=req.quality,
        image_name=req.image_name,
    )
    return answer, ran


def what_ran(
    model: str, strategy: str, scale: float, postprocess: str = "none", hole_pixels: int = 0
) -> dict[str, str]:
    """The ``X-Glcic-*`` headers: the model (its name on the server, or the classical method), the strategy
    that ran (``none`` for a classical method or an empty mask), the network's scale
    (1 = native), the post-processing that ran (``none`` for an empty mask, and for ``auto``
    where it left every hole unblended) and how many
    pixels were hole. A name that is not plain ASCII is percent-encoded UTF-8, as headers must be."""
    return {
        "X-Glcic-Model": quote(model, safe=HEADER_SAFE),
        "X-Glcic-Strategy": strategy,
        "X-Glcic-Scale": f"{scale:.4g}",
        "X-Glcic-Postprocess": postprocess,
        "X-Glcic-Hole-Pixels": str(hole_pixels),
    }


def _decode(req: InpaintRequest, max_pixels: int) -> tuple[LoadedImage, np.ndarray]:
    """The upright image and its hole (``bool`` ``(H, W)``, True = hole), of the same size."""
    try:
        loaded = load_image(req.image, max_pixels=max_pixels)  # upright: EXIF orientation applied
    except InputError as e:
        raise _unreadable("image", req.image, e, max_pixels) from e
    try:
        hole = load_mask(req.mask, max_pixels=max_pixels)  # (H, W) bool, True = hole
    except InputError as e:
        raise _unreadable("mask", req.mask, e, max_pixels) from e
    (w, h), (mh, mw) = loaded.size, hole.shape
    if (mh, mw) != (h, w):
        raise ApiError(422, "size_mismatch", mask_size_error((mw, mh), (w, h), "paint the mask at the image's size"))
    return loaded, hole


def _unreadable(name: str, data: bytes, e: InputError, max_pixels: int) -> ApiError:
    """The answer to a file :mod:`glcic.io` refused: 413 when too large, else 422."""
    if isinstance(e, ImageTooLargeError):
        return _too_many_pixels(name, data, max_pixels)
    if isinstance(e.__cause__, UnidentifiedImageError):
        detail = f"{name} is not an image this server can read; send a {READABLE} file"
    else:
        detail = f"{name}: {e}"
    return ApiError(422, f"invalid_{name}", detail)


def _too_many_pixels(name: str, data: bytes, max_pixels: int) -> ApiError:
    # glcic.io refused it from the header; the header is read again here only to say
    # how large it is, in the server's words (pixels, and the flag that raises the limit).
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except Image.DecompressionBombError:
        return ApiError(
            413,
            "too_many_pixels",
            f"{name} is far larger than this server's limit of {max_pixels} pixels",
        )
    return ApiError(
        413,
        "too_many_pixels",
        f"{name} is {w}x{h} = {w * h} pixels; this server takes at most {max_pixels}: "
        "downscale it (or start the server with a larger --max-pixels)",
    )
