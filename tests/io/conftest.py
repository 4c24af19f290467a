"""Helpers for the glcic.io tests: random images, encoded bytes, files on disk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def rgb_array(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """A random ``uint8`` RGB array (h, w, 3)."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    """The bytes of ``im`` saved in ``fmt``."""
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def save_array(path: Path, array: np.ndarray, **kw) -> Path:
    """Save ``array`` as an image at ``path`` (creating its folder); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kw)
    return path
