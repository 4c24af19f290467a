"""The API's documentation: the inpaint request's two forms in OpenAPI, and offline Swagger UI."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from glcic.io import MASK_RULE
from glcic.options import DEFAULT_MODEL
from glcic.server.answer import MEDIA_TYPES
from glcic.server.methods import runnable_methods
from glcic.server.requests import (
    FILE_FIELDS,
    FORMAT_DESCRIPTION,
    MODEL_DESCRIPTION,
    MODEL_FIELD,
    OPTION_CHOICES,
    OPTION_DEFAULTS,
    QUALITY_DESCRIPTION,
    STRIP_DESCRIPTION,
    InpaintJSON,
)

MASK_DESCRIPTION = f"The mask, the image's size (after its EXIF rotation). {MASK_RULE}"
"""The ``mask`` field's description in both request forms: the rule of :mod:`glcic.io.masks`."""
METHOD_DESCRIPTION = "'glcic' (the network) or a classical baseline; GET /api/v1/methods lists them."


def _multipart_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "image": {
            "type": "string",
            "format": "binary",
            "description": "The image file (PNG, JPEG, WebP, BMP, TIFF or GIF).",
        },
        "mask": {"type": "string", "format": "binary", "description": MASK_DESCRIPTION},
    }
    props[MODEL_FIELD] = {
        "type": "string",
        "default": DEFAULT_MODEL,
        "description": MODEL_DESCRIPTION,
    }
    for name, choices in OPTION_CHOICES.items():
        props[name] = {"type": "string", "enum": list(choices), "default": OPTION_DEFAULTS[name]}
    props["method"]["description"] = METHOD_DESCRIPTION
    props["format"]["description"] = FORMAT_DESCRIPTION
    props["strip_metadata"] = {"type": "boolean", "default": False, "description": STRIP_DESCRIPTION}
    props["quality"] = {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "description": QUALITY_DESCRIPTION,
    }
    return {"type": "object", "required": list(FILE_FIELDS), "properties": props}


def _json_schema() -> dict[str, Any]:
    schema = InpaintJSON.model_json_schema()
    schema["properties"]["mask"]["description"] = f"Base64-encoded. {MASK_DESCRIPTION}"
    return schema


INPAINT_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _multipart_schema()},
            "application/json": {"schema": _json_schema()},
        },
    },
    "responses": {
        "200": {
            "description": "The completed image, same size as the input, in the input's format "
            "(JPEG in, JPEG out at the input's quantisation; lossy WebP lossy; 16-bit PNG and "
            "TIFF 16-bit; GIF as PNG) with its ICC profile, EXIF and XMP, unless the request's "
            "format or strip_metadata say otherwise. Content-Disposition names it after the "
            "image part: photo.jpg -> photo_filled.jpg.",
            "content": {media: {} for media in MEDIA_TYPES.values()},
            "headers": {
                "X-Glcic-Model": {
                    "description": "The model that ran: its name on this server, as in "
                    "GET /api/v1/models (percent-encoded UTF-8 if not ASCII), or the classical method.",
                    "schema": {"type": "string"},
                },
                "X-Glcic-Strategy": {
                    "description": "What ran: original, resize, crop or tiles, joined by + when "
                    "auto combined them (tiles+resize), with +detail when strategy refine painted "
                    "native detail; none for a classical method or an empty mask.",
                    "schema": {"type": "string"},
                },
                "X-Glcic-Scale": {
                    "description": "The network's working scale relative to the image (1 = native).",
                    "schema": {"type": "number"},
                },
                "X-Glcic-Postprocess": {
                    "description": "The post-processing that ran: blend or none (none for an "
                    "empty mask, where nothing ran, and for auto where every hole was left unblended).",
                    "schema": {"type": "string"},
                },
                "X-Glcic-Hole-Pixels": {
                    "description": "How many pixels the mask marked as hole; 0: nothing was "
                    "done, the input comes back unchanged.",
                    "schema": {"type": "integer"},
                },
                "X-Elapsed-Ms": {
                    "description": "Milliseconds spent waiting for and running the inference.",
                    "schema": {"type": "number"},
                },
            },
        },
        "400": {"description": "Malformed body: bad JSON, bad base64, broken multipart."},
        "408": {
            "description": "The body paused longer than the idle timeout, or was not complete "
            "within the upload timeout (Connection: close)."
        },
        "413": {
            "description": "Body larger than the upload limit, or image larger than the pixel limit."
        },
        "415": {"description": "Content-Type is neither multipart/form-data nor application/json."},
        "422": {
            "description": "Missing or unknown field, bad option (including a method this "
            "server cannot run, or format jpeg for an image with transparency), a model this "
            "server has not loaded (unknown_model), unreadable image, size mismatch, unusable mask."
        },
        "503": {
            "description": "Every worker is busy and the queue is full (or no upload slot came "
            "free in time); retry after Retry-After seconds."
        },
        "504": {"description": "The request ran past the server's time limit."},
    },
}
"""``openapi_extra`` of ``POST /api/v1/inpaint``: its body is read by hand, not by FastAPI."""


def document_models(app: FastAPI, path: str, names: Sequence[str], default: str) -> None:
    """Make ``app``'s schema list its own models as the choices of ``path``'s ``model`` field,
    and the methods this server can run as those of ``method``.

    The route's ``openapi_extra`` (:data:`INPAINT_OPENAPI`) is shared by every app, so each
    app patches a copy of its built schema instead.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = copy.deepcopy(build())
            content = schema["paths"][path]["post"]["requestBody"]["content"]
            for form in content.values():
                field = form["schema"]["properties"][MODEL_FIELD]
                field["enum"] = (
                    [*names, DEFAULT_MODEL] if DEFAULT_MODEL not in names else list(names)
                )
                field["description"] = (
                    f"{MODEL_DESCRIPTION} Here: {', '.join(names)}; 'default' = {default!r}."
                )
                form["schema"]["properties"]["method"]["enum"] = list(runnable_methods())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` from the ``swagger-ui-bundle`` package's files: no CDN."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html

    app.mount("/_swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="glcic API",
            swagger_js_url="/_swagger/swagger-ui-bundle.js",
            swagger_css_url="/_swagger/swagger-ui.css",
            swagger_favicon_url="/_swagger/favicon-32x32.png",
        )
