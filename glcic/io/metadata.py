"""What a file says about itself besides its pixels, read once and handed to the writer.

:class:`SourceInfo` is captured when an image is read (:func:`read_info`) and travels
with it (:attr:`glcic.io.LoadedImage.info`, :attr:`glcic.steps.InpaintResult.info`) to
:func:`glcic.io.encode_image` / :func:`glcic.io.save_image`, which give the result back
as the input came: the same ICC profile (colours), EXIF (camera, date, GPS) and XMP,
the same JPEG quantisation, lossy WebP kept lossy, 16 bits kept 16.

Two changes are made on the way, both because the pixels changed:

- the pixels were turned upright by the EXIF orientation, so the orientation is set
  to 1 (in EXIF and in XMP's ``tiff:Orientation``), or a viewer would turn them again;
- a part that cannot be read is dropped with a warning instead of being copied: an ICC
  profile that is corrupt (no ``acsp`` header, a wrong length, or one littlecms refuses),
  EXIF whose tags cannot be parsed at all;
- EXIF's thumbnail (its second IFD, a small copy of the original picture) is dropped: it
  would still show what the hole covered.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
from dataclasses import dataclass, field, replace
from typing import IO, Any

from PIL import ExifTags, Image

__all__ = ["SourceInfo", "attach_info", "icc_colour_space", "read_info", "webp_is_lossy"]

ORIENTATION = 0x0112
"""The EXIF tag of the orientation (1 = stored upright)."""

# TIFF's first IFD holds the pixels' layout (strips, sizes) beside what EXIF means by
# metadata; only these descriptive tags, and the Exif and GPS sub-IFDs, are carried.
_TIFF_DESCRIPTIVE = (270, 271, 272, 274, 305, 306, 315, 33432)  # description, make, model,
# orientation, software, date/time, artist, copyright
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825

_XMP_ORIENTATION = (
    re.compile(rb'(tiff:Orientation=")([0-9])(")'),
    re.compile(rb"(<tiff:Orientation>)([0-9])(</tiff:Orientation>)"),
)


WARNINGS_LOCK = threading.RLock()
"""Held around every ``warnings.catch_warnings`` of ``glcic.io``: it swaps the process's warning
filters, so two threads (``ImageDataset``'s decode threads, the server's workers) nesting theirs
out of order left one's "ignore" in place for the whole process, silencing later warnings."""

@dataclass(frozen=True)
class SourceInfo:
    """What an image file carried besides its pixels, as the writer needs it.

    Attributes:
        format: PIL's name of the file format (``"JPEG"``, ``"PNG"``, ``"WEBP"``,
            ``"TIFF"``, ``"BMP"``, ...), or None (arrays, PIL images made in memory).
        mode: the source's PIL mode (``"RGB"``, ``"I;16"``, ...; ``"RGB;16"`` /
            ``"RGBA;16"`` for 16-bit colour, which PIL has no mode for).
        bits: bits per sample of the pixels handed on: 16 for 16-bit PNG and TIFF
            (gray or colour), else 8.
        icc_profile: the ICC colour profile (checked: a corrupt one is None), or None.
        exif: the EXIF block (``Exif\\0\\0`` + TIFF header + IFDs, as PIL's ``exif=``
            takes it), with the orientation reset to 1 when the pixels were turned
            upright and without its thumbnail; None when there was none or it could
            not be parsed.
        xmp: the XMP packet (UTF-8 bytes), ``tiff:Orientation`` reset like EXIF's; or None.
        orientation: the EXIF orientation the pixels were turned upright by (1 = not
            turned; 5-8 swap width and height).
        jpeg_qtables: the JPEG's quantisation tables (``{table: 64 values}``, PIL's
            ``qtables=``), or None for other formats.
        jpeg_subsampling: the JPEG's chroma subsampling as PIL's ``subsampling=`` takes
            it (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0), or None (gray, unknown, not a JPEG).
        webp_lossy: for WebP, True when the image data is lossy (a ``VP8 `` chunk),
            False when lossless (``VP8L``); None for other formats or when unknown.
    """

    format: str | None = None
    mode: str = "RGB"
    bits: int = 8
    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    orientation: int = 1
    jpeg_qtables: dict[int, list[int]] | None = field(default=None, repr=False)
    jpeg_subsampling: int | None = None
    webp_lossy: bool | None = None

    @property
    def has_metadata(self) -> bool:
        """True when there is an ICC profile, EXIF or XMP to carry."""
        return bool(self.icc_profile or self.exif or self.xmp)

    def stripped(self) -> SourceInfo:
        """The same, without ICC profile, EXIF and XMP (the encoding rules stay)."""
        return replace(self, icc_profile=None, exif=None, xmp=None)


