"""The limits of one server process: connections, uploads, pixels, workers, queue, time.

A request meets them in this order (``docs/serving.md`` says what the client gets at each):
connections (``max_connections``), the request line and headers (``header_timeout``),
the body (``max_uploads`` large ones read at once, each within ``upload_timeout`` and never idle for
``idle_timeout``, at most ``max_upload_mb``, at least ``min_upload_rate``), the pixels (``max_pixels``), then the
inference (``max_concurrent`` at once, ``queue`` waiting, ``timeout``). Idle keep-alive
connections are closed after ``keep_alive`` seconds.

Imports nothing heavy (no FastAPI), so ``glcic serve`` can take its flag defaults
from here while building ``glcic --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from glcic.errors import InputError
from glcic.options import DEFAULT_MAX_PIXELS

FREE_BYTES = 256 * 1024
"""Bytes a body may buffer before it needs one of ``max_uploads`` slots: a PNG or JPEG of
about 300x300 and its mask fit, and at ``max_connections`` 1000 they add up to 256 MiB."""


@dataclass
class ServerSettings:
    """Limits of one server process (``glcic serve`` flags)."""

    max_upload_mb: float = 20.0
    """Largest request body, in MiB (image + mask + form overhead, or the JSON body)."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    """Largest image (and mask), in pixels (width x height): the CLI's limit, 40 MP (one
    request at 40 MP peaks at about 2.6 GiB with the shipped model: docs/serving.md)."""
    max_concurrent: int = 1
    """Inferences that run at once, each on its own worker thread."""
    queue: int = 8
    """Requests that may wait for a worker; one more is answered 503."""
    timeout: float = 120.0
    """Seconds a request may wait and run before it is answered 504."""
    retry_after: int = 5
    """Seconds suggested to a client that got a 503."""
    max_uploads: int = 16
    """Bodies past their first FREE_BYTES (256 KiB) read at once; more wait, unread."""
    upload_timeout: float = 60.0
    """Seconds from the end of the headers by which the whole body must have arrived (408)."""
    idle_timeout: float = 10.0
    """Seconds a body may pause between two pieces before the request is dropped (408)."""
    min_upload_rate: float = 8.0
    """KiB/s a body must average once it has taken ``idle_timeout`` seconds (408); 0 = any."""
    header_timeout: float = 10.0
    """Seconds from connecting (or from the first byte of a following request) to the end of the headers."""
    keep_alive: float = 5.0
    """Seconds an idle keep-alive connection stays open between requests."""
    max_connections: int = 1000
    """Open connections; uvicorn answers further requests 503 at once and closes them."""

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
        for name in ("timeout", "upload_timeout", "idle_timeout", "header_timeout", "keep_alive"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be > 0 seconds; got {getattr(self, name)}")
        if not self.min_upload_rate >= 0:
            raise InputError(f"min_upload_rate must be >= 0 KiB/s; got {self.min_upload_rate}")
        if self.max_uploads < 1:
            raise InputError(f"max_uploads must be >= 1; got {self.max_uploads}")
        if self.max_connections < self.max_uploads + self.max_concurrent + self.queue:
            raise InputError(
                f"max_connections ({self.max_connections}) must be at least max_uploads + "
                f"max_concurrent + queue ({self.max_uploads + self.max_concurrent + self.queue}), "
                "or uploads and queued requests would be refused by the connection limit first"
            )
