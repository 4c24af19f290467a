"""`glcic serve`: the HTTP API and the web page, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from glcic.options import DEFAULT_MODEL_TARGET, MODEL_HELP
from glcic.server.settings import (
    FREE_BYTES,
    ServerSettings,
)  # no FastAPI: `glcic --help` stays cheap

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

DEFAULTS = ServerSettings()
LIMIT_FLAGS = {  # ServerSettings field -> its flag's help; the flag is --max-upload-mb for max_upload_mb
    "max_upload_mb": "largest request body in MiB",
    "max_pixels": "largest image in pixels, width x height",
    "max_concurrent": "inferences that run at once",
    "queue": "requests that may wait for a worker before 503",
    "timeout": "seconds per request before 504",
    "max_uploads": f"bodies over {FREE_BYTES // 1024} KiB read at once; more wait unread",
    "upload_timeout": "seconds to send a whole body before 408",
    "idle_timeout": "seconds a body may pause before 408",
    "min_upload_rate": "KiB/s a body must average after --idle-timeout s, or 408",
    "header_timeout": "seconds to send the request line and headers",
    "keep_alive": "seconds an idle connection stays open",
    "max_connections": "open connections; more requests get 503",
}


def register(subparsers: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        name,
        help="serve the inpainting API and web page",
        description=(
            "Serve POST /api/v1/inpaint (image + mask -> the completed image in the image's format, "
            "metadata kept), GET /api/v1/health, GET /api/v1/models, GET /api/v1/model, "
            "GET /api/v1/methods, the API docs at /docs and a painting page at /. Every model is loaded "
            "at start; a request picks one with its 'model' field. Binds 127.0.0.1 unless --host says "
            "otherwise: put a reverse proxy with TLS and authentication in front before exposing it."
        ),
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--model",
        action="append",
        metavar="MODEL",
        help=(
            f"{MODEL_HELP}. Repeat it (or separate with commas: --model faces,scenes) to serve several; "
            "the first given is the default, the one requests get when they name none. A bundle "
            "folder goes by its folder's name. Without --model: every shipped model installed, "
            f"{DEFAULT_MODEL_TARGET!r} the default"
        ),
    )
    p.add_argument("--device", default="cpu", help="torch device for the model (default cpu)")
    for field, text in LIMIT_FLAGS.items():
        default = getattr(DEFAULTS, field)
        p.add_argument(
            "--" + field.replace("_", "-"),
            type=type(default),
            default=default,
            help=f"{text} (default %(default)s)",
        )
    p.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return p


def build_app(args: argparse.Namespace) -> FastAPI:
    """The app ``glcic serve`` runs: every ``--model`` loaded (BundleError -> exit 2), the limits checked."""
    from glcic.server import create_app
    from glcic.server.models import load_models, split_models

    settings = ServerSettings(**{field: getattr(args, field) for field in LIMIT_FLAGS})
    settings.check()
    models = load_models(split_models(args.model), device=args.device)
    return create_app(pipelines=models.pipelines, default=models.default, settings=settings)


def memory_line(settings: ServerSettings) -> str:
    """What the limits let the server hold at once (glcic.server.costs), and a warning when
    this machine has less memory available than that."""
    from glcic.server.costs import GIB, available_bytes, memory_plan, request_budget

    plan = memory_plan(settings)
    line = (
        f"glcic serve: memory: up to {request_budget(settings.max_pixels) / GIB:.1f} GiB per request "
        f"(--max-pixels {settings.max_pixels:,}) x {settings.max_concurrent} worker(s), "
        f"{plan['bodies'] / GIB:.1f} GiB of bodies, {plan['total'] / GIB:.1f} GiB in all"
    )
    available = available_bytes()
    if available is not None and plan["total"] > available:
        line += (
            f"; WARNING: only {available / GIB:.1f} GiB is available: lower --max-concurrent, "
            "--max-pixels, --max-upload-mb or --queue"
        )
    return line


def run(args: argparse.Namespace) -> int:
    import os

    import torch
    import uvicorn

    from glcic.server.connections import uvicorn_config

    app = build_app(args)
    settings: ServerSettings = app.state.settings
    # Workers share the cores rather than each asking for all of them.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.max_concurrent))
    names = app.state.models.names
    print(f"glcic serve: models {', '.join(names)} (default {app.state.default_model})")
    print(memory_line(settings))
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"glcic serve: listening on {args.host}, reachable from other machines; the API has no authentication"
        )
    print(
        f"glcic serve: http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/ (Ctrl+C to stop)"
    )
    uvicorn.Server(uvicorn_config(app, settings, args.host, args.port, args.log_level)).run()
    return 0
