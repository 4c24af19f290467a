"""Running an app in the background (tests, benchmarks, notebooks): uvicorn on a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0
) -> Iterator[str]:
    """Run ``app`` under uvicorn on a daemon thread; yield its base URL; stop it on exit.

    The connection limits are those of ``app``'s :class:`ServerSettings` (from
    :func:`glcic.server.create_app`; the defaults for any other ASGI app), as in ``glcic serve``.
    """
    import uvicorn

    from glcic.server.connections import uvicorn_config
    from glcic.server.settings import ServerSettings

    port = port or free_port(host)
    settings = getattr(getattr(app, "state", None), "settings", None) or ServerSettings()
    server = uvicorn.Server(uvicorn_config(app, settings, host, port, log_level="warning"))
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
