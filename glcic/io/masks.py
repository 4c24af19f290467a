"""Reading hole masks: any file, PIL image, array or tensor in, ``bool`` ``(H, W)`` out.

Mask convention: **True / white / non-zero = hole**. The rules for colour masks and
masks with transparency are in :func:`load_mask`; a mask of another size than its
image is refused, or resized with nearest neighbour when asked (it stays binary).

A mask saved as JPEG is not black and white any more: compression noise makes many
black pixels a little grey, and "non-zero" would grow the hole. JPEG masks are
therefore read with a threshold at mid-grey (:data:`JPEG_MASK_THRESHOLD`); any mask
can be given an explicit ``threshold``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from glcic.errors import InputError
from glcic.io.files import open_source
from glcic.io.images import ImageSource, check_pixels, open_pil
from glcic.io.modes import gray_to_unit, has_alpha
from glcic.options import DEFAULT_MAX_PIXELS

JPEG_MASK_THRESHOLD = 127
"""Masks read from JPEG files: a pixel is a hole when its value is over this (8-bit
scale); lossless masks use 0 (any non-zero pixel is a hole)."""

MASK_RULE = (
    "Mask: white / non-zero = hole, black = keep. A mask with transparent pixels (PNG or "
    "WebP with alpha) is read from its alpha instead: what is painted on a transparent layer "
    "is the hole, whatever its colour. JPEG masks count a pixel as hole above mid-grey."
)
"""The mask rule in one paragraph, for ``--help``, the docs and the HTTP API's schema."""


def load_mask(
    source: ImageSource | Any,
    size: tuple[int, int] | None = None,
    resize: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    exif_transpose: bool = True,
    threshold: int | None = None,
) -> np.ndarray:
    """Read a hole mask: **non-zero / white = hole** (over ``threshold``, when given).

    Rules by kind of source:

    - ``1``, ``L``, ``I;16``, ``F`` and colour images: a pixel is a hole when any of
      its channels is non-zero (soft, anti-aliased edges count as hole).
    - With transparency (``RGBA``, ``LA``, ``PA``, palette with transparency): when the
      alpha is not 255 everywhere, the alpha alone decides: what was painted on a
      transparent layer (alpha non-zero) is the hole, whatever its colour (red strokes
      on a transparent white layer, say). A mask whose alpha is the same everywhere
      (opaque) is read from its colour, as above; one whose alpha is 0 everywhere has
      nothing painted on it and is refused. (:data:`MASK_RULE` says this in one paragraph.)
    - Arrays and tensors: ``bool``, or numbers where non-zero = hole; shape
      ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` (the RGBA rule);
      tensors also ``(1, H, W)`` and ``(1, 1, H, W)``.

    Args:
        source: anything :func:`~glcic.io.load_image` reads, a numpy array or a torch tensor.
        size: ``(width, height)`` of the image the mask belongs to (PIL's ``size``).
        resize: when ``size`` differs, resize with nearest neighbour instead of failing
            (a mask of another aspect ratio is stretched: masks are not pictures of the scene).
        max_pixels: the same limit as for images; ``None`` disables it.
        exif_transpose: apply the EXIF orientation of a mask file or PIL image
            (as :func:`~glcic.io.load_image` does for images).
        threshold: a pixel is a hole when its value (8-bit scale, 0-254) is over
            this. ``None``: :data:`JPEG_MASK_THRESHOLD` for JPEG files (compression
            noise is not a hole), else 0 (any non-zero pixel).

    Returns:
        ``bool`` ``(H, W)``, True = hole.

    Raises:
        ImageTooLargeError: a mask over ``max_pixels``.
        InputError: unreadable mask (as in :func:`~glcic.io.load_image`), an unsupported
            array, a fully transparent mask, a threshold outside 0-254, or a size that
            differs from ``size`` while ``resize`` is False (the message says when the
            mask fits the image turned by 90 degrees: see :func:`mask_size_error`).
    """
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 254):
        raise InputError(
            f"mask threshold must be an integer in 0-254 (a pixel over it is a hole); got {threshold!r}"
        )
    if hasattr(source, "detach") and hasattr(source, "cpu"):  # a torch tensor; no torch import needed
        source = source.detach().cpu().numpy()
        while source.ndim > 2 and source.shape[0] == 1:
            source = source[0]
    if isinstance(source, np.ndarray):
        hole = mask_from_array(source, threshold or 0)
        check_pixels((hole.shape[1], hole.shape[0]), max_pixels, "mask array")
    else:
        if isinstance(source, Image.Image):
            im = source
            name = getattr(source, "filename", "") or "mask"
            check_pixels(im.size, max_pixels, name)
        else:
            with open_source(source) as (fp, name):
                im, _, _ = open_pil(fp, name, max_pixels)
        if threshold is None:
            threshold = JPEG_MASK_THRESHOLD if im.format in ("JPEG", "MPO") else 0
        if exif_transpose:
            im = ImageOps.exif_transpose(im)
        hole = _mask_from_pil(im, name, threshold)
    if size is not None:
        w, h = int(size[0]), int(size[1])
        if hole.shape != (h, w):
            if not resize:
                fix = "pass --resize-mask (Python: load_mask(..., resize=True)) to resize it with nearest neighbour"
                raise InputError(mask_size_error((hole.shape[1], hole.shape[0]), (w, h), fix))
            small = Image.fromarray(hole.astype(np.uint8) * 255)
            hole = np.asarray(small.resize((w, h), Image.Resampling.NEAREST)) > 0
    return np.ascontiguousarray(hole)


