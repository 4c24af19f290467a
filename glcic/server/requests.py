"""Reading an inpaint request: multipart or JSON (base64) in, one :class:`InpaintRequest` out.

The body has already been read, within the upload limits, by
:class:`glcic.server.uploads.BodyReader`. Every field is checked here, before any work is queued: unknown, missing, duplicate
or wrong-kind fields and bad options are 422s that say what to send instead;
unparseable bodies are 400s. The option lists and defaults are :mod:`glcic.options`';
the ``model`` field names one of the server's models (:class:`glcic.server.models.ModelSet`)
and leaves here as that model's name, ``default`` resolved; ``method`` must be one this
server can run (:mod:`glcic.server.methods`). ``format``, ``strip_metadata`` and ``quality``
say how the answer is encoded (:mod:`glcic.server.answer`).
"""

from __future__ import annotations

import base64
import binascii
import json
import reprlib
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from glcic.io.save import DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY
from glcic.options import (
    DEFAULT_METHOD,
    DEFAULT_MODEL,
    DEFAULT_POSTPROCESS,
    DEFAULT_STRATEGY,
    METHODS,
    POSTPROCESS,
    STRATEGIES,
)
from glcic.server.errors import ApiError, format_errors
from glcic.server.methods import check_method
from glcic.server.models import ModelSet

FILE_FIELDS = ("image", "mask")
MODEL_FIELD = "model"
MODEL_DESCRIPTION = (
    "Which of the server's models runs: a name from GET /api/v1/models, or 'default' "
    "(the server's default, also used when the field is absent)."
)
OUTPUT_FORMATS = ("input", "png", "jpeg", "webp", "tiff")
"""The ``format`` field: ``input`` (the default) answers in the input's format, with its
metadata and, for JPEG, its quantisation; the others re-encode."""
FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff"}
"""Other spellings the ``format`` field takes (file endings)."""
OPTION_CHOICES = {
    "postprocess": POSTPROCESS,
    "strategy": STRATEGIES,
    "method": METHODS,
    "format": OUTPUT_FORMATS,
}
OPTION_DEFAULTS = {
    "postprocess": DEFAULT_POSTPROCESS,
    "strategy": DEFAULT_STRATEGY,
    "method": DEFAULT_METHOD,
    "format": "input",
}
FORMAT_DESCRIPTION = (
    "The answer's format: 'input' (the default) answers in the input's format (JPEG in, JPEG "
    "out at the input's quantisation; lossy WebP stays lossy; 16-bit PNG and TIFF stay 16-bit), "
    "with its ICC profile, EXIF and XMP; 'png', 'jpeg' ('jpg'), 'webp' or 'tiff' re-encode."
)
STRIP_DESCRIPTION = (
    "true: drop the ICC profile, EXIF (camera, date, GPS) and XMP from the answer "
    "(multipart: true/false, 1/0, yes/no, on/off). Default false: they are kept."
)
QUALITY_DESCRIPTION = (
    "JPEG or WebP quality, 1-100: a JPEG answer uses it instead of the input JPEG's own "
    "quantisation tables, a WebP answer becomes lossy at it. Absent: a JPEG input's tables, "
    f"else quality {DEFAULT_JPEG_QUALITY} (JPEG) or {DEFAULT_WEBP_QUALITY} (WebP, when lossy)."
)
FLAG_FIELDS = ("strip_metadata", "quality")
"""Fields that are neither files nor choices from a list."""


@dataclass
class InpaintRequest:
    """One request, whichever form it came in: the two files' bytes and the options."""

    image: bytes
    mask: bytes
    model: str = DEFAULT_MODEL
    """The name of a loaded model (:func:`parse_request` resolves ``default`` to it)."""
    postprocess: str = DEFAULT_POSTPROCESS
    strategy: str = DEFAULT_STRATEGY
    method: str = DEFAULT_METHOD
    format: str = "input"
    """``input`` (the input's format) or one of :data:`OUTPUT_FORMATS`; aliases resolved."""
    strip_metadata: bool = False
    quality: int | None = None
    image_name: str = ""
    """The image part's file name (multipart), for the answer's; "" when none was sent."""


