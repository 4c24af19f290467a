"""Reading images: any source in, upright RGB ``uint8`` (plus alpha) out.

A source is a path, ``bytes``, a binary file object, a PIL image or a ``uint8``
array. The file's header is read first and the pixel limit checked before a single
pixel is decoded (an over-limit image raises :class:`~glcic.errors.ImageTooLargeError`);
then the file is decoded fully, so truncated files fail here and not later. The
mode conversions are in :mod:`glcic.io.modes`.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from glcic.errors import ImageTooLargeError, InputError
from glcic.io.files import READABLE, open_source
from glcic.io.modes import GRAY_MODES, ORIENTATIONS, decode_png16, is_png16_color, pil_to_rgb
from glcic.options import DEFAULT_MAX_PIXELS

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray

DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
"""What PIL raises for files that are not images, are truncated or are corrupt."""

_PIL_LIMIT_LOCK = threading.Lock()


@dataclass
class LoadedImage:
    """A decoded image: RGB pixels, the alpha channel if any, and where it came from.

    Attributes:
        rgb: ``uint8`` ``(H, W, 3)`` in [0, 255], upright.
        alpha: ``uint8`` ``(H, W)`` or ``None`` when the source had no transparency.
        mode: the source's PIL mode (``"RGB"``, ``"L"``, ``"I;16"``, ``"P"``,
            ``"CMYK"``, ...) or ``"array"`` for a numpy input.
        name: the file name (or ``"<bytes>"``, ``"<PIL image>"``, ...) used in messages.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    mode: str
    name: str = "<image>"

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, as PIL's ``Image.size``."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    @property
    def is_gray(self) -> bool:
        """True when the source was a single-channel image (with or without alpha)."""
        return self.mode in GRAY_MODES

    def to_array(self) -> np.ndarray:
        """``(H, W, 3)`` RGB, or ``(H, W, 4)`` RGBA when there is an alpha channel."""
        if self.alpha is None:
            return self.rgb
        return np.concatenate([self.rgb, self.alpha[:, :, None]], axis=2)  # (H, W, 4)