def mask_size_error(
    mask_size: tuple[int, int], image_size: tuple[int, int], fix: str = "draw the mask at the image's size"
) -> str:
    """Why a mask of ``mask_size`` does not fit an upright image of ``image_size``
    (both ``(width, height)``) and what to do: the one wording for the CLI, Python and
    the server, which each pass their own ``fix``.

    When the mask has the image's size turned by 90 degrees it was most likely drawn on
    the photo's stored pixels, before the EXIF orientation that viewers (and glcic)
    apply; then the message says so, and how to fix that, instead of ``fix``.
    """
    (mw, mh), (w, h) = mask_size, image_size
    text = f"mask is {mw}x{mh} but image is {w}x{h}"
    if (mw, mh) == (h, w) and w != h:
        return text + (
            " as viewers show it: the mask has the size of the image turned by 90 degrees, as if "
            f"drawn on its stored {h}x{w} pixels before its EXIF rotation (orientation tag); draw "
            "the mask on the upright image (as viewers show it), or rotate the mask the same way"
        )
    return f"{text}; {fix}"


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask file with :func:`load_mask`'s rules and no pixel limit (mask folders).

    Masks must be lossless (PNG, BMP): JPEG noise turns black pixels non-zero.

    Returns:
        ``bool`` array (H, W), True = hole.

    Raises:
        InputError: the file cannot be read as an image.
    """
    return load_mask(Path(path), max_pixels=None)


def mask_from_array(a: np.ndarray, threshold: int = 0) -> np.ndarray:
    """A ``bool``/numeric mask array -> ``bool`` ``(H, W)``, non-zero = hole (see :func:`load_mask`).

    With ``threshold`` > 0, a hole is a value over it (8-bit scale; float arrays whose
    values are all in [0, 1] are compared with ``threshold / 255``)."""
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.number):
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise InputError("mask array holds NaN or infinite values; expected 0 = keep, non-zero = hole")
    else:
        raise InputError(f"mask array must be bool or numeric (non-zero = hole); got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    t = threshold / 255 if threshold and np.issubdtype(a.dtype, np.floating) and a.size and a.max() <= 1 else threshold
    if a.ndim == 2:
        return a > t if threshold else a != 0
    if a.ndim == 3 and a.shape[2] == 3:
        return (a > t if threshold else a != 0).any(axis=2)
    if a.ndim == 3 and a.shape[2] == 4:
        return _rule_with_alpha(a, t, "mask array")
    raise InputError(
        f"mask array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {a.shape}; "
        "a (1, H, W) array needs mask[0]"
    )


def _mask_from_pil(im: Image.Image, name: str, threshold: int = 0) -> np.ndarray:
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(im)
        if mode == "F" and not np.isfinite(a).all():
            raise InputError(f"mask {name} holds NaN or infinite values; expected 0 = keep, non-zero = hole")
        if threshold:
            return gray_to_unit(im, name)[0] > threshold / 255
        return a != 0
    if mode in ("1", "L"):
        return np.asarray(im.convert("L")) > threshold
    if mode in ("LA", "La"):
        return _rule_with_alpha(np.asarray(im.convert("LA")), threshold, f"mask {name}")
    if has_alpha(im):
        return _rule_with_alpha(np.asarray(im.convert("RGBA")), threshold, f"mask {name}")
    try:
        rgb = np.asarray(im.convert("RGB"))
    except ValueError as e:
        raise InputError(f"mask {name} uses PIL mode {mode}; save it as a grayscale PNG (white = hole)") from e
    return (rgb > threshold).any(axis=2)


def _rule_with_alpha(a: np.ndarray, threshold: float = 0, name: str = "mask") -> np.ndarray:
    """(H, W, C+1) colour + alpha -> hole, by the rule in :func:`load_mask`: the alpha
    when some pixels are transparent (it varies), else the colour; refused when 0 everywhere."""
    colour, alpha = a[:, :, :-1], a[:, :, -1]
    if not alpha.any():
        raise InputError(
            f"{name} is transparent everywhere (alpha 0): nothing is painted on it, so there is no "
            "hole; paint the hole on the transparent layer, or save the mask without transparency "
            "(white = hole, black = keep)"
        )
    if alpha.min() == alpha.max():  # opaque everywhere (whatever the scale: 255, 65535, 1.0)
        return (colour > threshold if threshold else colour != 0).any(axis=2)
    return alpha > threshold if threshold else alpha != 0
