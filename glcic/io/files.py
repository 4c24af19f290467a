"""Finding image files in folders and opening whatever a user calls "a file".

One extension list (:data:`READ_EXTENSIONS`) serves every folder glcic reads:
training and validation images, evaluation sets, mask folders and ``glcic inpaint
--input-dir``, so a folder of ``.tif`` files looks the same to all of them.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from glcic.errors import InputError

READ_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
"""File endings (any case) that folder readers treat as images."""

READABLE = "PNG, JPEG, WebP, BMP, TIFF or GIF"
"""The formats of :data:`READ_EXTENSIONS`, as error messages name them."""


def list_images(root: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """List the image files under a folder.

    Args:
        root: a folder.
        recursive: also look in sub-folders (hidden folders and files are skipped).

    Returns:
        Sorted paths whose extension is one of :data:`READ_EXTENSIONS` (any case).
        The list may be empty; callers decide whether that is an error.

    Raises:
        InputError: ``root`` does not exist or is not a folder.
    """
    root = Path(root)
    if not root.exists():
        raise InputError(f"image folder {root} does not exist; give an existing folder of images")
    if not root.is_dir():
        raise InputError(f"{root} is a file, not a folder; give the folder that holds the images")
    found: list[Path] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found.extend(
                Path(dirpath) / f
                for f in filenames
                if not f.startswith(".") and f.lower().endswith(READ_EXTENSIONS)
            )
    else:
        found = [
            p
            for p in root.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and p.name.lower().endswith(READ_EXTENSIONS)
        ]
    return sorted(found)


def warn_unreadable(paths: list[Path], what: str = "image") -> None:
    """Issue one warning that names the files that were skipped (the first ten)."""
    if not paths:
        return
    shown = ", ".join(str(p) for p in paths[:10])
    more = f" and {len(paths) - 10} more" if len(paths) > 10 else ""
    warnings.warn(
        f"skipped {len(paths)} unreadable {what} file(s): {shown}{more}",
        UserWarning,
        stacklevel=3,
    )


@contextmanager
def open_source(source: Any) -> Iterator[tuple[IO[bytes], str]]:
    """Yield a seekable binary stream and a display name for a path, bytes or file object.

    Raises:
        InputError: a missing path, a folder, an empty file or empty bytes, a file that
            cannot be opened, a text-mode file object, or another type of source.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InputError("the image data is empty (0 bytes); expected the bytes of an image file")
        yield io.BytesIO(bytes(source)), "<bytes>"
        return
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path} does not exist; check the path (expected an image file)")
        if path.is_dir():
            raise InputError(f"{path} is a folder, not an image file; give one image file")
        if path.stat().st_size == 0:
            raise InputError(f"{path} is empty (0 bytes); expected a {READABLE} file")
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise InputError(f"cannot open {path}: {e.strerror or e}; check its permissions") from e
        with f:
            yield f, str(path)
        return
    if hasattr(source, "read"):
        name = str(getattr(source, "name", "") or "<file object>")
        if not (hasattr(source, "seekable") and source.seekable()):
            data = source.read()
            if isinstance(data, str):
                raise InputError(f"{name} was opened in text mode; open it with open(path, 'rb')")
            yield io.BytesIO(data), name
        else:
            yield source, name
        return
    raise InputError(
        f"cannot read an image from a {type(source).__name__}; give a path, bytes, a binary file "
        "object, a PIL image or a uint8 numpy array"
    )