class InpaintJSON(BaseModel):
    """JSON form of an inpaint request: both images base64-encoded (a data: URL prefix is allowed)."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(description="The image (PNG, JPEG, WebP, BMP, ...), base64-encoded.")
    mask: str = Field(
        description="The mask, base64-encoded, same size as the image: white / non-zero = hole."
    )
    model: str = Field(DEFAULT_MODEL, description=MODEL_DESCRIPTION)
    postprocess: Literal[POSTPROCESS] = Field(
        DEFAULT_POSTPROCESS,
        description="'blend' smooths the seam around every hole (Poisson blending); 'auto' (the "
        "default) around the holes that need it, not those the network completed at native scale; "
        "'none' returns the raw fill.",
    )
    strategy: Literal[STRATEGIES] = Field(
        DEFAULT_STRATEGY,
        description="How an image far from the model's training resolution is processed.",
    )
    method: Literal[METHODS] = Field(
        DEFAULT_METHOD,
        description="'glcic' (the network) or a classical baseline; GET /api/v1/methods lists "
        "those this server can run.",
    )
    format: Literal[OUTPUT_FORMATS] = Field("input", description=FORMAT_DESCRIPTION)
    strip_metadata: bool = Field(False, strict=True, description=STRIP_DESCRIPTION)
    quality: int | None = Field(None, ge=1, le=100, strict=True, description=QUALITY_DESCRIPTION)


async def parse_request(request: Request, models: ModelSet) -> InpaintRequest:
    """Read and check the body of ``request`` by its Content-Type; ``model`` must name one of ``models``."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return await parse_multipart(request, models)
    if ctype == "application/json":
        return parse_json(await request.body(), models)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {ctype or '(none)'!r} is not accepted; send multipart/form-data "
        "(fields image, mask) or application/json (base64 image, mask)",
    )


# --------------------------------------------------------------------------- the two forms


async def parse_multipart(request: Request, models: ModelSet) -> InpaintRequest:
    """``multipart/form-data``: file parts ``image`` and ``mask``, text fields for options."""
    try:
        form = await request.form(max_files=4, max_fields=8)
    except StarletteHTTPException as e:  # python-multipart's parse errors
        raise ApiError(
            400, "malformed_multipart", f"the multipart body could not be parsed: {e.detail}"
        ) from e
    try:
        fields = _single_fields(form)
        _reject_unknown(fields)
        files = {}
        for name in FILE_FIELDS:
            if name not in fields:
                raise _missing(name, multipart=True)
            value = fields[name]
            if not isinstance(value, UploadFile):
                raise ApiError(
                    422,
                    "not_a_file",
                    f"field {name!r} must be a file part (curl: -F {name}=@FILE); it arrived as a text field",
                )
            files[name] = await value.read()
        image_name = fields["image"].filename or ""
        options: dict[str, Any] = {}
        for name, value in fields.items():
            if name in FILE_FIELDS:
                continue
            if isinstance(value, UploadFile):
                raise ApiError(
                    422, "invalid_option", f"field {name!r} must be a text field, not a file"
                )
            if name == "strip_metadata":
                options[name] = _form_bool(name, value)
            elif name == "quality":
                options[name] = _form_quality(value)
            else:
                options[name] = value if name == MODEL_FIELD else _check_option(name, value)
        options[MODEL_FIELD] = models.resolve(options.get(MODEL_FIELD, DEFAULT_MODEL))
        return InpaintRequest(
            image=files["image"], mask=files["mask"], image_name=image_name, **options
        )
    finally:
        await form.close()


def _single_fields(form: FormData) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key in fields:
            raise ApiError(
                422, "duplicate_field", f"field {key!r} was sent more than once; send it once"
            )
        fields[key] = value
    return fields


