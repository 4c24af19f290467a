"""One JSON shape for every answer other than 200: ``{"error": code, "detail": sentence}``.

:class:`ApiError` is raised anywhere in the server with its status, a short
machine-readable code and a sentence for people; :func:`install_error_handlers`
turns it, FastAPI's validation errors, Starlette's 404/405 and our own bugs (a bare
500, logged, no traceback to the client) into that shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("glcic.server")


class ApiError(Exception):
    """An answer other than 200, with a short machine-readable code and a sentence for people."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def format_errors(errors: list[Any]) -> str:
    """Pydantic's error list as one line: ``field: message; field: message``."""
    parts = []
    for err in errors:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI, api_prefix: str) -> None:
    """Answer every error of ``app`` as JSON; ``api_prefix`` is named in 404 answers."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", format_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        detail = exc.detail
        if exc.status_code == 404:
            detail = f"no such endpoint or file: {request.url.path}; the API lives under {api_prefix}/ (see /docs)"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return error_response(
            exc.status_code,
            codes.get(exc.status_code, f"http_{exc.status_code}"),
            str(detail),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", "the server failed on this request; the error was logged"
        )
