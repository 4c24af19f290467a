"""Atomic file writes: a file on disk is its old self or complete, never half-written.

Every file that training or ``glcic export`` writes (checkpoints, config.yaml,
mean_pixel.json, stats.jsonl rewrites, sample grids, bundles) goes through
:func:`atomic_write`: the bytes go to ``.NAME.RANDOM.tmp`` next to the target, are flushed
to disk and renamed over it. Any failure (a full disk, Ctrl-C, an exception in the
caller) removes the temporary file, so nothing partial is left to fill the disk or
confuse the next run; a process killed outright (``kill -9``) may still leave one, which
:func:`remove_stale_temps` deletes at the next start.

A full disk becomes a :class:`DiskFullError` that names the file, the space left and
what to do, whatever raised it underneath (``torch.save`` turns the OS error into a
``RuntimeError: unexpected pos ...``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# The errors that mean "no room": no space left, or the user's quota is spent.
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """A write failed for want of disk space; the message says what, how much is free and what to do."""

    def __init__(self, path: Path, free: str, fix: str = "free some space and try again") -> None:
        super().__init__(errno.ENOSPC, "No space left on device")
        self.path, self.free, self.fix = path, free, fix

    def __str__(self) -> str:
        what = f"in {self.path}" if self.path.is_dir() else str(self.path)  # a folder: the OS did not say which file
        return f"could not write {what}: the disk is full ({self.free}); {self.fix}"


def temp_path(path: Path) -> Path:
    """A hidden temporary file next to ``path``, e.g. ``.ckpt_00000500.pt.1a2b3c4d.tmp``.

    The random part lets two writers of the same file (two processes exporting at once)
    each finish whole; the last rename wins.
    """
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def _open(path: Path) -> BinaryIO:
    """The one place a file is opened for writing (tests swap it for one that runs out of space)."""
    return open(path, "wb")


@contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces ``path`` whole, on any failure it is removed.

    Raises:
        DiskFullError: the disk (or quota) is full; ``path`` is untouched.
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        with _open(tmp) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:  # KeyboardInterrupt too: never leave a partial file behind
        # A folder that refused the file also refuses its removal: the first error is the one to report.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if is_disk_full(e):
            raise disk_full_error(path) from e
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path) as f:
        f.write(text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path) as f:
        f.write(data)


def is_disk_full(error: BaseException) -> bool:
    """True when ``error``, or an error it was raised from or during, is ENOSPC or EDQUOT."""
    return _disk_full_cause(error) is not None


def _disk_full_cause(error: BaseException) -> OSError | None:
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS:
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def disk_full_error(path: str | Path, error: BaseException | None = None, fix: str = "") -> DiskFullError:
    """A :class:`DiskFullError` naming the file that failed, the free space on its disk and ``fix``.

    Args:
        path: the file being written, or the folder it is in when ``error`` does not name it.
        error: the error raised (the file it names wins over ``path``).
        fix: what the user should do (default: free some space and try again).
    """
    cause = _disk_full_cause(error) if error is not None else None
    if isinstance(cause, DiskFullError):
        path, free = cause.path, cause.free
    else:
        path = Path(cause.filename) if cause is not None and cause.filename else Path(path)
        where = next((p for p in (path, *path.parents) if p.exists()), Path("."))
        try:
            free = f"{format_bytes(shutil.disk_usage(where).free)} free there"
        except OSError:
            free = "free space unknown"
    return DiskFullError(path, free, fix) if fix else DiskFullError(path, free)


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KB'`` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def remove_stale_temps(folder: str | Path, pattern: str = "*") -> list[Path]:
    """Delete the temporary files an interrupted :func:`atomic_write` left in ``folder``; return them.

    Args:
        pattern: which targets' temporary files (a glob of the final name, e.g. ``ckpt_*.pt``),
            so a folder shared with other files keeps theirs.

    Only one process writes a run folder at a time (rank 0 of one run), so at start-up
    every such file is left over from a run that was killed mid-write.
    """
    folder = Path(folder)
    # ".NAME.tmp" (older glcic) or ".NAME.RANDOM.tmp"
    stale = sorted(p for p in folder.glob(f".{pattern}*.tmp") if p.is_file()) if folder.is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