def read_info(
    im: Image.Image,
    name: str,
    *,
    orientation: int = 1,
    bits: int = 8,
    mode: str | None = None,
    fp: IO[bytes] | None = None,
) -> SourceInfo:
    """Capture an opened image's :class:`SourceInfo` (call it before any transpose).

    Args:
        im: the image as PIL opened it (its ``info``, ``format`` and JPEG tables).
        name: the file name, for warnings.
        orientation: the EXIF orientation the caller turned the pixels upright by
            (1 = they were not turned; then EXIF and XMP are kept as they are).
        bits: bits per sample the caller decoded (16 for 16-bit data).
        mode: the source mode to record (default ``im.mode``).
        fp: the file, seekable, at the image's start (WebP: tells lossy from lossless).

    Warns:
        UserWarning: a corrupt ICC profile or unreadable EXIF was dropped.
    """
    fmt = im.format
    qtables = subsampling = None
    if fmt in ("JPEG", "MPO"):
        from PIL import JpegImagePlugin

        qtables = {int(k): list(v) for k, v in getattr(im, "quantization", {}).items()} or None
        s = JpegImagePlugin.get_sampling(im)
        subsampling = s if s in (0, 1, 2) else None
    webp_lossy = None
    if fmt == "WEBP":
        if fp is not None:
            webp_lossy = webp_is_lossy(fp)
        elif getattr(im, "filename", ""):
            try:
                with open(im.filename, "rb") as f:
                    webp_lossy = webp_is_lossy(f)
            except OSError:
                webp_lossy = None
    return SourceInfo(
        format=fmt,
        mode=mode or im.mode,
        bits=bits,
        icc_profile=_checked_icc(im.info.get("icc_profile"), name),
        exif=_exif(im, name, orientation),
        xmp=_xmp(im.info.get("xmp"), orientation),
        orientation=orientation,
        jpeg_qtables=qtables,
        jpeg_subsampling=subsampling,
        webp_lossy=webp_lossy,
    )


def attach_info(image: Any, info: SourceInfo | None) -> Any:
    """Put ``info``'s ICC profile, EXIF and XMP into a PIL image's ``.info`` (what
    ``image.save`` and other tools read); other images are returned as they are."""
    if not isinstance(image, Image.Image):
        return image
    for key in ("icc_profile", "exif", "xmp"):
        image.info.pop(key, None)
        value = getattr(info, key, None) if info is not None else None
        if value:
            image.info[key] = value
    return image


# --------------------------------------------------------------------------- ICC


def icc_colour_space(icc: bytes) -> str:
    """The colour space an ICC profile describes: ``"RGB"``, ``"GRAY"``, ``"CMYK"``, ... (header bytes 16-19)."""
    return icc[16:20].decode("latin-1").strip()


def _checked_icc(icc: Any, name: str) -> bytes | None:
    if not icc:
        return None
    icc = bytes(icc)
    problem = ""
    if len(icc) < 128 or icc[36:40] != b"acsp":
        problem = "it has no ICC header"
    elif struct.unpack(">I", icc[:4])[0] != len(icc):
        problem = f"its header says {struct.unpack('>I', icc[:4])[0]} bytes but it has {len(icc)}"
    else:
        try:
            from PIL import ImageCms

            ImageCms.ImageCmsProfile(io.BytesIO(icc))
        except ImportError:  # Pillow built without littlecms: the header check is all we have
            pass
        except (OSError, ValueError, TypeError) as e:
            problem = f"littlecms cannot read it ({e})"
    if problem:
        warnings.warn(
            f"{name}: its ICC colour profile is corrupt ({problem}); it is not copied to the "
            "result, which viewers will show as sRGB; re-export the image to keep its colours",
            UserWarning,
            stacklevel=2,
        )
        return None
    return icc


