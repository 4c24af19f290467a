"""HTTP API and web page for image completion.

``create_app()`` builds a FastAPI app around one :class:`glcic.pipeline.InpaintPipeline`:

- ``POST /api/v1/inpaint``: an image and a mask (1 / white / non-zero = hole), as
  multipart files or base64 in JSON; answers the completed image as a PNG of the
  input's size.
- ``GET /api/v1/health``, ``GET /api/v1/model``; the OpenAPI schema at ``/openapi.json``
  and its docs at ``/docs``.
- ``GET /``: a single static page (no build step, no CDN) to paint a hole and run.

Every error is JSON ``{"error": code, "detail": explanation}``: 4xx for anything a
client can get wrong, 503 (with ``Retry-After``) when the queue is full, 504 when a
request runs past its time limit, and a bare 500 (no traceback) for our own bugs.

The server never reads or writes a file named by a client: images arrive in the
request body and the answer goes back in the response body.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from glcic import __version__
from glcic.errors import InputError
from glcic.io import load_image, load_mask
from glcic.pipeline import METHODS, POSTPROCESS, STRATEGIES, InpaintPipeline

log = logging.getLogger("glcic.server")

STATIC_DIR = Path(__file__).resolve().parent / "static"
API = "/api/v1"

# Checked here too, so that a bad value is a 422 that lists the choices before any work is queued.
OPTION_CHOICES = {"postprocess": POSTPROCESS, "strategy": STRATEGIES, "method": METHODS}
FILE_FIELDS = ("image", "mask")

# The page may only load what the app serves; blob: and data: are the result and
# the user's own image. /docs is left out because FastAPI's Swagger UI loads from a CDN.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass
class ServerSettings:
    """Limits of one server process (``glcic serve`` flags)."""

    max_upload_mb: float = 20.0
    """Largest request body, in MiB (image + mask + form overhead, or the JSON body)."""
    max_pixels: int = 4096 * 1024
    """Largest image (and mask), in pixels (width x height)."""
    max_concurrent: int = 1
    """Inferences that run at once, each on its own worker thread."""
    queue: int = 8
    """Requests that may wait for a worker; one more is answered 503."""
    timeout: float = 120.0
    """Seconds a request may wait and run before it is answered 504."""
    retry_after: int = 5
    """Seconds suggested to a client that got a 503."""

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def check(self) -> None:
        """Raise InputError naming the first setting that cannot work."""
        if not self.max_upload_mb > 0:
            raise InputError(f"max_upload_mb must be > 0; got {self.max_upload_mb}")
        if self.max_pixels < 1:
            raise InputError(f"max_pixels must be >= 1; got {self.max_pixels}")
        if self.max_concurrent < 1:
            raise InputError(f"max_concurrent must be >= 1; got {self.max_concurrent}")
        if self.queue < 0:
            raise InputError(f"queue must be >= 0 (0 = no waiting); got {self.queue}")
        if not self.timeout > 0:
            raise InputError(f"timeout must be > 0 seconds; got {self.timeout}")


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


# ---------------------------------------------------------------------------
# Request schema (for validation of JSON bodies and for the OpenAPI docs).


class InpaintJSON(BaseModel):
    """JSON form of an inpaint request: both images base64-encoded (a data: URL prefix is allowed)."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(description="The image (PNG, JPEG, WebP, BMP, ...), base64-encoded.")
    mask: str = Field(
        description="The mask, base64-encoded, same size as the image: white / non-zero = hole."
    )
    postprocess: Literal[POSTPROCESS] = Field(
        "none", description="'blend' smooths the seam around the hole (Poisson blending)."
    )
    strategy: Literal[STRATEGIES] = Field(
        "auto", description="How an image far from the model's training resolution is processed."
    )
    method: Literal[METHODS] = Field(
        "glcic", description="'glcic' (the network) or a classical baseline."
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
    for name, choices in OPTION_CHOICES.items():
        props[name] = {"type": "string", "enum": list(choices), "default": choices[0]}
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
        },
        "400": {"description": "Malformed body: bad JSON, bad base64, broken multipart."},
        "413": {
            "description": "Body larger than the upload limit, or image larger than the pixel limit."
        },
        "415": {"description": "Content-Type is neither multipart/form-data nor application/json."},
        "422": {
            "description": "Missing or unknown field, bad option, unreadable image, size mismatch, unusable mask."
        },
        "503": {
            "description": "Every worker is busy and the queue is full; retry after Retry-After seconds."
        },
        "504": {"description": "The request ran past the server's time limit."},
    },
}


