"""Writing results: the output format from the file ending, checked before any work,
and an atomic write (a temporary file, then ``os.replace``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from glcic.atomic import atomic_write
from glcic.errors import InputError
from glcic.io.modes import GRAY_MODES

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}
"""Output file ending -> PIL format. WebP is written lossless, JPEG at quality 95."""


def check_save_path(path: str | os.PathLike, has_alpha: bool = False) -> str:
    """Check that ``path`` can be written by :func:`save_image`; return the PIL format.

    Call it before expensive work so that a bad ``--output`` fails at once.

    Raises:
        InputError: unknown file ending, alpha into JPEG/BMP, a folder at ``path`` or a
            missing parent folder.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SAVE_FORMATS:
        raise InputError(
            f"cannot tell the output format from {path.name!r}; end the file name with one of "
            f"{', '.join(SAVE_FORMATS)}"
        )
    fmt = SAVE_FORMATS[suffix]
    if has_alpha and fmt in ("JPEG", "BMP"):
        raise InputError(
            f"{path.name}: {fmt} cannot store the image's transparency (alpha channel); write .png or "
            ".webp to keep it"
        )
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a file name such as {path / 'result.png'}")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK):
        raise InputError(
            f"cannot write {path}: the folder {path.parent} is read-only for this user; write into another folder"
        )
    return fmt


def save_image(
    path: str | os.PathLike, rgb: np.ndarray | Image.Image, alpha: np.ndarray | None = None
) -> Path:
    """Write an image atomically: a temporary file in the same folder, then ``os.replace``.

    A crash or a full disk never leaves a half-written file at ``path``.

    Args:
        path: output file; its ending picks the format (``.png``, ``.jpg``/``.jpeg``
            at quality 95, ``.webp`` lossless, ``.bmp``).
        rgb: ``uint8`` ``(H, W, 3)`` RGB or ``(H, W)`` grayscale, or a PIL image
            (written in its own mode, e.g. 16-bit ``I;16`` into PNG).
        alpha: optional ``uint8`` ``(H, W)`` transparency (255 = opaque).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InputError: unknown ending (checked before any work), alpha into JPEG/BMP, wrong
            array shape or dtype, a missing folder, or a write error.
    """
    path = Path(path)
    if isinstance(rgb, Image.Image):
        if alpha is not None:
            raise InputError("pass alpha only with an array; a PIL image carries its own alpha")
        fmt = check_save_path(path, has_alpha="A" in rgb.mode or "transparency" in rgb.info)
        im = rgb
    else:
        fmt = check_save_path(path, has_alpha=alpha is not None)
        im = _array_to_pil(rgb, alpha)
    if fmt == "JPEG" and im.mode not in ("RGB", "L", "CMYK"):
        im = im.convert("RGB" if im.mode not in GRAY_MODES else "L")
    options: dict[str, Any] = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(fmt, {})
    try:
        with atomic_write(path) as f:  # a full disk or a crash leaves no half-written file
            im.save(f, format=fmt, **options)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}; check the folder's permissions and free space") from e
    return path



def _array_to_pil(rgb: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        got = rgb.dtype if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InputError(f"save_image takes a uint8 array (H, W, 3) or (H, W) or a PIL image; got {got}")
    if not (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 3)):
        raise InputError(f"save_image takes an (H, W, 3) RGB or (H, W) gray array; got shape {rgb.shape}")
    if alpha is None:
        return Image.fromarray(np.ascontiguousarray(rgb))
    if alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]:
        raise InputError(
            f"alpha must be uint8 of shape {rgb.shape[:2]} (the image's H, W); got {alpha.dtype} {alpha.shape}"
        )
    if rgb.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(np.stack([rgb, alpha], axis=2)))  # LA
    return Image.fromarray(np.ascontiguousarray(np.concatenate([rgb, alpha[:, :, None]], axis=2)))  # RGBA
