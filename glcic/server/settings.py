"""The limits of one server process: upload size, pixels, workers, queue, time.

Imports nothing heavy (no FastAPI), so ``glcic serve`` can take its flag defaults
from here while building ``glcic --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from glcic.errors import InputError


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