@dataclass
class InpaintRequest:
    image: bytes
    mask: bytes
    postprocess: str = "none"
    strategy: str = "auto"
    method: str = "glcic"


# ---------------------------------------------------------------------------
# Reading the body: counted while it arrives, never buffered past the limit.


async def _read_limited(request: Request, limit: int) -> bytes:
    _check_declared_length(request, limit)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, int(declared))


def _too_large(limit: int, got: int | None = None) -> ApiError:
    size = f" ({got / 2**20:.1f} MiB)" if got is not None else ""
    return ApiError(
        413,
        "payload_too_large",
        f"the request body{size} is larger than this server's limit of {limit / 2**20:.1f} MiB; "
        "send a smaller image (or start the server with a larger --max-upload-mb)",
    )


async def _parse_multipart(request: Request, limit: int) -> InpaintRequest:
    _check_declared_length(request, limit)
    total = 0
    receive = request.receive

    async def counted_receive() -> dict[str, Any]:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise _too_large(limit)
        return message

    limited = Request(request.scope, counted_receive)
    try:
        form = await limited.form(max_files=4, max_fields=8)
    except StarletteHTTPException as e:  # python-multipart's parse errors
        raise ApiError(
            400, "malformed_multipart", f"the multipart body could not be parsed: {e.detail}"
        ) from e
    try:
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key in fields:
                raise ApiError(
                    422, "duplicate_field", f"field {key!r} was sent more than once; send it once"
                )
            fields[key] = value
        _reject_unknown(fields)
        files = {}
        for name in FILE_FIELDS:
            if name not in fields:
                raise _missing(name, multipart=True)
            value = fields.pop(name)
            if not isinstance(value, UploadFile):
                raise ApiError(
                    422,
                    "not_a_file",
                    f"field {name!r} must be a file part (curl: -F {name}=@FILE); it arrived as a text field",
                )
            files[name] = await value.read()
        options = {}
        for name, value in fields.items():
            if isinstance(value, UploadFile):
                raise ApiError(
                    422, "invalid_option", f"field {name!r} must be a text field, not a file"
                )
            options[name] = _check_option(name, value)
        return InpaintRequest(image=files["image"], mask=files["mask"], **options)
    finally:
        await form.close()


def _parse_json(body: bytes) -> InpaintRequest:
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {e}") from e
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
    try:
        req = InpaintJSON.model_validate(raw)
    except ValidationError as e:
        raise ApiError(422, "invalid_field", _format_errors(e.errors())) from e
    return InpaintRequest(
        image=_b64decode(req.image, "image"),
        mask=_b64decode(req.mask, "mask"),
        postprocess=req.postprocess,
        strategy=req.strategy,
        method=req.method,
    )


def _b64decode(text: str, name: str) -> bytes:
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


def _reject_unknown(fields: dict[str, Any]) -> None:
    known = set(FILE_FIELDS) | set(OPTION_CHOICES)
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
    choices = OPTION_CHOICES[name]
    if value not in choices:
        raise ApiError(
            422,
            "invalid_option",
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}",
        )
    return value


def _format_errors(errors: list[Any]) -> str:
    parts = []
    for err in errors:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------
# The work done on a worker thread: decode, check, complete, encode.


def _image_size(data: bytes, name: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) as stored, from the file header alone (no decompression bombs)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            size = im.size
    except UnidentifiedImageError as e:
        raise ApiError(
            422,
            f"invalid_{name}",
            f"{name} is not an image this server can read; send a PNG, JPEG, WebP, BMP, TIFF or GIF file",
        ) from e
    except Image.DecompressionBombError as e:
        raise ApiError(
            413,
            "too_many_pixels",
            f"{name} is far larger than this server's limit of {max_pixels} pixels",
        ) from e
    except Exception as e:  # PIL raises many types for files it cannot identify
        raise ApiError(
            422,
            f"invalid_{name}",
            f"{name} is not a readable image ({type(e).__name__}: {e}); send a PNG, JPEG, WebP, BMP, TIFF or GIF file",
        ) from e
    if size[0] * size[1] > max_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"{name} is {size[0]}x{size[1]} = {size[0] * size[1]} pixels; this server takes at most {max_pixels}: "
            "downscale it (or start the server with a larger --max-pixels)",
        )
    return size


