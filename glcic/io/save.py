"""Writing results: the format from the file ending (checked before any work), the
input's metadata and encoding carried over, an atomic write.

The rule (:data:`ENCODING_RULE`, also in ``glcic inpaint --help`` and docs/inference.md):
the output format follows the output file's ending; a JPEG input gives a JPEG with its
own quantisation tables and subsampling (so about its size and quality) unless a
quality is asked for; WebP is lossy when the input was lossy (a lossy WebP or a JPEG)
or a quality is asked for, else lossless; PNG and TIFF keep 16 bits; the ICC profile,
EXIF and XMP go along unless stripped (:mod:`glcic.io.metadata`).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

from glcic.atomic import atomic_write
from glcic.errors import InputError
from glcic.io.depth import encode_png16, encode_tiff16, png_metadata_chunks, tiff16_loses
from glcic.io.metadata import SourceInfo, icc_colour_space
from glcic.io.modes import GRAY_MODES, scale16

SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
"""Output file ending -> PIL format (see :data:`ENCODING_RULE` for how each is written)."""

FORMAT_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
"""PIL format -> the file ending glcic gives it."""

DEFAULT_JPEG_QUALITY = 95
"""JPEG quality when the input was not a JPEG and no quality is asked for."""

DEFAULT_WEBP_QUALITY = 80
"""Lossy WebP quality when none is asked for (libwebp's and PIL's usual 75-80: re-encoding
a typical lossy WebP at 80 gives about its size, measured in tests/io/test_save.py)."""

ENCODING_RULE = (
    "The output format follows the output file's ending (.png, .jpg/.jpeg, .webp, .bmp, "
    ".tif/.tiff). JPEG: a JPEG input's own quantisation tables and subsampling (about its "
    f"size and quality), else quality {DEFAULT_JPEG_QUALITY}. WebP: lossy (quality "
    f"{DEFAULT_WEBP_QUALITY}) when the input was lossy (a lossy WebP or a JPEG), else "
    "lossless. A quality given (--quality Q, 1-100) is used for JPEG and makes WebP lossy. "
    "PNG and TIFF keep 16-bit images 16-bit; JPEG, WebP and BMP hold 8 bits. The input's "
    "ICC profile, EXIF (orientation set to 1 when the pixels were turned upright) and XMP "
    "go into JPEG, PNG, WebP and TIFF (BMP holds none); --strip-metadata drops them."
)
"""How :func:`encode_image` writes each format, in the words of ``--help`` and the docs."""

_JPEG_MARKER_MAX = 65533  # a JPEG APP segment's payload: EXIF must fit in one
_XMP_JPEG_MAX = _JPEG_MARKER_MAX - 29  # minus the XMP namespace header


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
    _check_alpha(fmt, has_alpha, path.name)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a file name such as {path / 'result.png'}")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK):
        raise InputError(
            f"cannot write {path}: the folder {path.parent} is read-only for this user; write into another folder"
        )
    return fmt


def check_quality(quality: int | None) -> int | None:
    """``quality`` if it is None or an integer in 1-100, else InputError."""
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100):
        raise InputError(f"quality must be an integer from 1 to 100 (JPEG and lossy WebP); got {quality!r}")
    return quality


def encode_image(
    image: Any,
    info: SourceInfo | None = None,
    fmt: str | None = None,
    *,
    strip_metadata: bool = False,
    quality: int | None = None,
) -> tuple[bytes, str]:
    """Encode a result the way its input came: format, metadata, quality, bit depth.

    This is :func:`save_image` without a file (the server answers with these bytes).

    Args:
        image: what :meth:`glcic.pipeline.InpaintPipeline.run` returns in ``.image`` for
            a file or :class:`~glcic.io.LoadedImage` input: a PIL image (``L``, ``LA``,
            ``RGB``, ``RGBA``, 16-bit gray ``I;16``), or a ``uint16`` array ``(H, W, 3)``
            / ``(H, W, 4)`` (16-bit RGB(A), which PIL has no mode for); also a ``uint8``
            array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``, or a ``uint16`` ``(H, W)``.
        info: the input's :class:`~glcic.io.SourceInfo` (``LoadedImage.info`` or
            ``InpaintResult.info``): its ICC profile, EXIF and XMP are written into the
            output, and its JPEG tables / WebP lossiness choose the encoding. None: no
            metadata, PNG by default, JPEG at quality 95, WebP lossless.
        fmt: ``"JPEG"``, ``"PNG"``, ``"WEBP"``, ``"BMP"`` or ``"TIFF"`` (any case; also
            ``"jpg"``, ``"tif"``); None = the input's format (``info.format``) when glcic
            writes it, else PNG.
        strip_metadata: write no ICC profile, EXIF or XMP (the encoding rules still apply).
        quality: 1-100 for JPEG (instead of the input's tables) and lossy WebP (and it
            makes WebP lossy); None = :data:`ENCODING_RULE`'s defaults.

    Returns:
        ``(data, fmt)``: the encoded file and the PIL format used (``"JPEG"``, ...;
        :data:`FORMAT_SUFFIX` gives its file ending, ``"image/" + fmt.lower()`` its
        media type).

    Raises:
        InputError: an unknown format, alpha into JPEG or BMP, an image of another
            type or shape, a quality outside 1-100.

    Warns:
        UserWarning: something of the input could not go into this format and was left
            out (16 bits into an 8-bit format, EXIF too large for JPEG, an ICC profile for
            another colour space, metadata into BMP).
    """
    fmt = resolve_format(fmt, info)
    buf = io.BytesIO()
    _write(buf, image, None, fmt, info, strip_metadata, check_quality(quality), "the result")
    return buf.getvalue(), fmt


def save_image(
    path: str | os.PathLike,
    rgb: Any,
    alpha: np.ndarray | None = None,
    *,
    info: SourceInfo | None = None,
    strip_metadata: bool = False,
    quality: int | None = None,
) -> Path:
    """Write an image atomically: a temporary file in the same folder, then ``os.replace``.

    A crash, a full disk or an encoding error never leaves a half-written file at ``path``.

    Args:
        path: output file; its ending picks the format (:data:`SAVE_FORMATS`).
        rgb: ``uint8`` ``(H, W, 3)`` RGB or ``(H, W)`` grayscale, or anything
            :func:`encode_image` takes (a PIL image, written in its own mode, e.g.
            16-bit ``I;16``; a ``uint16`` RGB(A) array, written 16-bit into PNG and TIFF).
        alpha: optional ``uint8`` ``(H, W)`` transparency (255 = opaque), with a
            ``uint8`` ``rgb`` array only.
        info, strip_metadata, quality: as :func:`encode_image` takes them.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InputError: unknown ending (checked before any work), alpha into JPEG/BMP, wrong
            array shape or dtype, a missing folder, or a write error.
    """
    path = Path(path)
    fmt = check_save_path(path)
    check_quality(quality)
    im = _writable(rgb, alpha)
    _check_alpha(fmt, _has_alpha(im), path.name)
    try:
        with atomic_write(path) as f:  # a full disk or a crash leaves no half-written file
            _write(f, im, None, fmt, info, strip_metadata, quality, path.name)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}; check the folder's permissions and free space") from e
    return path


# --------------------------------------------------------------------------- the rules


def resolve_format(fmt: str | None, info: SourceInfo | None) -> str:
    """The PIL format :func:`encode_image` writes for ``fmt`` (a format name or file ending;
    None = the input's, from ``info``, else PNG).

    Raises:
        InputError: a format glcic does not write.
    """
    if fmt is None:
        src = info.format if info is not None else None
        src = "JPEG" if src == "MPO" else src
        return src if src in FORMAT_SUFFIX else "PNG"
    key = fmt.strip().lower().lstrip(".")
    found = SAVE_FORMATS.get("." + key) or next((f for f in FORMAT_SUFFIX if f.lower() == key), None)
    if found is None:
        raise InputError(f"cannot write format {fmt!r}; use one of {', '.join(FORMAT_SUFFIX)}")
    return found


NO_ALPHA_FORMATS = ("JPEG", "BMP")
"""Formats that cannot hold an alpha channel."""


def _check_alpha(fmt: str, has_alpha: bool, name: str) -> None:
    if has_alpha and fmt in NO_ALPHA_FORMATS:
        raise InputError(
            f"{name}: {fmt} cannot store the image's transparency (alpha channel); write .png or "
            ".webp to keep it"
        )


def _has_alpha(im: Image.Image | np.ndarray) -> bool:
    if isinstance(im, np.ndarray):
        return im.shape[2] == 4
    return "A" in im.mode or "transparency" in im.info


def _writable(image: Any, alpha: np.ndarray | None) -> Image.Image | np.ndarray:
    """A PIL image, or a ``uint16`` ``(H, W, 3|4)`` RGB(A) array (16-bit colour)."""
    if isinstance(image, Image.Image):
        if alpha is not None:
            raise InputError("pass alpha only with an array; a PIL image carries its own alpha")
        return image
    if isinstance(image, np.ndarray) and image.dtype == np.uint16:
        if alpha is not None:
            raise InputError("a uint16 array carries its own alpha as (H, W, 4); pass no alpha")
        if image.ndim == 2:
            return Image.fromarray(np.ascontiguousarray(image))  # I;16
        if image.ndim == 3 and image.shape[2] in (3, 4):
            return image
        raise InputError(f"a uint16 image must be (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA; got {image.shape}")
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and alpha is None and image.ndim == 3 and image.shape[2] == 4:
        return Image.fromarray(np.ascontiguousarray(image))  # RGBA
    return _array_to_pil(image, alpha)


def _to_8_bits(im: Image.Image | np.ndarray, fmt: str, name: str) -> Image.Image:
    """16-bit -> 8-bit (``round(v / 257)``) for the formats that hold 8, saying so."""
    if isinstance(im, np.ndarray):
        eight = Image.fromarray(scale16(im))
    elif im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        eight = Image.fromarray(scale16(np.clip(np.asarray(im), 0, 65535)))
    else:
        return im
    warnings.warn(
        f"{name}: {fmt} holds 8 bits per channel, so the 16-bit result was written with 8; "
        "write .png or .tif to keep 16",
        UserWarning,
        stacklevel=4,
    )
    return eight


def _metadata(
    im: Image.Image | np.ndarray, fmt: str, info: SourceInfo | None, strip: bool, name: str
) -> tuple[bytes, bytes, bytes]:
    """``(icc, exif, xmp)`` to write (``b""`` for none), each checked against ``fmt``."""
    if info is None or strip or not info.has_metadata:
        return b"", b"", b""
    dropped: list[str] = []
    icc, exif, xmp = info.icc_profile or b"", info.exif or b"", info.xmp or b""
    if fmt == "BMP":
        warnings.warn(
            f"{name}: BMP holds no ICC profile, EXIF or XMP, so the input's are not in it; write "
            ".png, .jpg, .webp or .tif to keep them",
            UserWarning,
            stacklevel=4,
        )
        return b"", b"", b""
    gray = not isinstance(im, np.ndarray) and im.mode in GRAY_MODES
    if icc and icc_colour_space(icc) != ("GRAY" if gray else "RGB"):
        dropped.append(f"its {icc_colour_space(icc)} ICC profile (the result is {'gray' if gray else 'RGB'})")
        icc = b""
    if fmt == "JPEG" and len(exif) > _JPEG_MARKER_MAX:
        dropped.append(f"its EXIF ({len(exif)} bytes; a JPEG holds at most {_JPEG_MARKER_MAX}: write .png or .webp to keep it)")
        exif = b""
    if fmt == "JPEG" and len(xmp) > _XMP_JPEG_MAX:
        dropped.append(f"its XMP ({len(xmp)} bytes; a JPEG holds at most {_XMP_JPEG_MAX}: write .png or .webp to keep it)")
        xmp = b""
    if fmt == "TIFF" and isinstance(im, np.ndarray) and tiff16_loses(exif):
        dropped.append("its EXIF's Exif and GPS sections (date taken, camera settings, location: "
                       "16-bit colour TIFF is written without them; write .png to keep them)")
    if dropped:
        warnings.warn(f"{name}: left out of the {fmt} file: {'; '.join(dropped)}", UserWarning, stacklevel=4)
    return icc, exif, xmp


def _options(fmt: str, info: SourceInfo | None, quality: int | None) -> dict[str, Any]:
    """The encoder's settings by :data:`ENCODING_RULE`."""
    if fmt == "JPEG":
        if quality is None and info is not None and info.jpeg_qtables:
            opts: dict[str, Any] = {"qtables": info.jpeg_qtables}
            if info.jpeg_subsampling is not None:
                opts["subsampling"] = info.jpeg_subsampling
            return opts
        return {"quality": quality or DEFAULT_JPEG_QUALITY}
    if fmt == "WEBP":
        lossy_input = info is not None and (info.webp_lossy or info.format in ("JPEG", "MPO"))
        if quality is not None or lossy_input:
            return {"quality": quality or DEFAULT_WEBP_QUALITY}
        return {"lossless": True}
    if fmt == "TIFF":
        return {"compression": "tiff_adobe_deflate"}
    if fmt == "PNG":
        return {"compress_level": 6}
    return {}


def _write(
    f: IO[bytes],
    image: Any,
    alpha: np.ndarray | None,
    fmt: str,
    info: SourceInfo | None,
    strip: bool,
    quality: int | None,
    name: str,
) -> None:
    """Encode ``image`` as ``fmt`` into ``f`` by the rules above."""
    im = _writable(image, alpha)
    _check_alpha(fmt, _has_alpha(im), name)
    if fmt in ("JPEG", "WEBP", "BMP"):
        im = _to_8_bits(im, fmt, name)
    icc, exif, xmp = _metadata(im, fmt, info, strip, name)
    if isinstance(im, np.ndarray):  # 16-bit colour: PIL has no mode for it
        if fmt == "PNG":
            f.write(encode_png16(im, png_metadata_chunks(icc, exif, xmp)))
        else:
            f.write(encode_tiff16(im, icc, exif, xmp))
        return
    if fmt == "JPEG" and im.mode not in ("RGB", "L", "CMYK"):
        im = im.convert("RGB" if im.mode not in GRAY_MODES else "L")
    opts = _options(fmt, info, quality)
    # Every metadata argument is passed, empty when there is none: PIL would otherwise
    # copy an ICC profile from the image's own .info (a result carries its input's).
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        png_info = PngInfo()
        if xmp:
            png_info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"), zip=False)
        opts.update(icc_profile=icc, exif=exif, pnginfo=png_info)
    elif fmt == "TIFF":
        tags = _tiff_tags(exif, xmp)
        if any(ifd in tags for ifd in (0x8769, 0x8825)):
            opts["compression"] = "raw"  # libtiff (deflate) cannot write PIL's Exif and GPS IFDs
        opts.update(icc_profile=icc, exif=tags.tobytes() if len(tags) else b"")
    elif fmt in ("JPEG", "WEBP"):
        opts.update(icc_profile=icc, exif=exif, xmp=xmp)
    try:
        im.save(f, format=fmt, **opts)
    except (OSError, ValueError, TypeError) as e:
        if isinstance(e, OSError) and e.errno is not None:  # the disk, not the encoder
            raise
        raise InputError(f"cannot write {name} as {fmt} ({e}); write .png or .tif instead") from e


def _tiff_tags(exif: bytes, xmp: bytes) -> Image.Exif:
    """EXIF and XMP as the tags PIL merges into a TIFF's first IFD (XMP is tag 700)."""
    tags = Image.Exif()
    if exif:
        tags.load(exif)
    if xmp:
        tags[700] = xmp
    return tags


def _array_to_pil(rgb: Any, alpha: np.ndarray | None) -> Image.Image:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        got = rgb.dtype if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InputError(
            f"save_image takes a uint8 array (H, W, 3) or (H, W), a uint16 array or a PIL image; got {got}"
        )
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
