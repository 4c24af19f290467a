"""Reading images and masks robustly, writing results atomically.

Everything a user hands to glcic passes through here: files (any path, bytes
or binary file object), PIL images and ``uint8`` arrays. What comes out is
always the same:

- an image: RGB ``uint8`` ``(H, W, 3)`` plus, when the source had one, its alpha
  channel ``uint8`` ``(H, W)`` (:class:`LoadedImage`), upright (EXIF orientation
  applied), whatever mode it was stored in;
- a mask: ``bool`` ``(H, W)``, **True = hole** (white / non-zero in the file).

Every problem is an :class:`~glcic.errors.InputError` that names the file, says
what was expected and how to fix it: a missing file, a folder, an empty or
truncated file, something that is not an image, an image over the pixel limit
(checked from the header, before decoding), a mask of the wrong size.
"""

from __future__ import annotations

import io
import os
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from glcic.errors import InputError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "GRAY_MODES",
    "READ_EXTENSIONS",
    "SAVE_FORMATS",
    "ImageSource",
    "LoadedImage",
    "check_save_path",
    "gray_to_unit",
    "load_image",
    "load_mask",
    "mask_from_array",
    "pil_to_rgb",
    "save_image",
]

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest image (width x height) read by default: 40 MP, about 160 MB as RGB
``uint8`` and several GB of activations for the network at native size. Raise it
with ``max_pixels=`` (CLI: ``--max-pixels``); ``None`` (CLI: 0) disables it."""

READ_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
"""File endings (any case) that folder mode treats as images."""

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}
"""Output file ending -> PIL format. WebP is written lossless, JPEG at quality 95."""

GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
"""PIL modes of single-channel (grayscale) images, with or without alpha."""

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray

# What PIL raises for files that are not images, are truncated or are corrupt.
_DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
_READABLE = "PNG, JPEG, WebP, BMP, TIFF or GIF"
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


# --------------------------------------------------------------------------- images


def load_image(
    source: ImageSource, max_pixels: int | None = DEFAULT_MAX_PIXELS, *, exif_transpose: bool = True
) -> LoadedImage:
    """Decode an image from a file, bytes, a file object, a PIL image or an array.

    Every mode becomes 8-bit RGB: grayscale (``1``, ``L``) is repeated over the three
    channels; palettes (``P``) are expanded and palette transparency becomes alpha;
    ``LA``/``RGBA`` keep their alpha apart in :attr:`LoadedImage.alpha`; ``CMYK``,
    ``YCbCr``, ``LAB`` and ``HSV`` are converted; 16-bit data (``I;16``, ``I``,
    16-bit RGB(A) PNG) is scaled with ``round(v / 257)`` (65535 -> 255), not clipped;
    float images (``F``) are read as [0, 1] when all values are in [0, 1] and as
    [0, 255] otherwise.

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
        InputError: missing file, folder, empty file, not an image, truncated or
            corrupt data, an image over ``max_pixels``, or an unsupported array;
            the message names the source.
    """
    if isinstance(source, np.ndarray):
        return _image_from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "") or "<PIL image>"
        _check_pixels(source.size, max_pixels, name)
        return _decode_pil(source, name, exif_transpose, raw=None)
    with _opened(source) as (fp, name):
        start = fp.tell()
        im, png16 = _open_pil(fp, name, max_pixels)
        raw = None
        if png16:
            # PIL keeps only the high byte of 16-bit colour PNGs; OpenCV reads all 16 bits.
            fp.seek(start)
            raw = fp.read()
        return _decode_pil(im, name, exif_transpose, raw=raw)


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
    _check_pixels((a.shape[1], a.shape[0]), max_pixels, "image array")
    return LoadedImage(np.ascontiguousarray(rgb), alpha, mode, "<array>")


@contextmanager
def _opened(source: Any) -> Iterator[tuple[IO[bytes], str]]:
    """Yield a seekable binary stream and a display name for a path, bytes or file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InputError("the image data is empty (0 bytes); expected the bytes of an image file")
        yield io.BytesIO(bytes(source)), "<bytes>"
        return
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path} does not exist; check the path (expected an image file)")
        if path.is_dir():
            raise InputError(f"{path} is a folder, not an image file; give one image file")
        if path.stat().st_size == 0:
            raise InputError(f"{path} is empty (0 bytes); expected a {_READABLE} file")
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise InputError(f"cannot open {path}: {e.strerror or e}; check its permissions") from e
        with f:
            yield f, str(path)
        return
    if hasattr(source, "read"):
        name = str(getattr(source, "name", "") or "<file object>")
        if not (hasattr(source, "seekable") and source.seekable()):
            data = source.read()
            if isinstance(data, str):
                raise InputError(f"{name} was opened in text mode; open it with open(path, 'rb')")
            yield io.BytesIO(data), name
        else:
            yield source, name
        return
    raise InputError(
        f"cannot read an image from a {type(source).__name__}; give a path, bytes, a binary file "
        "object, a PIL image or a uint8 numpy array"
    )


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


