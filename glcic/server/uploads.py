"""Reading request bodies: a bounded number at once, each against a deadline and a size limit.

:class:`BodyReader` is the ASGI middleware in front of the routes. It reads the whole
body of every request that has one before the app sees it, so a slow or stalled
client holds an *upload* slot (``max_uploads``, cheap: a socket and at most
``max_upload_mb`` of memory) and never a worker slot: the inference queue only ever
holds requests whose bodies are complete. Clients beyond ``max_uploads`` wait, unread,
for a slot; a slot held by a stalled or trickling client is freed after ``idle_timeout``.

Its answers, all JSON ``{"error", "detail"}``:

- 413 ``payload_too_large``: a declared ``Content-Length`` or the bytes counted so far
  pass the limit;
- 408 ``upload_timeout``: the body paused longer than ``idle_timeout``, arrived slower
  than ``min_upload_rate`` on average once it had taken ``idle_timeout`` seconds, or was
  not complete ``upload_timeout`` seconds after the headers (``Connection: close``: the
  client is too slow to be worth waiting for);
- 503 ``busy``: no upload slot came free within ``upload_timeout`` (``Retry-After``).

Before a refusal it reads on (and throws away) what the client is still sending, for
at most :data:`LINGER` seconds, so that the client is not reset mid-upload and reads
the answer; ``Connection: close`` is added when the body could not be drained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from glcic.server.errors import ApiError, error_response
from glcic.server.settings import ServerSettings

LINGER = 2.0
"""Seconds a refused body is still read (and discarded) so that the client sees the answer."""

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Disconnected(Exception):
    """The client went away while sending; there is no one to answer."""


class UploadSlots:
    """``max_uploads`` slots for bodies being read, and how many are taken (for ``/health``)."""

    def __init__(self, max_uploads: int) -> None:
        self.free = asyncio.Semaphore(max_uploads)
        self.reading = 0


class BodyReader:
    """ASGI middleware: read each request body in full, within the upload limits, before the app."""

    def __init__(self, app: Any, settings: ServerSettings, slots: UploadSlots) -> None:
        self.app = app
        self.settings = settings
        self.limit = settings.max_upload_bytes
        self.slots = slots

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.upload_timeout
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(too_large(self.limit, declared), receive, send, scope)
            return
        try:
            await asyncio.wait_for(self.slots.free.acquire(), deadline - loop.time())
        except asyncio.TimeoutError:
            await self._refuse(self._no_slot(), receive, send, scope)
            return
        self.slots.reading += 1
        try:
            body = await self._read(receive, deadline)
        except _Disconnected:
            return
        except ApiError as e:
            if e.status == 413:  # a fast client: let it finish sending, then tell it why
                await self._refuse(e, receive, send, scope)
            else:  # a slow one: answer and hang up
                await _answer(e, scope, receive, send, close=True)
            return
        finally:
            self.slots.reading -= 1
            self.slots.free.release()
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, deadline: float) -> bytes:
        """The whole body; ApiError 413 past the limit, 408 when too slow."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        min_rate = self.settings.min_upload_rate * 1024  # bytes/s
        chunks, total = [], 0
        while True:
            message = await self._next(receive, deadline, loop)
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.limit:
                raise too_large(self.limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
            # A client that trickles a byte now and then is never idle: hold it to a rate.
            elapsed = loop.time() - started
            if elapsed > self.settings.idle_timeout and total < min_rate * elapsed:
                raise self._too_slow(
                    f"the request body arrived at {total / 1024 / elapsed:.2g} KiB/s, below "
                    f"this server's minimum of {self.settings.min_upload_rate:g} KiB/s"
                )

    async def _next(
        self, receive: Receive, deadline: float, loop: asyncio.AbstractEventLoop
    ) -> Message:
        """The next body message, or ApiError 408 if it does not come in time."""
        left = deadline - loop.time()
        wait = min(self.settings.idle_timeout, left)
        try:
            return await asyncio.wait_for(receive(), max(wait, 0.0))
        except asyncio.TimeoutError:
            s = self.settings
            if wait < left:
                why = f"no part of the request body arrived for {s.idle_timeout:g} s"
            else:
                why = f"the request body was not complete {s.upload_timeout:g} s after its headers"
            raise self._too_slow(why) from None

    async def _refuse(self, error: ApiError, receive: Receive, send: Send, scope: dict) -> None:
        """Answer ``error`` after reading on, for at most LINGER s, what the client still sends."""
        if (b"expect", b"100-continue") in scope["headers"]:
            # The client waits for our word before it sends the body: reading would invite it.
            await _answer(error, scope, receive, send, close=True)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER
        drained = False
        try:
            while not drained:
                message = await asyncio.wait_for(receive(), deadline - loop.time())
                if message["type"] == "http.disconnect":
                    return
                drained = not message.get("more_body", False)
        except asyncio.TimeoutError:
            pass
        await _answer(error, scope, receive, send, close=not drained)

    def _too_slow(self, why: str) -> ApiError:
        s = self.settings
        return ApiError(
            408,
            "upload_timeout",
            f"{why}; send the whole body at once (this server's limits: --idle-timeout "
            f"{s.idle_timeout:g}, --min-upload-rate {s.min_upload_rate:g}, --upload-timeout "
            f"{s.upload_timeout:g})",
        )

    def _no_slot(self) -> ApiError:
        s = self.settings
        return ApiError(
            503,
            "busy",
            f"{s.max_uploads} upload(s) were in progress for all of {s.upload_timeout:g} s; "
            f"retry in {s.retry_after} s",
            headers={"Retry-After": str(s.retry_after)},
        )


def too_large(limit: int, got: int | None = None) -> ApiError:
    """The 413 for a body over ``limit`` bytes (``got``: its declared length, if known)."""
    size = f" ({got / 2**20:.1f} MiB)" if got is not None else ""
    return ApiError(
        413,
        "payload_too_large",
        f"the request body{size} is larger than this server's limit of {limit / 2**20:.1f} MiB; "
        "send a smaller image (or start the server with a larger --max-upload-mb)",
    )


async def _answer(error: ApiError, scope: dict, receive: Receive, send: Send, close: bool) -> None:
    headers = dict(error.headers)
    if (
        close
    ):  # the rest of the body is still on its way: this connection cannot carry another request
        headers["Connection"] = "close"
    await error_response(error.status, error.error, error.detail, headers)(scope, receive, send)


def _has_body(scope: dict) -> bool:
    """Whether the request announces a body: a non-zero Content-Length or Transfer-Encoding."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _declared_length(scope: dict) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body in one piece, then waits on the connection."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when the client goes or the answer is sent

    return replay
