"""HTTP API and web page for image completion.

``create_app()`` builds a FastAPI app around one or more :class:`glcic.pipeline.InpaintPipeline`,
each by name (:class:`glcic.server.models.ModelSet`):

- ``POST /api/v1/inpaint``: an image and a mask (1 / white / non-zero = hole), as
  multipart files or base64 in JSON, and the ``model`` to run (the default when absent);
  answers the completed image, of the input's size, in the input's format with its
  metadata unless ``format`` / ``strip_metadata`` ask otherwise.
- ``GET /api/v1/health``, ``GET /api/v1/models`` (every loaded model), ``GET /api/v1/model``
  (the default, or ``?name=``), ``GET /api/v1/methods`` (what ``method`` takes here); the
  OpenAPI schema at ``/openapi.json`` and its docs at ``/docs``.
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
from collections.abc import Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from glcic import __version__
from glcic.options import DEFAULT_MODEL
from glcic.pipeline import InpaintPipeline
from glcic.server.errors import ApiError, install_error_handlers
from glcic.server.inpaint import run_inpaint
from glcic.server.methods import describe_methods
from glcic.server.models import ModelSet, load_models
from glcic.server.openapi import INPAINT_OPENAPI, document_models, mount_docs
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
    models: Sequence[str] | str | None = None,
    settings: ServerSettings | None = None,
    device: str = "cpu",
    *,
    pipelines: Mapping[str, InpaintPipeline] | None = None,
    default: str | None = None,
) -> FastAPI:
    """Build the app around ready pipelines, or load ``models``; give at most one of the three.

    Args:
        pipeline: one ready :class:`glcic.pipeline.InpaintPipeline` (tests pass a tiny one),
            named after its bundle (``info["name"]``).
        models: shipped model names or bundle folders, loaded at once with
            :func:`glcic.server.models.load_models` (the first is the default). With none of
            the three: every installed shipped model, as ``glcic serve`` does.
        settings: limits; defaults to :class:`ServerSettings()`.
        device: where loaded models run.
        pipelines: ready pipelines by name.
        default: the name among ``pipelines`` that requests get when they name none
            (default: the first).

    Raises:
        BundleError: a model of ``models`` is missing, broken, or named twice.
        ValueError: more than one of ``pipeline``, ``models`` and ``pipelines``, or bad names.
    """
    settings = settings or ServerSettings()
    settings.check()
    if sum(x is not None for x in (pipeline, models, pipelines)) > 1:
        raise ValueError("give one of pipeline=, models= and pipelines=; got several")
    if default is not None and pipelines is None:
        raise ValueError("default= names one of pipelines=; with models= the first is the default")
    if pipeline is not None:
        loaded = ModelSet.single(pipeline)
    elif pipelines is not None:
        loaded = ModelSet(
            dict(pipelines), next(iter(pipelines), "") if default is None else default
        )
    else:
        loaded = load_models(models, device=device)
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
            "Send an image and a mask (white / non-zero = hole); get the completed image back "
            "in the image's format (JPEG in, JPEG out), metadata kept."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by mount_docs from the package's own Swagger UI files: no CDN
    )
    app.state.models = loaded
    app.state.pipelines = loaded.pipelines
    app.state.default_model = loaded.default
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
    document_models(app, f"{API}/inpaint", loaded.names, loaded.default)
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
    multipart files, or base64 in a JSON object; optional ``model`` (see
    ``GET /api/v1/models``; default: the server's default), ``postprocess``, ``strategy``,
    ``method``, ``format``, ``strip_metadata``, ``quality``. Answers the image of the
    input's size in the input's format (or ``format``'s); pixels outside the hole (and,
    with ``blend``, its seam) are the input's. ``X-Glcic-*`` headers say what ran."""
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
        req = await parse_request(request, state.models)
        started = time.perf_counter()
        submitted = True
        pipe = state.models.pipelines[req.model]
        answer, ran = await pool.run(
            run_inpaint, pipe, req, settings.max_pixels, timeout=settings.timeout
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
        answer.data,
        media_type=answer.media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": answer.disposition,
            "X-Elapsed-Ms": f"{elapsed_ms:.1f}",
            **ran,  # X-Glcic-Model, -Strategy, -Scale, -Postprocess, -Hole-Pixels
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
    f"{API}/models",
    summary="Every loaded model: name, default, resolution, what it is for, training data, licence",
    tags=["service"],
)
async def models_info(request: Request) -> dict[str, Any]:
    """The names a request's ``model`` field takes, the default's first among equals."""
    models: ModelSet = request.app.state.models
    return {"default": models.default, "models": [models.describe(name) for name in models.names]}


@routes.get(
    f"{API}/methods",
    summary="Every method the method field takes on this server: the network and the classical ones that can run here",
    tags=["service"],
)
async def methods_info() -> dict[str, Any]:
    """The page builds its Method menu from this; a method whose library is missing is not listed."""
    return describe_methods()


@routes.get(
    f"{API}/model",
    summary="One loaded model (the default unless ?name= says which): resolution, training data, licence",
    tags=["service"],
)
async def model_info(
    request: Request,
    name: str = Query(DEFAULT_MODEL, description="A name from GET /api/v1/models, or 'default'."),
) -> dict[str, Any]:
    models: ModelSet = request.app.state.models
    return models.describe(models.resolve(name, status=404))


# --------------------------------------------------------------------------- page


@routes.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")
