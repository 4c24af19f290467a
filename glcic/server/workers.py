"""Admission: a bounded pool of worker threads and a bounded queue in front of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Busy(Exception):
    """Every worker is busy and the queue is full (the server answers 503)."""


class WorkerPool:
    """At most ``workers`` jobs run at once and at most ``queue`` more wait; the rest get :class:`Busy`.

    A request takes its slot (:meth:`reserve`) once its body has been read (the upload
    limits are :mod:`glcic.server.uploads`'), so a slow client never holds one; the slot
    is freed when its job ends (or at once if the request fails before it submits a job). The executor's
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
        # Threads start on first use, so a pool costs nothing until a request comes.
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
