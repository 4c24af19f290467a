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
from glcic.io.depth import decode16, is_16bit_colour
from glcic.io.files import READABLE, open_source
from glcic.io.metadata import ORIENTATION, WARNINGS_LOCK, SourceInfo, read_info
from glcic.io.modes import GRAY_MODES, ORIENTATIONS, pil_to_rgb, scale16
from glcic.options import DEFAULT_MAX_PIXELS

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray

DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
"""What PIL raises for files that are not images, are truncated or are corrupt."""

_PIL_LIMIT_LOCK = threading.Lock()

MODES_16 = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
"""PIL's 16-bit gray modes (kept at 16 bits in :attr:`LoadedImage.deep`)."""


@dataclass
class LoadedImage:
    """A decoded image: RGB pixels, the alpha channel if any, and where it came from.

    Attributes:
        rgb: ``uint8`` ``(H, W, 3)`` in [0, 255], upright.
        alpha: ``uint8`` ``(H, W)`` or ``None`` when the source had no transparency.
        mode: the source's PIL mode (``"RGB"``, ``"L"``, ``"I;16"``, ``"P"``,
            ``"CMYK"``, ...) or ``"array"`` for a numpy input.
        name: the file name (or ``"<bytes>"``, ``"<PIL image>"``, ...) used in messages.
        info: what the file carried besides pixels (ICC profile, EXIF, XMP, JPEG
            tables, WebP lossiness, bit depth; :class:`~glcic.io.SourceInfo`), for
            writing the result back the same way; None for arrays.
        deep: all the bits of a 16-bit source, upright: ``uint16`` ``(H, W)`` gray or
            ``(H, W, 3)`` / ``(H, W, 4)`` RGB(A) (alpha 16-bit too); None for 8-bit
            sources. :attr:`rgb` and :attr:`alpha` are then its ``round(v / 257)``.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    mode: str
    name: str = "<image>"
    info: SourceInfo | None = None
    deep: np.ndarray | None = None

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
    source: ImageSource,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    exif_transpose: bool = True,
    metadata: bool = True,
) -> LoadedImage:
    """Decode an image from a file, bytes, a file object, a PIL image or an array.

    Every mode becomes 8-bit RGB (see :mod:`glcic.io.modes`): grayscale is repeated
    over the three channels, palettes expanded, alpha kept apart in
    :attr:`LoadedImage.alpha`, 16-bit data scaled with ``round(v / 257)`` (and kept
    whole in :attr:`LoadedImage.deep`: 16-bit gray, and 16-bit colour PNG and TIFF).
    What the file says besides pixels is in :attr:`LoadedImage.info`.

    Args:
        source: a path, ``bytes``, a binary file object, a PIL image, or a ``uint8``
            array of shape ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` (RGB(A)).
        max_pixels: refuse images with more than this many pixels (width x height),
            checked from the file header before any decoding. ``None`` disables it.
        exif_transpose: rotate/flip by the EXIF orientation tag, so a phone photo
            stored sideways comes back upright (and its EXIF orientation becomes 1 in
            :attr:`LoadedImage.info`).
        metadata: read :attr:`LoadedImage.info` (False: None, for readers that only
            want pixels, such as datasets: no ICC check, no warnings).

    Returns:
        The decoded :class:`LoadedImage`.

    Raises:
        ImageTooLargeError: an image over ``max_pixels``.
        InputError: missing file, folder, empty file, not an image, truncated or
            corrupt data, or an unsupported array; the message names the source.

    Warns:
        UserWarning: a corrupt ICC profile or unreadable EXIF (not carried to results).
    """
    if isinstance(source, np.ndarray):
        return _image_from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "") or "<PIL image>"
        check_pixels(source.size, max_pixels, name)
        return _decode_pil(source, name, exif_transpose, raw=None, metadata=metadata)
    with open_source(source) as (fp, name):
        start = fp.tell()
        im, colour16, orientation = open_pil(fp, name, max_pixels)
        fp.seek(start)
        # PIL keeps only the high byte of 16-bit colour PNGs and TIFFs; OpenCV reads all 16 bits.
        raw = fp.read() if colour16 else None
        fp.seek(start)
        return _decode_pil(im, name, exif_transpose, raw=raw, fp=fp, orientation=orientation, metadata=metadata)


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
    return load_image(Path(path), max_pixels=None, metadata=False).rgb


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


def open_pil(fp: IO[bytes], name: str, max_pixels: int | None) -> tuple[Image.Image, bool, int]:
    """Open (header only), check the pixel count, then decode fully.

    Returns:
        The image, whether it is 16-bit colour (PNG or TIFF; known only before
        decoding), and its EXIF orientation as stored (PIL turns TIFFs upright while
        decoding them and drops the tag; other formats are still to be turned).

    Raises:
        ImageTooLargeError: over ``max_pixels`` (or over PIL's own bomb limit).
        InputError: not an image, truncated or corrupt.
    """
    try:
        with _pil_limit(max_pixels), WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except Image.DecompressionBombError as e:
        raise _too_large(name, None, max_pixels or Image.MAX_IMAGE_PIXELS) from e
    except UnidentifiedImageError as e:
        raise InputError(f"{name} is not an image glcic can read; expected a {READABLE} file") from e
    except DECODE_ERRORS as e:
        raise InputError(f"cannot read {name} as an image ({type(e).__name__}: {e}); expected a {READABLE} file") from e
    check_pixels(im.size, max_pixels, name)  # before decoding a single pixel
    colour16 = is_16bit_colour(im)
    orientation = orientation_of(im)
    try:
        im.load()  # decode now: truncated files fail here, not later
    except DECODE_ERRORS as e:
        raise InputError(
            f"{name} is truncated or corrupt ({type(e).__name__}: {e}); re-export or re-download it"
        ) from e
    return im, colour16, orientation


# --------------------------------------------------------------------------- decoding


def orientation_of(im: Image.Image) -> int:
    """The EXIF orientation (2-8) that turns ``im`` upright, or 1 (none, unknown or unreadable)."""
    try:
        with WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's "Corrupt EXIF data": glcic.io.metadata says it
            value = im.getexif().get(ORIENTATION, 1)
    except Exception:  # malformed EXIF raises many kinds; the pixels are then used as stored  # noqa: BLE001
        return 1
    return value if isinstance(value, int) and value in ORIENTATIONS else 1


def _decode_pil(
    im: Image.Image,
    name: str,
    exif_transpose: bool,
    raw: bytes | None,
    fp: IO[bytes] | None = None,
    orientation: int | None = None,
    metadata: bool = True,
) -> LoadedImage:
    """``im`` decoded, turned upright (unless ``exif_transpose`` is False), with its info.

    ``raw``: the file's bytes when it is 16-bit colour; ``orientation``: the EXIF
    orientation as stored, when PIL may have applied it already (TIFF)."""
    mode = im.mode
    todo = orientation_of(im) if exif_transpose else 1  # what PIL has not applied yet
    turned = todo if orientation is None or not exif_transpose else orientation
    deep = _deep_colour(im, raw, name) if raw is not None else None
    if deep is not None:
        deep = np.ascontiguousarray(ORIENTATIONS.get(todo, lambda a: a)(deep))
        alpha = scale16(deep[:, :, 3]) if deep.shape[2] == 4 else None
        info = read_info(im, name, orientation=turned, bits=16, mode=f"{mode};16", fp=fp) if metadata else None
        return LoadedImage(scale16(deep[:, :, :3]), alpha, mode, name, info, deep)
    info = read_info(im, name, orientation=turned, bits=16 if mode in MODES_16 else 8, fp=fp) if metadata else None
    try:
        if todo != 1:
            im = ImageOps.exif_transpose(im)
        rgb, alpha = pil_to_rgb(im, name)
    except InputError:
        raise
    except DECODE_ERRORS as e:
        raise InputError(f"{name} is truncated or corrupt ({type(e).__name__}: {e}); re-export it") from e
    deep = np.asarray(im).astype(np.uint16) if mode in MODES_16 else None  # (H, W), native byte order
    return LoadedImage(rgb, alpha, mode, name, info, deep)


def _deep_colour(im: Image.Image, raw: bytes, name: str) -> np.ndarray | None:
    """All 16 bits of a colour PNG or TIFF, laid out as PIL decoded its high bytes.

    PIL and OpenCV must agree on those high bytes (orientation included: both turn a
    TIFF upright while decoding, or neither does); if they do not, the 8 bits PIL read
    are used and a warning says so.
    """
    try:
        deep = decode16(raw, name)  # (H, W, 3|4) uint16 RGB(A)
    except InputError:
        if im.format != "TIFF":
            raise
        deep = None
    high = np.asarray(im)
    if deep is None or deep.shape != high.shape or not np.array_equal(deep >> 8, high):
        warnings.warn(
            f"{name}: only the high 8 of its 16 bits per channel could be read; the result is 8-bit",
            UserWarning,
            stacklevel=4,
        )
        return None
    return deep
