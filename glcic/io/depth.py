"""16-bit images in and out: every bit read, every bit written.

PIL keeps 16-bit gray (mode ``I;16``) but has no 16-bit colour mode: it keeps only the
high byte of a 16-bit RGB(A) PNG or TIFF. Those are decoded here with OpenCV instead
(all 16 bits, BGR converted to RGB at once), and written back with the encoders that
can: OpenCV for PNG, with the metadata chunks PIL would write added to its stream
(:func:`png_metadata_chunks`), and tifffile for TIFF. Arrays here are RGB order,
``uint16`` ``(H, W, 3)`` or ``(H, W, 4)`` (alpha last), values 0..65535.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
from PIL import Image

from glcic.errors import InputError

__all__ = ["decode16", "encode_png16", "encode_tiff16", "is_16bit_colour", "png_metadata_chunks", "tiff16_loses"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_16bit_colour(im: Image.Image) -> bool:
    """True for a 16-bit colour PNG or TIFF (gray + alpha PNG too: PIL opens it as RGBA),
    known only before decoding; PIL would keep 8 of its bits."""
    tile = getattr(im, "tile", None) or []
    if im.format == "PNG":
        return bool(tile) and tile[0].args in ("RGB;16B", "RGBA;16B", "LA;16B")
    if im.format == "TIFF" and im.mode in ("RGB", "RGBA"):
        bits = getattr(im, "tag_v2", {}).get(258, 8)
        return max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def decode16(raw: bytes, name: str) -> np.ndarray:
    """All 16 bits of a colour PNG or TIFF (through OpenCV), as stored (no EXIF turn).

    Returns:
        ``uint16`` ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA.

    Raises:
        InputError: OpenCV cannot decode it as 16-bit colour.
    """
    a = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None or a.dtype != np.uint16 or a.ndim != 3 or a.shape[2] not in (3, 4):
        got = "nothing" if a is None else f"{a.dtype} {a.shape}"
        raise InputError(
            f"{name} is a 16-bit colour image that OpenCV could not decode (got {got}); "
            "re-export it as a plain 16-bit PNG or TIFF"
        )
    code = cv2.COLOR_BGRA2RGBA if a.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(a, code)


# --------------------------------------------------------------------------- PNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_metadata_chunks(icc: bytes | None, exif: bytes | None, xmp: bytes | None) -> bytes:
    """The PNG chunks that carry an ICC profile (``iCCP``), EXIF (``eXIf``) and XMP
    (``iTXt`` ``XML:com.adobe.xmp``, uncompressed as the XMP spec asks), as PIL writes them."""
    out = b""
    if icc:
        out += _chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        out += _chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    if xmp:
        out += _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
    return out


def encode_png16(rgb: np.ndarray, chunks: bytes = b"") -> bytes:
    """``uint16`` RGB(A) -> a 16-bit PNG (OpenCV's encoder), with ``chunks`` after its header.

    The metadata chunks must come before the image data (``IDAT``); they go right after
    ``IHDR``, which is always the first chunk.
    """
    code = cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), code), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise InputError(f"OpenCV could not encode a {rgb.shape} uint16 image as PNG")
    data = buf.tobytes()
    ihdr_end = len(_PNG_SIGNATURE) + 8 + 13 + 4  # signature, IHDR's length + type, 13 data bytes, CRC
    assert data[12:16] == b"IHDR"
    return data[:ihdr_end] + chunks + data[ihdr_end:]


# --------------------------------------------------------------------------- TIFF


_TIFF_TEXT_TAGS = {271: "Make", 272: "Model", 315: "Artist", 33432: "Copyright"}


def encode_tiff16(rgb: np.ndarray, icc: bytes | None, exif: bytes | None, xmp: bytes | None) -> bytes:
    """``uint16`` RGB(A) -> a 16-bit TIFF (tifffile, deflate), with its ICC profile, XMP
    and the text tags of its EXIF's first IFD (description, make, model, software, date,
    artist, copyright).

    tifffile writes no Exif or GPS sub-IFD: :func:`tiff16_loses` says when the EXIF had one.
    """
    import io

    import tifffile

    tags = Image.Exif()
    if exif:
        tags.load(exif)
    text = {k: v for k, v in tags.items() if isinstance(v, str) and v}
    extratags = [(code, "s", 0, text[code], True) for code in _TIFF_TEXT_TAGS if code in text]
    if xmp:
        extratags.append((700, "B", len(xmp), xmp, True))
    buf = io.BytesIO()
    tifffile.imwrite(
        buf,
        np.ascontiguousarray(rgb),
        photometric="rgb",
        extrasamples=("unassalpha",) if rgb.shape[2] == 4 else None,
        compression="zlib",
        iccprofile=icc or None,
        description=text.get(270),
        software=text.get(305, False),
        datetime=text.get(306),
        extratags=extratags,
        metadata=None,
    )
    return buf.getvalue()


def tiff16_loses(exif: bytes | None) -> bool:
    """True when ``exif`` has Exif or GPS sections, which :func:`encode_tiff16` cannot write."""
    if not exif:
        return False
    tags = Image.Exif()
    tags.load(exif)
    return any(tags.get_ifd(ifd) for ifd in (0x8769, 0x8825))