def parse_json(body: bytes, models: ModelSet) -> InpaintRequest:
    """``application/json``: an object with base64 ``image`` and ``mask``, and options."""
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {e}") from e
    except ValueError as e:  # Python refuses integers of more than 4300 digits
        raise ApiError(
            400, "invalid_json", "the JSON body holds a number too long to parse (over 4300 digits)"
        ) from e
    except RecursionError:  # Python's parser recurses once per level of [ or {
        raise ApiError(
            400,
            "invalid_json",
            "the JSON body is nested too deeply to parse; send one flat object "
            '{"image": "<base64>", "mask": "<base64>", ...}',
        ) from None
    if not isinstance(raw, dict):
        raise ApiError(
            400, "invalid_json", f"the JSON body must be an object; got {type(raw).__name__}"
        )
    _reject_unknown(raw)
    for name in FILE_FIELDS:
        if name not in raw:
            raise _missing(name, multipart=False)
    for name in OPTION_CHOICES:
        if name in raw:
            raw[name] = _check_option(name, raw[name])
    raw[MODEL_FIELD] = models.resolve(raw.get(MODEL_FIELD, DEFAULT_MODEL))
    try:
        req = InpaintJSON.model_validate(raw)
    except ValidationError as e:
        raise ApiError(422, "invalid_field", format_errors(e.errors())) from e
    return InpaintRequest(
        image=b64decode(req.image, "image"),
        mask=b64decode(req.mask, "mask"),
        model=req.model,
        postprocess=req.postprocess,
        strategy=req.strategy,
        method=req.method,
        format=req.format,
        strip_metadata=req.strip_metadata,
        quality=req.quality,
    )


def b64decode(text: str, name: str) -> bytes:
    """The bytes of base64 ``text`` (a ``data:...;base64,`` prefix and line breaks allowed)."""
    if text.startswith("data:"):
        head, sep, text = text.partition(",")
        if not sep or not head.endswith(";base64"):
            raise ApiError(
                400,
                "invalid_base64",
                f"{name!r} is a data: URL but not a base64 one ('data:...;base64,...')",
            )
    # Line breaks and spaces are legal in MIME base64 (`base64` wraps at 76 columns).
    text = "".join(text.split())
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ApiError(
            400,
            "invalid_base64",
            f"{name!r} is not valid base64 ({e}); encode the file's bytes, e.g. `base64 -w0 FILE`",
        ) from e
    if not data:
        raise ApiError(422, "empty_file", f"{name!r} is empty; send the bytes of an image file")
    return data


# --------------------------------------------------------------------------- field checks


def _reject_unknown(fields: dict[str, Any]) -> None:
    known = {*FILE_FIELDS, MODEL_FIELD, *OPTION_CHOICES, *FLAG_FIELDS}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ApiError(
            422,
            "unknown_field",
            f"unknown field(s) {', '.join(map(repr, unknown))}; expected {', '.join(sorted(known))}",
        )


def _missing(name: str, multipart: bool) -> ApiError:
    how = (
        f"a file part named {name!r} (curl: -F {name}=@FILE)"
        if multipart
        else f'"{name}": "<base64>"'
    )
    return ApiError(422, "missing_field", f"field {name!r} is required; send {how}")


def _check_option(name: str, value: Any) -> str:
    # Checked here too (the pipeline checks again), so that a bad value is a 422 that
    # lists the choices before any work is queued.
    if name == "method":
        return check_method(value)
    if name == "format" and isinstance(value, str):
        value = FORMAT_ALIASES.get(value.lower(), value.lower())
    choices = OPTION_CHOICES[name]
    if value not in choices:
        raise ApiError(
            422,
            "invalid_option",
            f"{name} must be one of {', '.join(map(repr, choices))}; got {reprlib.repr(value)}",
        )
    return value


TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def _form_bool(name: str, value: str) -> bool:
    """A multipart text field as a yes/no."""
    text = value.strip().lower()
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise ApiError(
        422, "invalid_option", f"{name} must be true or false (or 1/0); got {reprlib.repr(value)}"
    )


def _form_quality(value: str) -> int:
    """A multipart text field as a JPEG/WebP quality, 1-100."""
    text = value.strip()
    if text.isdigit() and 1 <= int(text) <= 100:
        return int(text)
    raise ApiError(
        422, "invalid_option", f"quality must be a whole number from 1 to 100; got {reprlib.repr(value)}"
    )
