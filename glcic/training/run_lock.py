"""One training process per run folder.

Two ``glcic train`` processes in one folder would each write its checkpoints, logs and
``config.yaml`` over the other's, and the second, starting, deletes the partial files it
takes for a killed run's (:func:`glcic.training.checkpoint.remove_interrupted_writes`),
among them the checkpoint the first is writing. So the process that writes (rank 0) holds
an advisory lock on ``RUN/.lock`` while it trains; a second one is refused at once with
the first one's process id. The operating system drops the lock when its process ends,
however it ends, so a killed run never leaves the folder locked.

Where the file system cannot lock (some network mounts) or the platform has no ``fcntl``
(Windows), training goes on without the lock.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from glcic.errors import InputError

__all__ = ["LOCK_NAME", "RunFolderBusyError", "run_folder_lock"]

LOCK_NAME = ".lock"
"""The lock file in the run folder: it holds the training process's id and start time."""


class RunFolderBusyError(InputError):
    """Another live process is training in this run folder."""


@contextmanager
def run_folder_lock(run_dir: Path, main: bool = True) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the ``with`` block (only where ``main``; other ranks
    write nothing).

    Raises:
        RunFolderBusyError: another process holds it; the message names that process and
            what to do.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None  # type: ignore[assignment]
    if not main or fcntl is None:
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                locked = False  # this file system cannot lock (ENOLCK, ENOTSUP): train without it
            else:
                holder = os.pread(fd, 200, 0).decode(errors="replace")
                raise RunFolderBusyError(_busy_message(run_dir, holder)) from None
        if locked:
            started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {started}\n".encode(), 0)
        try:
            yield
        finally:
            if locked:
                os.ftruncate(fd, 0)  # the lock itself goes with the descriptor, below
    finally:
        os.close(fd)


def _busy_message(run_dir: Path, holder: str) -> str:
    """The refusal: who trains here and what to do (``holder`` is the lock file's text)."""
    pid, _, started = holder.strip().partition(" ")
    who = f"process {pid}, started {started}" if pid.isdigit() else "another process"
    return (
        f"{run_dir} is being trained by {who}: two runs in one folder would overwrite each other's "
        f"checkpoints. Wait for it to finish, or stop it (kill {pid if pid.isdigit() else 'PID'}) and continue "
        f"with `glcic train --run-dir {run_dir} --resume`; or give this run another --run-dir"
    )