# --------------------------------------------------------------------------- EXIF


def _exif(im: Image.Image, name: str, orientation: int) -> bytes | None:
    """The image's EXIF block, orientation reset when the pixels were turned; None if unreadable."""
    raw = im.info.get("exif")
    if im.format == "TIFF":
        return _tiff_exif(im, orientation)
    if not raw:
        return None
    raw = bytes(raw)
    exif = Image.Exif()
    try:
        with WARNINGS_LOCK, warnings.catch_warnings(record=True) as complaints:  # PIL's "Corrupt EXIF data": ours follows
            warnings.simplefilter("always")
            exif.load(raw)
            tags = len(exif)
        broken = bool(complaints) and tags == 0
    except Exception:  # PIL raises many kinds on malformed EXIF  # noqa: BLE001
        tags, broken = 0, True
    if tags == 0 and not broken:  # a valid, empty EXIF block (CelebA's): nothing to carry
        return None
    if broken:
        warnings.warn(
            f"{name}: its EXIF block ({len(raw)} bytes) could not be read; it is not copied to the result",
            UserWarning,
            stacklevel=3,
        )
        return None
    try:
        thumbnail = bool(exif.get_ifd(ExifTags.IFD.IFD1))
    except Exception:  # noqa: BLE001 - an unreadable second IFD: rewrite without it
        thumbnail = True
    if not thumbnail and (orientation == 1 or exif.get(ORIENTATION, 1) == 1):
        return raw if raw.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + raw  # as it was, bit for bit
    # Rewritten by PIL, which writes no second IFD: the thumbnail (a small copy of the
    # original picture, which would still show what was filled) goes.
    if orientation != 1 and ORIENTATION in exif:
        exif[ORIENTATION] = 1  # the pixels are upright now
    return exif.tobytes()


def _tiff_exif(im: Image.Image, orientation: int) -> bytes | None:
    """A TIFF's EXIF: its descriptive first-IFD tags and its Exif and GPS IFDs (not its layout)."""
    src = im.getexif()
    exif = Image.Exif()
    for tag in _TIFF_DESCRIPTIVE:
        if tag in src:
            exif[tag] = src[tag]
    for ifd in (_EXIF_IFD, _GPS_IFD):
        if ifd in src:
            sub = src.get_ifd(ifd)
            if sub:
                exif.get_ifd(ifd).update(sub)
    if orientation != 1 and ORIENTATION in exif:
        exif[ORIENTATION] = 1
    if not len(exif) and not any(exif.get_ifd(i) for i in (_EXIF_IFD, _GPS_IFD)):
        return None
    return exif.tobytes()


def _xmp(xmp: Any, orientation: int) -> bytes | None:
    if not xmp:
        return None
    if isinstance(xmp, tuple):  # TIFF tag 700 may come as a tuple of one
        xmp = xmp[0] if len(xmp) == 1 else b"".join(xmp)
    data = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
    if orientation != 1:
        for pattern in _XMP_ORIENTATION:
            data = pattern.sub(rb"\g<1>1\g<3>", data)
    return data


# --------------------------------------------------------------------------- WebP


def webp_is_lossy(fp: IO[bytes]) -> bool | None:
    """Tell a lossy WebP (a ``VP8 `` chunk) from a lossless one (``VP8L``), from the RIFF chunks.

    ``fp`` is at the file's start and is left where it was. An extended file (``VP8X``)
    is walked chunk by chunk (ICC, animation, alpha) to its image chunk. None when the
    file is not a WebP or ends first.
    """
    start = fp.tell()
    try:
        head = fp.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
            return None
        while True:
            chunk = fp.read(8)
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind == b"VP8 ":
                return True
            if kind == b"VP8L":
                return False
            if kind == b"ANMF":  # an animation frame: its image chunk follows a 16-byte header
                fp.seek(16, io.SEEK_CUR)
                continue
            fp.seek(size + (size & 1), io.SEEK_CUR)  # chunks are padded to even sizes
    finally:
        fp.seek(start)