def _over_limit_message(name: str, size: tuple[int, int] | None, max_pixels: int | None) -> str:
    got = f"is {size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.3g} MP, which is" if size else "is"
    return (
        f"{name} {got} over the limit of {max_pixels / 1e6:g} MP ({max_pixels} pixels); "
        "downscale it first, or raise the limit with --max-pixels N (Python: max_pixels=N; 0/None "
        "disables it) if you have the memory"
    )


def _check_pixels(size: tuple[int, int], max_pixels: int | None, name: str) -> None:
    if max_pixels is not None and size[0] * size[1] > max_pixels:
        raise InputError(_over_limit_message(name, size, max_pixels))


def _open_pil(fp: IO[bytes], name: str, max_pixels: int | None) -> tuple[Image.Image, bool]:
    """Open (header only), check the pixel count, then decode fully.

    Returns the image and whether it is a 16-bit colour PNG (known only before decoding).
    """
    try:
        with _pil_limit(max_pixels), warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except Image.DecompressionBombError as e:
        raise InputError(_over_limit_message(name, None, max_pixels or Image.MAX_IMAGE_PIXELS)) from e
    except UnidentifiedImageError as e:
        raise InputError(f"{name} is not an image glcic can read; expected a {_READABLE} file") from e
    except _DECODE_ERRORS as e:
        raise InputError(f"cannot read {name} as an image ({type(e).__name__}: {e}); expected a {_READABLE} file") from e
    _check_pixels(im.size, max_pixels, name)  # before decoding a single pixel
    png16 = _is_png16_color(im)
    try:
        im.load()  # decode now: truncated files fail here, not later
    except _DECODE_ERRORS as e:
        raise InputError(
            f"{name} is truncated or corrupt ({type(e).__name__}: {e}); re-export or re-download it"
        ) from e
    return im, png16


def _is_png16_color(im: Image.Image) -> bool:
    tile = getattr(im, "tile", None) or []
    return im.format == "PNG" and bool(tile) and tile[0].args in ("RGB;16B", "RGBA;16B")


# EXIF orientation -> numpy transform (the same as PIL's ImageOps.exif_transpose).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _decode_pil(im: Image.Image, name: str, exif_transpose: bool, raw: bytes | None) -> LoadedImage:
    mode = im.mode
    if raw is not None:
        rgb, alpha = _decode_png16(raw, name)
        orientation = im.getexif().get(0x0112, 1) if exif_transpose else 1
        if orientation in _ORIENT:
            rgb = np.ascontiguousarray(_ORIENT[orientation](rgb))
            alpha = None if alpha is None else np.ascontiguousarray(_ORIENT[orientation](alpha))
        return LoadedImage(rgb, alpha, mode, name)
    try:
        if exif_transpose:
            im = ImageOps.exif_transpose(im)
        rgb, alpha = pil_to_rgb(im, name)
    except InputError:
        raise
    except _DECODE_ERRORS as e:
        raise InputError(f"{name} is truncated or corrupt ({type(e).__name__}: {e}); re-export it") from e
    return LoadedImage(rgb, alpha, mode, name)


