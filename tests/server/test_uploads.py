"""Slow and stalled clients (glcic.server.uploads, glcic.server.connections), over real HTTP.

Each test starts uvicorn on a free 127.0.0.1 port (serve_in_thread), talks to it with raw
sockets where a client must misbehave, and stops by itself: every wait is bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import ExitStack

import httpx
import pytest

from glcic.server import ServerSettings, create_app, serve_in_thread
from glcic.server.uploads import FREE_BYTES
from tests.server.conftest import INPAINT, H, W, encode, files, random_image, rect_mask
from tests.server.test_workers import BlockingPipeline

BOUNDARY = "glcicboundary"


def multipart_body(image: bytes, mask: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in (("image", image), ("mask", mask))
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def request_head(length: int) -> bytes:
    return (
        f"POST {INPAINT} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def stalled_upload(
    url: str, body: bytes, stack: ExitStack, sent: int | None = None
) -> socket.socket:
    """A connection that sends the headers and ``sent`` bytes of ``body`` (default half), then
    waits (closed by ``stack``)."""
    host, port = url.removeprefix("http://").split(":")
    sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
    sock.sendall(request_head(len(body)) + body[: len(body) // 2 if sent is None else sent])
    return sock


def read_answer(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of the answer on ``sock``; reads until EOF or ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep and b"content-length" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    except (TimeoutError, ConnectionResetError):
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0]:
        return 0, {}, b""
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the server"
        time.sleep(0.02)


def uploading(url: str) -> int:
    return httpx.get(f"{url}/api/v1/health", timeout=5).json()["uploading"]


def valid_request(url: str, size: tuple[int, int] = (H, W)) -> tuple[httpx.Response, float]:
    image, mask = encode(random_image(*size)), encode(rect_mask(*size))
    started = time.monotonic()
    r = httpx.post(url + INPAINT, files=files(image, mask), timeout=20)
    return r, time.monotonic() - started


BIG = (320, 320)  # a noise PNG of this size is over FREE_BYTES: its body needs an upload slot


@pytest.fixture(scope="module")
def body() -> bytes:
    return multipart_body(encode(random_image()), encode(rect_mask()))


@pytest.fixture(scope="module")
def big_body() -> bytes:
    body = multipart_body(encode(random_image(*BIG)), encode(rect_mask(*BIG)))
    assert len(body) > FREE_BYTES + 10_000
    return body


def test_stalled_uploads_beyond_the_worker_slots_do_not_block_a_valid_request(pipe, body):
    """12 clients stalled mid-body, against 1 worker + 2 queue places (and 4 upload slots):
    a valid request is still a prompt 200."""
    settings = ServerSettings(max_concurrent=1, queue=2, max_uploads=4, idle_timeout=30)
    with serve_in_thread(create_app(pipeline=pipe, settings=settings)) as url, ExitStack() as stack:
        stalled = [stalled_upload(url, body, stack) for _ in range(12)]
        wait_for(lambda: uploading(url) == 12)
        r, seconds = valid_request(url)
        assert r.status_code == 200, r.text
        assert seconds < 5
        assert uploading(url) == 12  # the stalled ones are still there, and held no worker
        assert len(stalled) > settings.max_concurrent + settings.queue + settings.max_uploads


def test_stalled_large_uploads_beyond_the_upload_slots_are_dropped_after_the_idle_timeout(
    pipe, big_body
):
    """4 large bodies stalled past FREE_BYTES against 2 upload slots: each is answered 408
    after --idle-timeout, and a valid large request waiting behind them gets its 200."""
    settings = ServerSettings(max_concurrent=1, queue=0, max_uploads=2, idle_timeout=0.5)
    with serve_in_thread(create_app(pipeline=pipe, settings=settings)) as url, ExitStack() as stack:
        sent = len(big_body) - 5000
        stalled = [stalled_upload(url, big_body, stack, sent) for _ in range(4)]
        wait_for(lambda: uploading(url) == 4)
        r, seconds = valid_request(url, BIG)
        assert r.status_code == 200, r.text
        assert seconds < 5  # two rounds of 0.5 s idle timeouts, then the upload itself
        for sock in stalled:
            status, headers, answer = read_answer(sock, timeout=5)
            assert status == 408
            assert headers["connection"] == "close"
            assert json.loads(answer)["error"] == "upload_timeout"
            assert "no part of the request body arrived for 0.5 s" in json.loads(answer)["detail"]


def test_no_upload_slot_before_the_upload_timeout_is_503():
    """BodyReader alone: a large body finds the only upload slot taken until its deadline."""
    import asyncio

    from glcic.server.uploads import BodyReader, UploadSlots

    settings = ServerSettings(max_uploads=1, upload_timeout=0.3, retry_after=2)
    messages = [
        {"type": "http.request", "body": b"x" * (FREE_BYTES + 1), "more_body": True},
        {"type": "http.request", "body": b"x", "more_body": False},  # drained before the answer
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:
        raise AssertionError("the app must not see a body that was refused")

    async def main() -> None:
        slots = UploadSlots(1)
        await slots.free.acquire()  # another upload holds the only slot throughout
        scope = {
            "type": "http",
            "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        }
        await BodyReader(app, settings, slots)(scope, receive, send)

    asyncio.run(main())
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"2") in sent[0]["headers"]
    assert all(name != b"connection" for name, _ in sent[0]["headers"])  # drained: no need to close
    body = json.loads(sent[1]["body"])
    assert body["error"] == "busy" and "upload slot" in body["detail"]


@pytest.mark.parametrize(
    "min_rate,upload_timeout,why",
    [
        (0.0, 1.0, b"not complete 1 s after its headers"),
        (8.0, 60.0, b"below this server's minimum of 8 KiB/s"),
    ],
)
def test_a_trickling_upload_is_dropped(pipe, body, min_rate, upload_timeout, why):
    """A byte every 0.1 s is never idle; it is dropped by the minimum rate or the upload timeout."""
    settings = ServerSettings(
        upload_timeout=upload_timeout, idle_timeout=0.5, min_upload_rate=min_rate
    )
    with serve_in_thread(create_app(pipeline=pipe, settings=settings)) as url, ExitStack() as stack:
        sock = stalled_upload(url, body, stack)
        started = time.monotonic()
        answer = b""
        for k in range(40):  # a byte every 0.1 s: never idle, never done
            try:
                sock.sendall(body[len(body) // 2 + k : len(body) // 2 + k + 1])
            except OSError:
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                answer = sock.recv(65536)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if answer:
                break
        elapsed = time.monotonic() - started
        # The headers and the body may come in two packets (they did on a loaded machine):
        # read on until the server closes the connection.
        sock.settimeout(2.0)
        try:
            while answer and (chunk := sock.recv(65536)):
                answer += chunk
        except OSError:  # a timeout or a reset: what came is the answer
            pass
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert why in answer
        assert elapsed < 3


def test_busy_is_answered_after_the_body_is_read(pipe, body):
    """A full queue answers 503 only once the client has sent its body (no reset mid-upload)."""
    blocking = BlockingPipeline(pipe)
    settings = ServerSettings(max_concurrent=1, queue=0, retry_after=3)
    with (
        serve_in_thread(create_app(pipeline=blocking, settings=settings)) as url,
        ExitStack() as stack,
    ):
        first = threading.Thread(target=valid_request, args=(url,))
        first.start()
        try:
            assert blocking.entered.wait(10)
            sock = stalled_upload(url, body, stack)
            status, _, _ = read_answer(sock, timeout=0.5)
            assert status == 0  # no answer while the body is still on its way
            sock.sendall(body[len(body) // 2 :])
            status, headers, answer = read_answer(sock, timeout=10)
            assert status == 503
            assert headers["retry-after"] == "3"
            assert json.loads(answer)["error"] == "busy"
        finally:
            blocking.release.set()
            first.join(20)


def test_too_large_upload_is_413_that_the_client_reads(pipe):
    settings = ServerSettings(max_upload_mb=0.25)
    with serve_in_thread(create_app(pipeline=pipe, settings=settings)) as url:
        big = b"x" * (2 * 2**20)
        for headers in ({"content-type": "application/json"}, {"transfer-encoding": "chunked"}):
            content = big if "content-type" in headers else iter([big[: 2**20], big[2**20 :]])
            r = httpx.post(url + INPAINT, content=content, headers=headers, timeout=10)
            assert r.status_code == 413, r.text
            assert r.json()["error"] == "payload_too_large"


def test_headers_sent_too_slowly_are_408_and_closed(pipe):
    settings = ServerSettings(header_timeout=0.5)
    with serve_in_thread(create_app(pipeline=pipe, settings=settings)) as url, ExitStack() as stack:
        host, port = url.removeprefix("http://").split(":")
        half = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
        half.sendall(b"POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.")
        silent = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
        started = time.monotonic()
        status, headers, answer = read_answer(half, timeout=5)
        assert status == 408 and headers["connection"] == "close"
        assert json.loads(answer)["error"] == "header_timeout"
        silent.settimeout(5)
        assert silent.recv(100) == b""  # nothing sent: closed without an answer
        assert time.monotonic() - started < 3
        assert httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200


def test_too_large_with_expect_100_continue_is_413_before_the_body(pipe):
    """A client that waits for 100 Continue is told 413 at once, and not invited to send."""
    settings = ServerSettings(max_upload_mb=0.25)
    with serve_in_thread(create_app(pipeline=pipe, settings=settings)) as url, ExitStack() as stack:
        host, port = url.removeprefix("http://").split(":")
        sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
        head = request_head(10 * 2**20).replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
        started = time.monotonic()
        sock.sendall(head)
        status, headers, answer = read_answer(sock, timeout=5)
        assert status == 413 and headers["connection"] == "close"
        assert (
            "(10.0 MiB) is larger than this server's limit of 0.2 MiB"
            in json.loads(answer)["detail"]
        )
        assert time.monotonic() - started < 1
