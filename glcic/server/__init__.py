"""HTTP serving: a FastAPI app (``create_app``) with a JSON/multipart API and a static page.

Imported only by ``glcic serve`` and by code that embeds the app; the library never
imports the server. The names below are loaded on first use, so that
``glcic.server.settings`` (the limits, no FastAPI) stays cheap for ``glcic --help``.

Modules, in the order a request meets them:

- :mod:`~glcic.server.connections`: uvicorn's settings; a deadline for request headers;
- :mod:`~glcic.server.app`: ``create_app`` and the routes, wired to the pieces below;
- :mod:`~glcic.server.security`: response headers (CSP on the page, ``nosniff``);
- :mod:`~glcic.server.uploads`: bodies read in full first, a few at once, with deadlines;
- :mod:`~glcic.server.workers`: admission, a bounded pool and queue (503 when full);
- :mod:`~glcic.server.requests`: reading multipart or JSON into one ``InpaintRequest``;
- :mod:`~glcic.server.models`: the loaded models by name; the ``model`` field picks one;
- :mod:`~glcic.server.methods`: the methods this server can run (``GET /api/v1/methods``);
- :mod:`~glcic.server.inpaint`: decode, check, complete, encode (on a worker thread);
- :mod:`~glcic.server.costs`: what one request may cost in memory (413 ``too_costly``);
- :mod:`~glcic.server.answer`: the answer's file: the input's format and metadata, its name;
- :mod:`~glcic.server.errors`: every non-200 answer as ``{"error", "detail"}`` JSON;
- :mod:`~glcic.server.settings`, :mod:`~glcic.server.openapi`: limits; the API's docs;
- :mod:`~glcic.server.testing`: ``serve_in_thread`` for tests, benchmarks, notebooks.
"""

from typing import TYPE_CHECKING, Any

__all__ = ["ServerSettings", "create_app", "serve_in_thread"]

if TYPE_CHECKING:  # pragma: no cover
    from glcic.server.app import create_app
    from glcic.server.settings import ServerSettings
    from glcic.server.testing import serve_in_thread

_HOMES = {
    "ServerSettings": "glcic.server.settings",
    "create_app": "glcic.server.app",
    "serve_in_thread": "glcic.server.testing",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'glcic.server' has no attribute {name!r}")