def _decode_png16(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2

    a = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None or a.dtype != np.uint16 or a.ndim != 3:
        raise InputError(f"{name} is a 16-bit PNG that could not be decoded; re-export it")
    a8 = _scale16(a)
    if a8.shape[2] == 4:
        return cv2.cvtColor(a8, cv2.COLOR_BGRA2RGB), np.ascontiguousarray(a8[:, :, 3])
    return cv2.cvtColor(a8, cv2.COLOR_BGR2RGB), None


def _scale16(a: np.ndarray) -> np.ndarray:
    """Map 0..65535 onto 0..255 with rounding (65535 / 257 = 255 exactly)."""
    return np.round(a.astype(np.float64) / 257.0).astype(np.uint8)


def gray_to_unit(im: Image.Image, name: str = "<image>") -> tuple[np.ndarray, float]:
    """A single-channel high-depth image (``I;16*``, ``I``, ``F``) as floats in [0, 1].

    Returns:
        ``(values, scale)``: ``float64`` ``(H, W)`` in [0, 1] and the number that maps
        [0, 1] back onto the source's range (65535 for integers; 1 or 255 for ``F``).

    Raises:
        InputError: integer data outside 0..65535, float data outside [0, 255] or NaN.
    """
    a = np.asarray(im)
    if im.mode == "F":
        a = a.astype(np.float64)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if not np.isfinite(a).all() or lo < 0 or hi > 255:
            raise InputError(
                f"{name} holds float pixels (PIL mode F) in [{lo:g}, {hi:g}]; expected [0, 1] or "
                "[0, 255]; rescale it or save it as an 8- or 16-bit image"
            )
        scale = 1.0 if hi <= 1.0 else 255.0
        return a / scale, scale
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() > 65535):
        raise InputError(
            f"{name} holds {im.mode} integer pixels in [{a.min()}, {a.max()}]; expected 8-bit or "
            "16-bit data (0..65535); save it as an 8- or 16-bit image"
        )
    return a / 65535.0, 65535.0


def pil_to_rgb(im: Image.Image, name: str = "<PIL image>") -> tuple[np.ndarray, np.ndarray | None]:
    """Any PIL mode -> RGB ``uint8`` ``(H, W, 3)`` and alpha ``uint8`` ``(H, W)`` or None.

    No EXIF transpose here: the pixels are taken as they are stored.
    """
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        unit, _ = gray_to_unit(im, name)
        if mode == "F":
            g = np.round(unit * 255.0).astype(np.uint8)
        else:  # 16-bit integers: round(v / 257)
            g = _scale16(np.asarray(im))
        return np.repeat(g[:, :, None], 3, axis=2), None
    if mode in ("1", "L"):
        g = np.asarray(im.convert("L"), dtype=np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2), None
    if mode in ("LA", "La"):
        la = np.asarray(im.convert("LA"), dtype=np.uint8)
        return np.repeat(la[:, :, :1], 3, axis=2), np.ascontiguousarray(la[:, :, 1])
    has_alpha = mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3])
    try:
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except ValueError as e:
        raise InputError(f"{name} uses PIL mode {mode}, which cannot be converted to RGB; re-save it as RGB") from e
    return np.ascontiguousarray(rgb), None


# --------------------------------------------------------------------------- masks