def _encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    # compress_level 3: about as small as the default 6 on photos, several times faster.
    image.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def run_inpaint(pipe: Any, req: InpaintRequest, max_pixels: int) -> bytes:
    """Decode, check and complete one request; return the PNG bytes. Raises ApiError."""
    # Pixel counts from the headers first, so an oversized file is a 413 before any decoding.
    _image_size(req.image, "image", max_pixels)
    _image_size(req.mask, "mask", max_pixels)
    try:
        loaded = load_image(req.image, max_pixels=max_pixels)  # upright: EXIF orientation applied
    except InputError as e:
        raise ApiError(422, "invalid_image", f"image: {e}") from e
    try:
        hole = load_mask(req.mask, max_pixels=max_pixels)  # (H, W) bool, True = hole
    except InputError as e:
        raise ApiError(422, "invalid_mask", f"mask: {e}") from e
    (w, h), (mh, mw) = loaded.size, hole.shape
    if (mh, mw) != (h, w):
        raise ApiError(
            422,
            "size_mismatch",
            f"the mask is {mw}x{mh} but the image is {w}x{h} (after EXIF rotation); "
            "paint the mask at the image's size",
        )
    # Gray images stay gray and transparency is handed back untouched: give the pipeline
    # a PIL image in the input's mode family (L, LA, RGB, RGBA); it answers in the same.
    if loaded.is_gray:
        g = loaded.rgb[:, :, 0]  # (H, W)
        pixels = g if loaded.alpha is None else np.stack([g, loaded.alpha], axis=2)  # (H, W[, 2])
    else:
        pixels = loaded.to_array()  # (H, W, 3 or 4)
    image = Image.fromarray(pixels)
    if not hole.any():  # nothing to complete: the input, as PNG
        return _encode_png(image)
    try:
        out = pipe(
            image, hole, postprocess=req.postprocess, strategy=req.strategy, method=req.method
        )
    except InputError as e:
        raise ApiError(422, "invalid_input", str(e)) from e
    if out.size != image.size:  # the pipeline promises the input's size
        raise RuntimeError(f"pipeline returned {out.size}, expected {image.size}")
    return _encode_png(out)


# ---------------------------------------------------------------------------
# Admission: a bounded pool of workers and a bounded queue in front of it.


class Busy(Exception):
    pass


