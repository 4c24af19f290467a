"""The API's documentation: the inpaint request's two forms in OpenAPI, and offline Swagger UI."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from glcic.options import DEFAULT_MODEL
from glcic.server.requests import (
    FILE_FIELDS,
    MODEL_DESCRIPTION,
    MODEL_FIELD,
    OPTION_CHOICES,
    OPTION_DEFAULTS,
    InpaintJSON,
)


def _multipart_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "image": {"type": "string", "format": "binary", "description": "The image file."},
        "mask": {
            "type": "string",
            "format": "binary",
            "description": "The mask file, same size as the image: white / non-zero = hole.",
        },
    }
    props[MODEL_FIELD] = {
        "type": "string",
        "default": DEFAULT_MODEL,
        "description": MODEL_DESCRIPTION,
    }
    for name, choices in OPTION_CHOICES.items():
        props[name] = {"type": "string", "enum": list(choices), "default": OPTION_DEFAULTS[name]}
    return {"type": "object", "required": list(FILE_FIELDS), "properties": props}


INPAINT_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _multipart_schema()},
            "application/json": {"schema": InpaintJSON.model_json_schema()},
        },
    },
    "responses": {
        "200": {
            "description": "The completed image, same size as the input.",
            "content": {"image/png": {}},
            "headers": {
                "X-Glcic-Model": {
                    "description": "The model that ran: its name on this server, as in "
                    "GET /api/v1/models (percent-encoded UTF-8 if not ASCII), or the classical method.",
                    "schema": {"type": "string"},
                },
                "X-Glcic-Strategy": {
                    "description": "What ran: original, resize, crop or tiles; none for a "
                    "classical method or an empty mask.",
                    "schema": {"type": "string"},
                },
                "X-Glcic-Scale": {
                    "description": "The network's working scale relative to the image (1 = native).",
                    "schema": {"type": "number"},
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
            "description": "Missing or unknown field, bad option, a model this server has not "
            "loaded (unknown_model), unreadable image, size mismatch, unusable mask."
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
    """Make ``app``'s schema list its own models as the choices of ``path``'s ``model`` field.

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