def load_mask(
    source: ImageSource | Any,
    size: tuple[int, int] | None = None,
    resize: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    exif_transpose: bool = True,
) -> np.ndarray:
    """Read a hole mask: **non-zero / white = hole**.

    Rules by kind of source:

    - ``1``, ``L``, ``I;16``, ``F`` and colour images: a pixel is a hole when any of
      its channels is non-zero (soft, anti-aliased edges count as hole).
    - With transparency (``RGBA``, ``LA``, palette with transparency): when the colour
      is the same everywhere but the alpha varies (strokes painted on a transparent
      layer), the hole is where alpha is non-zero; otherwise the colour decides as
      above and alpha is ignored. If your editor keeps colour under transparent
      pixels, save the mask as grayscale to be unambiguous.
    - Arrays and tensors: ``bool``, or numbers where non-zero = hole; shape
      ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` (the RGBA rule);
      tensors also ``(1, H, W)`` and ``(1, 1, H, W)``.

    Args:
        source: anything :func:`load_image` reads, a numpy array or a torch tensor.
        size: ``(width, height)`` of the image the mask belongs to (PIL's ``size``).
        resize: when ``size`` differs, resize with nearest neighbour instead of failing.
        max_pixels: the same limit as for images; ``None`` disables it.
        exif_transpose: apply the EXIF orientation of a mask file or PIL image
            (as :func:`load_image` does for images).

    Returns:
        ``bool`` ``(H, W)``, True = hole.

    Raises:
        InputError: unreadable mask (as in :func:`load_image`), an unsupported
            array, or a size that differs from ``size`` while ``resize`` is False.
    """
    if hasattr(source, "detach") and hasattr(source, "cpu"):  # a torch tensor; no torch import needed
        source = source.detach().cpu().numpy()
        while source.ndim > 2 and source.shape[0] == 1:
            source = source[0]
    if isinstance(source, np.ndarray):
        hole = mask_from_array(source)
        _check_pixels((hole.shape[1], hole.shape[0]), max_pixels, "mask array")
        name = "mask"
    else:
        if isinstance(source, Image.Image):
            im = source
            name = getattr(source, "filename", "") or "mask"
            _check_pixels(im.size, max_pixels, name)
        else:
            with _opened(source) as (fp, name):
                im, _ = _open_pil(fp, name, max_pixels)
        if exif_transpose:
            im = ImageOps.exif_transpose(im)
        hole = _mask_from_pil(im, name)
    if size is not None:
        w, h = int(size[0]), int(size[1])
        if hole.shape != (h, w):
            if not resize:
                raise InputError(
                    f"mask is {hole.shape[1]}x{hole.shape[0]} but image is {w}x{h}; pass --resize-mask "
                    "(Python: load_mask(..., resize=True)) to resize it with nearest neighbour"
                )
            small = Image.fromarray(hole.astype(np.uint8) * 255)
            hole = np.asarray(small.resize((w, h), Image.Resampling.NEAREST)) > 0
    return np.ascontiguousarray(hole)


def _mask_from_pil(im: Image.Image, name: str) -> np.ndarray:
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(im)
        if mode == "F" and not np.isfinite(a).all():
            raise InputError(f"mask {name} holds NaN or infinite values; expected 0 = keep, non-zero = hole")
        return a != 0
    if mode in ("1", "L"):
        return np.asarray(im.convert("L")) != 0
    if mode in ("LA", "La"):
        return _rule_with_alpha(np.asarray(im.convert("LA")))
    if mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info):
        return _rule_with_alpha(np.asarray(im.convert("RGBA")))
    try:
        rgb = np.asarray(im.convert("RGB"))
    except ValueError as e:
        raise InputError(f"mask {name} uses PIL mode {mode}; save it as a grayscale PNG (white = hole)") from e
    return rgb.any(axis=2)


def _rule_with_alpha(a: np.ndarray) -> np.ndarray:
    """(H, W, C+1) colour + alpha -> hole, by the rule in :func:`load_mask`."""
    colour, alpha = a[:, :, :-1], a[:, :, -1]
    flat = colour.reshape(-1, colour.shape[2])
    colour_uniform = bool((flat == flat[:1]).all()) if flat.size else True
    alpha_varies = bool(alpha.size) and alpha.min() != alpha.max()
    if colour_uniform and alpha_varies:
        return alpha != 0
    return colour.any(axis=2)


def mask_from_array(a: np.ndarray) -> np.ndarray:
    """A ``bool``/numeric mask array -> ``bool`` ``(H, W)``, non-zero = hole (see :func:`load_mask`)."""
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.number):
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise InputError("mask array holds NaN or infinite values; expected 0 = keep, non-zero = hole")
    else:
        raise InputError(f"mask array must be bool or numeric (non-zero = hole); got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return a != 0
    if a.ndim == 3 and a.shape[2] == 3:
        return (a != 0).any(axis=2)
    if a.ndim == 3 and a.shape[2] == 4:
        return _rule_with_alpha(a)
    raise InputError(
        f"mask array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {a.shape}; "
        "a (1, H, W) array needs mask[0]"
    )


# --------------------------------------------------------------------------- saving


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
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            im.save(f, format=fmt, **options)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {e}") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
