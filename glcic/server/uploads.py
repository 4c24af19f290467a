"""Reading request bodies: each against a deadline and a size limit, few large ones at once.

:class:`BodyReader` is the ASGI middleware in front of the routes. It reads the whole
body of every request that has one before the app sees it, so a slow or stalled
client never holds a worker or a place in the queue: the inference queue only ever
holds requests whose bodies are complete.

Uploads in flight are limited apart from inference. Every body may buffer up to
:data:`~glcic.server.settings.FREE_BYTES` without asking; past that it needs one of ``max_uploads`` upload
slots, which bound the memory that large bodies hold at once. Slow clients, having
sent little, rarely reach a slot, and a client that holds one but stalls or trickles
loses it (``idle_timeout``, ``min_upload_rate``). A body waiting for a slot is not read
(the client waits on TCP), and its waiting counts neither as idle nor against its rate.

Its answers, all JSON ``{"error", "detail"}``:

- 413 ``payload_too_large``: a declared ``Content-Length`` or the bytes counted so far
  pass ``max_upload_mb``;
- 408 ``upload_timeout``: the body paused longer than ``idle_timeout``, arrived slower
  than ``min_upload_rate`` on average once it had taken ``idle_timeout`` seconds, or was
  not complete ``upload_timeout`` seconds after the headers (``Connection: close``: the
  client is too slow to be worth waiting for);
- 503 ``busy``: no upload slot came free before ``upload_timeout`` (``Retry-After``).

Before a 413 or 503 it reads on (and throws away) what the client is still sending,
for at most :data:`LINGER` seconds, so that the client is not reset mid-upload and
reads the answer; ``Connection: close`` is added when the body could not be drained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from glcic.server.errors import ApiError, error_response
from glcic.server.settings import FREE_BYTES, ServerSettings

LINGER = 2.0
"""Seconds a refused body is still read (and discarded) so that the client sees the answer."""

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Disconnected(Exception):
    """The client went away while sending; there is no one to answer."""


class UploadSlots:
    """``max_uploads`` slots for bodies past :data:`~glcic.server.settings.FREE_BYTES`; the bodies being read (for ``/health``)."""

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
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(too_large(self.limit, declared), receive, send, scope)
            return
        self.slots.reading += 1
        try:
            body = await self._read(receive)
        except _Disconnected:
            return
        except ApiError as e:
            if e.status == 408:  # a slow client: answer and hang up
                await _answer(e, scope, receive, send, close=True)
            else:  # 413 or 503 to a client still sending: let it finish, then tell it why
                await self._refuse(e, receive, send, scope)
            return
        finally:
            self.slots.reading -= 1
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        """The whole body; ApiError 413 past the limit, 408 when too slow, 503 without a slot."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.settings.upload_timeout
        waited = 0.0  # seconds spent waiting for a slot: not the client's fault
        slot = False
        chunks, total = [], 0
        try:
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
                if not slot and total > FREE_BYTES:
                    waited = await self._take_slot(deadline, loop)
                    slot = True
                self._check_rate(total, loop.time() - started - waited)
        finally:
            if slot:
                self.slots.free.release()

    async def _take_slot(self, deadline: float, loop: asyncio.AbstractEventLoop) -> float:
        """Wait for an upload slot until ``deadline`` (503 if none); return the seconds waited."""
        asked = loop.time()
        try:
            await asyncio.wait_for(self.slots.free.acquire(), max(deadline - asked, 0.0))
        except asyncio.TimeoutError:
            raise self._no_slot() from None
        return loop.time() - asked

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

    def _check_rate(self, total: int, elapsed: float) -> None:
        """408 for a body averaging under ``min_upload_rate`` once it has taken ``idle_timeout`` s.

        A client that trickles a byte now and then is never idle; this is what stops it.
        """
        s = self.settings
        if elapsed > s.idle_timeout and total < s.min_upload_rate * 1024 * elapsed:
            raise self._too_slow(
                f"the request body arrived at {total / 1024 / elapsed:.2g} KiB/s, below "
                f"this server's minimum of {s.min_upload_rate:g} KiB/s"
            )

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
            f"all {s.max_uploads} upload slot(s) for large bodies stayed taken until "
            f"{s.upload_timeout:g} s after the headers; retry in {s.retry_after} s",
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
