"""Finding and decoding image files.

Every image leaves this module as an RGB ``uint8`` array of shape ``(H, W, 3)``,
upright (EXIF orientation applied), whatever mode the file was stored in.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

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
    """Decode an image file into an upright RGB array.

    EXIF orientation is applied, so a phone photo stored sideways comes back
    upright. Every mode becomes RGB: grayscale (``L``, ``1``) is repeated over the
    three channels, palettes are expanded, alpha is dropped (the colour under it is
    kept), CMYK is converted, and 16-bit data (``I;16``, ``I``) is scaled to 8 bit
    with ``round(v / 257)`` (65535 -> 255) rather than clipped.

    Args:
        path: an image file (JPEG, PNG, WebP, BMP, or anything PIL decodes).

    Returns:
        ``uint8`` array of shape ``(H, W, 3)``, values in [0, 255].

    Raises:
        InputError: the file is missing, is not an image, is truncated, or uses a
            mode that cannot be turned into RGB; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image file {path} does not exist (or is not a file)")
    try:
        with Image.open(path) as im:
            im.load()  # decode now so that truncated files fail here
            im = ImageOps.exif_transpose(im)
            return _to_rgb_array(im, path)
    except InputError:
        raise
    except DECODE_ERRORS as e:
        raise InputError(
            f"cannot read {path} as an image ({type(e).__name__}: {e}); expected a readable "
            f"{'/'.join(x.lstrip('.').upper() for x in IMAGE_EXTENSIONS)} file; re-save it or remove it"
        ) from e


def _to_rgb_array(im: Image.Image, path: Path) -> np.ndarray:
    """Convert any PIL mode to an RGB ``uint8`` (H, W, 3) array."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im).astype(np.int64)  # (H, W)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise InputError(
                f"{path} holds {mode} integer pixels in [{a.min()}, {a.max()}]; expected 8-bit or "
                "16-bit data (0..65535); save it as an 8- or 16-bit image"
            )
        # Scale the 16-bit range onto 8 bits: 65535 / 257 = 255 exactly.
        a8 = np.round(a / 257.0).astype(np.uint8)
        return np.repeat(a8[:, :, None], 3, axis=2)  # (H, W, 3)
    if mode == "F":
        raise InputError(
            f"{path} holds floating-point pixels (PIL mode F), whose range is unknown; "
            "save it as an 8- or 16-bit image"
        )
    if mode == "P" and "transparency" in im.info:
        # Going through RGBA avoids PIL's warning about palette transparency.
        im = im.convert("RGBA")
    if im.mode != "RGB":
        im = im.convert("RGB")
    a = np.asarray(im, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 3:
        raise InputError(f"{path} decoded to shape {a.shape}; expected (H, W, 3) RGB")
    return np.ascontiguousarray(a)


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
