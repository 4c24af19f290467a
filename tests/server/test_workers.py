"""Limits on concurrency and time (glcic.server.workers): 503 when full, 504 when slow."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from glcic.server import ServerSettings, create_app
from tests.server.conftest import (
    INPAINT,
    assert_error,
    encode,
    files,
    random_image,
    rect_mask,
)


class BlockingPipeline:
    """Wraps a pipeline; every call waits until ``release`` is set."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.entered = threading.Event()
        self.release = threading.Event()

    @property
    def info(self):
        return self.pipe.info

    def run(self, *args, **kwargs):
        self.entered.set()
        self.release.wait(20)
        return self.pipe.run(*args, **kwargs)


def test_queue_full_is_503_with_retry_after(pipe):
    blocking = BlockingPipeline(pipe)
    settings = ServerSettings(max_concurrent=1, queue=0, retry_after=7)
    image, mask = encode(random_image()), encode(rect_mask())
    with TestClient(create_app(pipeline=blocking, settings=settings)) as c:
        first: dict = {}
        t = threading.Thread(
            target=lambda: first.update(r=c.post(INPAINT, files=files(image, mask)))
        )
        t.start()
        try:
            assert blocking.entered.wait(10)
            r = c.post(INPAINT, files=files(image, mask))
            assert_error(r, 503, "busy", "retry in 7 s")
            assert r.headers["retry-after"] == "7"
            assert c.get("/api/v1/health").json()["running"] == 1
        finally:
            blocking.release.set()
            t.join(20)
        assert first["r"].status_code == 200
        # the slot is free again
        assert c.post(INPAINT, files=files(image, mask)).status_code == 200


def test_slow_request_is_504_and_keeps_its_slot_until_done(pipe):
    blocking = BlockingPipeline(pipe)
    settings = ServerSettings(max_concurrent=1, queue=0, timeout=0.2)
    image, mask = encode(random_image()), encode(rect_mask())
    with TestClient(create_app(pipeline=blocking, settings=settings)) as c:
        r = c.post(INPAINT, files=files(image, mask))
        assert_error(r, 504, "timeout", "0.2 s")
        # the timed-out job still runs on its thread, so there is no room for another
        assert_error(c.post(INPAINT, files=files(image, mask)), 503, "busy")
        blocking.release.set()
        deadline = time.monotonic() + 10
        while c.get("/api/v1/health").json()["running"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert c.post(INPAINT, files=files(image, mask)).status_code == 200
