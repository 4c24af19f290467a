"""The connection level: uvicorn's settings for one server, and a deadline for request headers.

uvicorn bounds idle keep-alive connections (``timeout_keep_alive``), the number of
connections (``limit_concurrency``: further requests get its own plain-text 503 with
``Connection: close``) and the size of the headers (h11's ``max_incomplete_event_size``:
a 400), but not the time a client takes to send its headers: a client that connects
and sends half a request line would hold its connection forever. :func:`http_protocol`
adds that deadline to uvicorn's h11 protocol. Bodies are timed by
:class:`glcic.server.uploads.BodyReader`, one level up.

Both ``glcic serve`` and :func:`glcic.server.testing.serve_in_thread` build their
server from :func:`uvicorn_config`, so tests meet the same limits as users.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from glcic.server.settings import ServerSettings

if TYPE_CHECKING:  # pragma: no cover
    import uvicorn

MAX_HEADER_BYTES = 16 * 1024
"""Largest request line + headers (h11's default); larger ones are answered 400."""


def uvicorn_config(
    app: Any, settings: ServerSettings, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration that enforces ``settings``' connection limits for ``app``."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        http=http_protocol(settings.header_timeout),
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive,  # type: ignore[arg-type]  # a float works (call_later)
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )


def http_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing connections whose headers take over ``header_timeout`` s.

    The clock starts when the connection opens, and again at the first byte of each
    following request on a kept-alive connection; it stops when the headers are
    complete. A client that sent part of a request gets a 408 before the connection
    closes; one that sent nothing is closed silently, as an idle connection is.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._watch_headers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._watch_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _awaiting_headers(self) -> bool:
            return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

        def _watch_headers(self) -> None:
            """Start the clock while a request's headers are due (or partly here), stop it after."""
            if not self._awaiting_headers():
                self._stop_header_timer()
            elif self._header_timer is None and (
                self.cycle is None
                or self.conn.trailing_data[0]  # a new connection, or bytes of the next request
            ):
                self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self._awaiting_headers():
                return
            if self.conn.trailing_data[0]:  # a partial request: say why it is dropped
                self.transport.write(_timeout_response(header_timeout))
            self.transport.close()

    return HeaderTimeoutH11Protocol


def _timeout_response(header_timeout: float) -> bytes:
    """A raw 408 (h11 cannot send a response before it has parsed a request)."""
    body = json.dumps(
        {
            "error": "header_timeout",
            "detail": f"the request line and headers did not arrive within {header_timeout:g} s; "
            "send them at once (this server's --header-timeout)",
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body