class WorkerPool:
    """At most ``workers`` jobs run at once and at most ``queue`` more wait; the rest get :class:`Busy`.

    A request takes its slot (:meth:`reserve`) before its body is read, so at most
    ``workers + queue`` bodies are ever held in memory; the slot is freed when its job
    ends (or at once if the request fails before it submits a job). The executor's
    threads are the concurrency limit and its queue is the waiting line. A job whose
    caller timed out keeps its slot until its thread really finishes, so slow requests
    cannot pile up more work than the pool was sized for. The counters are only touched
    on the event loop's thread.
    """

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.admitted = 0  # slots taken: uploading, waiting or running
        self.jobs = 0  # of those, submitted to the executor and not finished
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="glcic-infer")

    @property
    def running(self) -> int:
        return min(self.jobs, self.workers)

    @property
    def waiting(self) -> int:
        return self.admitted - self.running

    def reserve(self) -> None:
        """Take a slot or raise :class:`Busy`."""
        if self.admitted >= self.capacity:
            raise Busy
        self.admitted += 1

    def unreserve(self) -> None:
        """Give back a slot whose request never submitted a job."""
        self.admitted -= 1

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """Run ``fn(*args)`` on a worker, in a slot taken by :meth:`reserve`; the slot is freed when it ends."""
        loop = asyncio.get_running_loop()
        try:
            future: Future = self._executor.submit(fn, *args)
        except BaseException:
            self.unreserve()
            raise
        self.jobs += 1

        def release(_: Future) -> None:
            try:
                loop.call_soon_threadsafe(self._finished)
            except RuntimeError:  # the loop closed (shutdown) while the job still ran
                pass

        future.add_done_callback(release)
        try:
            # shield: a timeout or a client disconnect must not mark the running job as done.
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            future.cancel()  # frees the slot at once if the job had not started
            raise

    def _finished(self) -> None:
        self.jobs -= 1
        self.admitted -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class SecurityHeaders:
    """ASGI middleware: ``nosniff`` everywhere; a strict CSP on the page and its static files."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        page = path == "/" or path.startswith("/static/")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                if page:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                    headers.append((b"referrer-policy", b"no-referrer"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------------
# The app.


def create_app(
    pipeline: InpaintPipeline | None = None,
    model: str = "default",
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

    # Threads start on first use, so a pool made here costs nothing until a request comes.
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
        docs_url=None,  # served below from the package's own Swagger UI files: no CDN
    )
    app.state.pipeline = pipeline
    app.state.settings = settings
    app.state.pool = pool
    app.add_middleware(SecurityHeaders)

    # -- errors: one JSON shape for everything ------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _format_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        detail = exc.detail
        if exc.status_code == 404:
            detail = f"no such endpoint or file: {request.url.path}; the API lives under {API}/ (see /docs)"
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

    # -- API ------------------------------------------------------------------

    @app.post(
        f"{API}/inpaint",
        summary="Complete the masked region of an image",
        response_class=Response,
        openapi_extra=INPAINT_OPENAPI,
        tags=["inpaint"],
    )
    async def inpaint(request: Request) -> Response:
        """Send ``image`` and ``mask`` (white / non-zero = hole, same size as the image) as
        multipart files, or base64 in a JSON object; optional ``postprocess``, ``strategy``,
        ``method``. Answers ``image/png`` of the input's size; pixels outside the hole are
        the input's."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        limit = settings.max_upload_bytes
        try:
            pool.reserve()  # before reading the body: a full server holds no more uploads
        except Busy:
            raise ApiError(
                503,
                "busy",
                f"all {pool.workers} worker(s) are busy and {pool.capacity - pool.workers} request(s) are "
                f"waiting; retry in {settings.retry_after} s",
                headers={"Retry-After": str(settings.retry_after)},
            ) from None
        submitted = False
        try:
            if ctype == "multipart/form-data":
                req = await _parse_multipart(request, limit)
            elif ctype == "application/json":
                req = _parse_json(await _read_limited(request, limit))
            else:
                raise ApiError(
                    415,
                    "unsupported_media_type",
                    f"Content-Type {ctype or '(none)'!r} is not accepted; send multipart/form-data "
                    "(fields image, mask) or application/json (base64 image, mask)",
                )
            started = time.perf_counter()
            submitted = True
            png = await pool.run(
                run_inpaint, pipeline, req, settings.max_pixels, timeout=settings.timeout
            )
        except ClientDisconnect:
            return Response(status_code=499)
        except asyncio.TimeoutError:
            raise ApiError(
                504,
                "timeout",
                f"the request took longer than this server's limit of {settings.timeout:g} s; "
                "try a smaller image or retry later",
            ) from None
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
            },
        )

    @app.get(f"{API}/health", summary="Liveness, load and limits", tags=["service"])
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "running": pool.running,
            "waiting": pool.waiting,
            "limits": {**asdict(settings), "max_upload_bytes": settings.max_upload_bytes},
        }

    @app.get(
        f"{API}/model",
        summary="The loaded model: name, resolution, training data, licence",
        tags=["service"],
    )
    async def model_info() -> dict[str, Any]:
        return dict(pipeline.info)

    # -- page -----------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # -- OpenAPI docs, offline --------------------------------------------------

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

    return app


# ---------------------------------------------------------------------------
# Running in the background (tests, benchmarks, notebooks).


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0
) -> Iterator[str]:
    """Run ``app`` under uvicorn on a daemon thread; yield its base URL; stop it on exit."""
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="glcic-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on {host}:{port} within {timeout} s")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
