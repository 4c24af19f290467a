"""Every PIL image mode as 8-bit RGB (plus alpha), and gray as gray.

Grayscale (``1``, ``L``) is repeated over the three channels; palettes are expanded
and palette transparency becomes alpha; ``LA``/``RGBA`` keep their alpha apart;
``CMYK``, ``YCbCr``, ``LAB`` and ``HSV`` are converted; 16-bit data is scaled with
``round(v / 257)`` (65535 -> 255), not clipped; float images (``F``) are read as
[0, 1] when all values are in [0, 1] and as [0, 255] otherwise.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from glcic.errors import InputError

GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
"""PIL modes of single-channel (grayscale) images, with or without alpha."""

# EXIF orientation -> numpy transform (the same as PIL's ImageOps.exif_transpose), for
# pixels decoded outside PIL (16-bit colour, glcic.io.depth).
ORIENTATIONS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def scale16(a: np.ndarray) -> np.ndarray:
    """Map 0..65535 onto 0..255 with rounding (65535 / 257 = 255 exactly)."""
    return np.round(a.astype(np.float64) / 257.0).astype(np.uint8)


def gray_to_unit(im: Image.Image, name: str = "<image>") -> tuple[np.ndarray, float]:
    """A single-channel high-depth image (``I;16*``, ``I``, ``F``) as floats in [0, 1].

    Returns:
        ``(values, scale)``: ``float64`` ``(H, W)`` in [0, 1] and the number that maps
        [0, 1] back onto the source's range (65535 for integers; 1 or 255 for ``F``).

    Raises:
        InputError: integer data outside 0..65535, float data outside [0, 255] or NaN.
    """
    a = np.asarray(im)
    if im.mode == "F":
        a = a.astype(np.float64)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if not np.isfinite(a).all() or lo < 0 or hi > 255:
            raise InputError(
                f"{name} holds float pixels (PIL mode F) in [{lo:g}, {hi:g}]; expected [0, 1] or "
                "[0, 255]; rescale it or save it as an 8- or 16-bit image"
            )
        scale = 1.0 if hi <= 1.0 else 255.0
        return a / scale, scale
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() > 65535):
        raise InputError(
            f"{name} holds {im.mode} integer pixels in [{a.min()}, {a.max()}]; expected 8-bit or "
            "16-bit data (0..65535); save it as an 8- or 16-bit image"
        )
    return a / 65535.0, 65535.0


def pil_to_rgb(im: Image.Image, name: str = "<PIL image>") -> tuple[np.ndarray, np.ndarray | None]:
    """Any PIL mode -> RGB ``uint8`` ``(H, W, 3)`` and alpha ``uint8`` ``(H, W)`` or None.

    No EXIF transpose here: the pixels are taken as they are stored.
    """
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        unit, _ = gray_to_unit(im, name)
        if mode == "F":
            g = np.round(unit * 255.0).astype(np.uint8)
        else:  # 16-bit integers: round(v / 257)
            g = scale16(np.asarray(im))
        return np.repeat(g[:, :, None], 3, axis=2), None
    if mode in ("1", "L"):
        g = np.asarray(im.convert("L"), dtype=np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2), None
    if mode in ("LA", "La"):
        la = np.asarray(im.convert("LA"), dtype=np.uint8)
        return np.repeat(la[:, :, :1], 3, axis=2), np.ascontiguousarray(la[:, :, 1])
    if has_alpha(im):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3])
    try:
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except ValueError as e:
        raise InputError(f"{name} uses PIL mode {mode}, which cannot be converted to RGB; re-save it as RGB") from e
    return np.ascontiguousarray(rgb), None


def has_alpha(im: Image.Image) -> bool:
    """True for colour modes with transparency (``RGBA``, ``RGBa``, ``PA``, palette + transparency)."""
    return im.mode in ("RGBA", "RGBa", "PA") or (im.mode == "P" and "transparency" in im.info)