def load_image(
    source: ImageSource, max_pixels: int | None = DEFAULT_MAX_PIXELS, *, exif_transpose: bool = True
) -> LoadedImage:
    """Decode an image from a file, bytes, a file object, a PIL image or an array.

    Every mode becomes 8-bit RGB (see :mod:`glcic.io.modes`): grayscale is repeated
    over the three channels, palettes expanded, alpha kept apart in
    :attr:`LoadedImage.alpha`, 16-bit data scaled with ``round(v / 257)``.

    Args:
        source: a path, ``bytes``, a binary file object, a PIL image, or a ``uint8``
            array of shape ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` (RGB(A)).
        max_pixels: refuse images with more than this many pixels (width x height),
            checked from the file header before any decoding. ``None`` disables it.
        exif_transpose: rotate/flip by the EXIF orientation tag, so a phone photo
            stored sideways comes back upright.

    Returns:
        The decoded :class:`LoadedImage`.

    Raises:
        ImageTooLargeError: an image over ``max_pixels``.
        InputError: missing file, folder, empty file, not an image, truncated or
            corrupt data, or an unsupported array; the message names the source.
    """
    if isinstance(source, np.ndarray):
        return _image_from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "") or "<PIL image>"
        check_pixels(source.size, max_pixels, name)
        return _decode_pil(source, name, exif_transpose, raw=None)
    with open_source(source) as (fp, name):
        start = fp.tell()
        im, png16 = open_pil(fp, name, max_pixels)
        raw = None
        if png16:
            # PIL keeps only the high byte of 16-bit colour PNGs; OpenCV reads all 16 bits.
            fp.seek(start)
            raw = fp.read()
        return _decode_pil(im, name, exif_transpose, raw=raw)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file into an upright RGB array, with no pixel limit (datasets).

    Args:
        path: an image file (any of :data:`~glcic.io.READ_EXTENSIONS`, or anything PIL decodes).

    Returns:
        ``uint8`` array of shape ``(H, W, 3)``, values in [0, 255]; alpha is dropped.

    Raises:
        InputError: the file is missing, is not an image or is truncated; the message
            names the file.
    """
    return load_image(Path(path), max_pixels=None).rgb


def check_uint8(a: np.ndarray, name: str = "image array") -> None:
    """Raise InputError, with the conversion to use, unless ``a`` has dtype uint8."""
    if a.dtype != np.uint8:
        hint = (
            "if it holds [0, 1] floats, use (x * 255).round().astype(np.uint8)"
            if np.issubdtype(a.dtype, np.floating)
            else "convert it to uint8 in [0, 255]"
        )
        raise InputError(f"{name} must have dtype uint8; got {a.dtype}; {hint}")


def _image_from_array(a: np.ndarray, max_pixels: int | None) -> LoadedImage:
    check_uint8(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        rgb, alpha, mode = np.repeat(a[:, :, None], 3, axis=2), None, "array"
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[:, :, :3]
        alpha = a[:, :, 3].copy() if a.shape[2] == 4 else None
        mode = "array"
    else:
        hint = "channels-first arrays need x.transpose(1, 2, 0)" if a.ndim == 3 and a.shape[0] in (1, 3, 4) else ""
        raise InputError(
            f"image array must have shape (H, W), (H, W, 3) or (H, W, 4); got {a.shape}"
            + (f"; {hint}" if hint else "")
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"image array is empty (shape {a.shape}); give an image with pixels")
    check_pixels((a.shape[1], a.shape[0]), max_pixels, "image array")
    return LoadedImage(np.ascontiguousarray(rgb), alpha, mode, "<array>")


# --------------------------------------------------------------------------- the pixel limit


@contextmanager
def _pil_limit(max_pixels: int | None) -> Iterator[None]:
    """Let PIL open images up to our own limit (its default bomb check is ~179 MP)."""
    pil_limit = Image.MAX_IMAGE_PIXELS
    if pil_limit is not None and (max_pixels is None or max_pixels >= pil_limit):
        with _PIL_LIMIT_LOCK:
            Image.MAX_IMAGE_PIXELS = None if max_pixels is None else max_pixels
            try:
                yield
            finally:
                Image.MAX_IMAGE_PIXELS = pil_limit
    else:
        yield


def _too_large(name: str, size: tuple[int, int] | None, max_pixels: int) -> ImageTooLargeError:
    got = f"is {size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.3g} MP, which is" if size else "is"
    return ImageTooLargeError(
        f"{name} {got} over the limit of {max_pixels / 1e6:g} MP ({max_pixels} pixels); "
        "downscale it first, or raise the limit with --max-pixels N (Python: max_pixels=N; 0/None "
        "disables it) if you have the memory"
    )


def check_pixels(size: tuple[int, int], max_pixels: int | None, name: str) -> None:
    """Raise ImageTooLargeError when ``size`` (width, height) has more than ``max_pixels``."""
    if max_pixels is not None and size[0] * size[1] > max_pixels:
        raise _too_large(name, size, max_pixels)


def open_pil(fp: IO[bytes], name: str, max_pixels: int | None) -> tuple[Image.Image, bool]:
    """Open (header only), check the pixel count, then decode fully.

    Returns:
        The image and whether it is a 16-bit colour PNG (known only before decoding).

    Raises:
        ImageTooLargeError: over ``max_pixels`` (or over PIL's own bomb limit).
        InputError: not an image, truncated or corrupt.
    """
    try:
        with _pil_limit(max_pixels), warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except Image.DecompressionBombError as e:
        raise _too_large(name, None, max_pixels or Image.MAX_IMAGE_PIXELS) from e
    except UnidentifiedImageError as e:
        raise InputError(f"{name} is not an image glcic can read; expected a {READABLE} file") from e
    except DECODE_ERRORS as e:
        raise InputError(f"cannot read {name} as an image ({type(e).__name__}: {e}); expected a {READABLE} file") from e
    check_pixels(im.size, max_pixels, name)  # before decoding a single pixel
    png16 = is_png16_color(im)
    try:
        im.load()  # decode now: truncated files fail here, not later
    except DECODE_ERRORS as e:
        raise InputError(
            f"{name} is truncated or corrupt ({type(e).__name__}: {e}); re-export or re-download it"
        ) from e
    return im, png16


# --------------------------------------------------------------------------- decoding


def _decode_pil(im: Image.Image, name: str, exif_transpose: bool, raw: bytes | None) -> LoadedImage:
    mode = im.mode
    if raw is not None:
        rgb, alpha = decode_png16(raw, name)
        orientation = im.getexif().get(0x0112, 1) if exif_transpose else 1
        if orientation in ORIENTATIONS:
            rgb = np.ascontiguousarray(ORIENTATIONS[orientation](rgb))
            alpha = None if alpha is None else np.ascontiguousarray(ORIENTATIONS[orientation](alpha))
        return LoadedImage(rgb, alpha, mode, name)
    try:
        if exif_transpose:
            im = ImageOps.exif_transpose(im)
        rgb, alpha = pil_to_rgb(im, name)
    except InputError:
        raise
    except DECODE_ERRORS as e:
        raise InputError(f"{name} is truncated or corrupt ({type(e).__name__}: {e}); re-export it") from e
    return LoadedImage(rgb, alpha, mode, name)
