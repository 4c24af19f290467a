"""HTTP API and web page for image completion.

``create_app()`` builds a FastAPI app around one :class:`glcic.pipeline.InpaintPipeline`:

- ``POST /api/v1/inpaint``: an image and a mask (1 / white / non-zero = hole), as
  multipart files or base64 in JSON; answers the completed image as a PNG of the
  input's size.
- ``GET /api/v1/health``, ``GET /api/v1/model``; the OpenAPI schema at ``/openapi.json``
  and its docs at ``/docs``.
- ``GET /``: a single static page (no build step, no CDN) to paint a hole and run.

Every error is JSON ``{"error": code, "detail": explanation}``: 4xx for anything a
client can get wrong (408 when it sends too slowly), 503 (with ``Retry-After``) when
the queue is full, 504 when a request runs past its time limit, and a bare 500 (no
traceback) for our own bugs.

The server never reads or writes a file named by a client: images arrive in the
request body and the answer goes back in the response body.

The routes only wire the pieces together; the modules are listed in :mod:`glcic.server`.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from glcic import __version__
from glcic.options import DEFAULT_MODEL
from glcic.pipeline import InpaintPipeline
from glcic.server.errors import ApiError, install_error_handlers
from glcic.server.inpaint import run_inpaint
from glcic.server.openapi import INPAINT_OPENAPI, mount_docs
from glcic.server.requests import parse_request
from glcic.server.security import SecurityHeaders
from glcic.server.settings import ServerSettings
from glcic.server.uploads import BodyReader, UploadSlots
from glcic.server.workers import Busy, WorkerPool

STATIC_DIR = Path(__file__).resolve().parent / "static"
API = "/api/v1"

routes = APIRouter()


def create_app(
    pipeline: InpaintPipeline | None = None,
    model: str = DEFAULT_MODEL,
    settings: ServerSettings | None = None,
    device: str = "cpu",
) -> FastAPI:
    """Build the app around ``pipeline`` (or load ``model``: 'default' or a bundle folder).

    Args:
        pipeline: a ready :class:`glcic.pipeline.InpaintPipeline` (tests pass a tiny one).
        model: loaded with ``InpaintPipeline.from_pretrained`` when ``pipeline`` is None.
        settings: limits; defaults to :class:`ServerSettings()`.
        device: where a loaded model runs.
    """
    settings = settings or ServerSettings()
    settings.check()
    if pipeline is None:
        pipeline = InpaintPipeline.from_pretrained(model, device=device)
    pool = WorkerPool(settings.max_concurrent, settings.queue)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            yield
        finally:
            pool.shutdown()

    app = FastAPI(
        title="glcic",
        version=__version__,
        description=(
            "Globally and Locally Consistent Image Completion (Iizuka et al. 2017). "
            "Send an image and a mask (white / non-zero = hole); get the completed image as PNG."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by mount_docs from the package's own Swagger UI files: no CDN
    )
    app.state.pipeline = pipeline
    app.state.settings = settings
    app.state.pool = pool
    app.state.uploads = UploadSlots(settings.max_uploads)
    # The last added is the outermost: every answer, the body reader's too, gets the headers.
    app.add_middleware(BodyReader, settings=settings, slots=app.state.uploads)
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app, API)
    app.include_router(routes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    mount_docs(app)
    return app


# --------------------------------------------------------------------------- API


@routes.post(
    f"{API}/inpaint",
    summary="Complete the masked region of an image",
    response_class=Response,
    openapi_extra=INPAINT_OPENAPI,
    tags=["inpaint"],
)
async def inpaint(request: Request) -> Response:
    """Send ``image`` and ``mask`` (white / non-zero = hole, same size as the image) as
    multipart files, or base64 in a JSON object; optional ``postprocess``, ``strategy``,
    ``method``. Answers ``image/png`` of the input's size; pixels outside the hole (and,
    with ``blend``, its seam) are the input's. ``X-Glcic-Model``, ``X-Glcic-Strategy``
    and ``X-Glcic-Scale`` say what ran."""
    state = request.app.state
    settings: ServerSettings = state.settings
    pool: WorkerPool = state.pool
    # The body has been read already (BodyReader), so a 503 here reaches a client that is
    # listening, and a client still uploading never holds a place in the queue.
    try:
        pool.reserve()
    except Busy:
        raise _busy(pool, settings.retry_after) from None
    submitted = False
    try:
        req = await parse_request(request)
        started = time.perf_counter()
        submitted = True
        png, ran = await pool.run(
            run_inpaint, state.pipeline, req, settings.max_pixels, timeout=settings.timeout
        )
    except ClientDisconnect:
        return Response(status_code=499)
    except asyncio.TimeoutError:
        raise _timed_out(settings.timeout) from None
    finally:
        if not submitted:
            pool.unreserve()
    elapsed_ms = (time.perf_counter() - started) * 1000
    return Response(
        png,
        media_type="image/png",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'inline; filename="inpainted.png"',
            "X-Elapsed-Ms": f"{elapsed_ms:.1f}",
            **ran,  # X-Glcic-Model, X-Glcic-Strategy, X-Glcic-Scale
        },
    )


def _busy(pool: WorkerPool, retry_after: int) -> ApiError:
    return ApiError(
        503,
        "busy",
        f"all {pool.workers} worker(s) are busy and {pool.capacity - pool.workers} request(s) are "
        f"waiting; retry in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def _timed_out(timeout: float) -> ApiError:
    return ApiError(
        504,
        "timeout",
        f"the request took longer than this server's limit of {timeout:g} s; "
        "try a smaller image or retry later",
    )


@routes.get(f"{API}/health", summary="Liveness, load and limits", tags=["service"])
async def health(request: Request) -> dict[str, Any]:
    settings: ServerSettings = request.app.state.settings
    pool: WorkerPool = request.app.state.pool
    return {
        "status": "ok",
        "version": __version__,
        "uploading": request.app.state.uploads.reading,
        "running": pool.running,
        "waiting": pool.waiting,
        "limits": {**asdict(settings), "max_upload_bytes": settings.max_upload_bytes},
    }


@routes.get(
    f"{API}/model",
    summary="The loaded model: name, resolution, training data, licence",
    tags=["service"],
)
async def model_info(request: Request) -> dict[str, Any]:
    return dict(request.app.state.pipeline.info)


# --------------------------------------------------------------------------- page


@routes.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")
