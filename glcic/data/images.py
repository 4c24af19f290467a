"""Finding and decoding image files.

Every image leaves this module as an RGB ``uint8`` array of shape ``(H, W, 3)``,
upright (EXIF orientation applied), whatever mode the file was stored in.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from glcic.errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
"""File name endings (compared case-insensitively) that count as images."""

# Errors PIL raises for files that are not images, are truncated or are corrupt
# (shared with the dataset and mask readers).
DECODE_ERRORS = (
    OSError,
    UnidentifiedImageError,
    ValueError,
    SyntaxError,
    EOFError,
    Image.DecompressionBombError,
)


def list_images(root: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """List the image files under a folder.

    Args:
        root: a folder.
        recursive: also look in sub-folders (hidden folders and files are skipped).

    Returns:
        Sorted paths whose extension is one of :data:`IMAGE_EXTENSIONS` (any case).
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
                if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
            )
    else:
        found = [
            p
            for p in root.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and p.name.lower().endswith(IMAGE_EXTENSIONS)
        ]
    return sorted(found)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file into an upright RGB array (``glcic.io.load_image``'s rules).

    EXIF orientation is applied; every mode becomes RGB (grayscale repeated, palettes
    expanded, alpha dropped, CMYK converted, 16-bit scaled with ``round(v / 257)``).

    Args:
        path: an image file (JPEG, PNG, WebP, BMP, or anything PIL decodes).

    Returns:
        ``uint8`` array of shape ``(H, W, 3)``, values in [0, 255].

    Raises:
        InputError: the file is missing, is not an image or is truncated; the message
            names the file.
    """
    from glcic.io import load_image

    return load_image(Path(path), max_pixels=None).rgb


def warn_unreadable(paths: list[Path], what: str = "image") -> None:
    """Issue one warning that names the files that were skipped."""
    if not paths:
        return
    shown = ", ".join(str(p) for p in paths[:10])
    more = f" and {len(paths) - 10} more" if len(paths) > 10 else ""
    warnings.warn(
        f"skipped {len(paths)} unreadable {what} file(s): {shown}{more}",
        UserWarning,
        stacklevel=3,
    )
