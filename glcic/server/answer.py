"""The answer's file: the result encoded as its input came, or as the request asks, and named.

By default the answer has the input's format (:func:`glcic.io.encode_image` with the
input's :class:`~glcic.io.SourceInfo`): JPEG in, JPEG out at the input's quantisation;
lossy WebP stays lossy; 16-bit PNG and TIFF stay 16-bit; the ICC profile, EXIF (its
orientation set to 1 when the pixels were turned upright) and XMP go along. A request's
``format`` picks another, ``strip_metadata`` drops the metadata, ``quality`` sets JPEG's
and WebP's. A format glcic does not write (GIF, say) is answered as PNG.

``Content-Type`` and ``Content-Disposition`` follow the format actually written: the
image part's file name with ``_filled`` and the format's ending (``photo.jpg`` ->
``photo_filled.jpg``), or ``filled.EXT`` when the request sent no file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from glcic.errors import InputError
from glcic.io import FORMAT_SUFFIX, NO_ALPHA_FORMATS, SourceInfo, encode_image, resolve_format
from glcic.server.errors import ApiError

MEDIA_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
}
"""PIL format -> the answer's ``Content-Type``."""
NAME_SUFFIX = "_filled"
"""Added to the input's file name stem: ``photo.jpg`` -> ``photo_filled.jpg``."""


@dataclass(frozen=True)
class Answer:
    """An encoded result: the bytes, its PIL format and the file name it goes by."""

    data: bytes
    format: str
    filename: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.format, "application/octet-stream")

    @property
    def disposition(self) -> str:
        """``inline; filename="..."`` (ASCII) plus ``filename*=UTF-8''...`` for any other name (RFC 6266)."""
        ascii_name = self.filename.encode("ascii", "replace").decode().replace("?", "_")
        value = f'inline; filename="{ascii_name}"'
        if ascii_name != self.filename:
            value += f"; filename*=UTF-8''{quote(self.filename, safe='')}"
        return value


def requested_format(fmt: str) -> str | None:
    """The request's ``format`` field (checked by :mod:`glcic.server.requests`) as
    :func:`glcic.io.encode_image` takes it: None = the input's."""
    return None if fmt == "input" else fmt


def check_alpha(fmt: str | None, info: SourceInfo | None, has_alpha: bool) -> None:
    """Refuse, before any work, a format that cannot hold the image's transparency.

    Raises:
        ApiError: 422 ``invalid_option``.
    """
    if not has_alpha:
        return
    try:
        target = resolve_format(fmt, info)
    except InputError as e:  # the request's format field is checked before: not reached
        raise ApiError(422, "invalid_option", str(e)) from e
    if target in NO_ALPHA_FORMATS:
        raise ApiError(
            422,
            "invalid_option",
            f"format {target.lower()!r} cannot hold the image's transparency (alpha channel); "
            "ask for format 'png' or 'webp', or send an image without alpha",
        )


def encode_answer(
    image: Any,
    info: SourceInfo | None,
    fmt: str | None,
    *,
    strip_metadata: bool,
    quality: int | None,
    image_name: str,
) -> Answer:
    """Encode ``image`` (what the pipeline answered, or the input unchanged) for the answer.

    Raises:
        ApiError: 422 ``invalid_option`` when the encoder refuses the request's options.
    """
    try:
        data, written = encode_image(
            image, info, fmt, strip_metadata=strip_metadata, quality=quality
        )
    except InputError as e:
        raise ApiError(422, "invalid_option", f"the result cannot be encoded as asked: {e}") from e
    return Answer(data, written, answer_name(image_name, written))


def answer_name(image_name: str, fmt: str) -> str:
    """``photo.jpg`` + JPEG -> ``photo_filled.jpg``; any folders in the name are dropped,
    control characters and quotes replaced; ``filled.EXT`` when there is no name."""
    base = re.split(r"[\\/]", image_name or "")[-1]
    stem = base.rsplit(".", 1)[0] if "." in base[1:] else base
    stem = re.sub(r'[\x00-\x1f\x7f"]', "_", stem).strip(" .")[:120]
    suffix = FORMAT_SUFFIX.get(fmt, ".png")
    return f"{stem}{NAME_SUFFIX}{suffix}" if stem else f"filled{suffix}"
