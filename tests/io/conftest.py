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


def photo(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    """A ``uint8`` RGB image (h, w, 3) with a photo's mix of smooth areas and detail
    (JPEG and WebP sizes behave as on photos, unlike pure noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(3 * x + 1), np.cos(4 * y), np.sin(2 * (x + y))], axis=2) * 90 + 128
    noise = rng.normal(0, 1, (h // 4 + 1, w // 4 + 1, 3)).repeat(4, 0).repeat(4, 1)[:h, :w] * 25
    return np.clip(base + noise + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)


def srgb_icc() -> bytes:
    """A valid sRGB ICC profile (littlecms's)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int = 1, make: str = "Glcic Camera", date: str = "2024:05:06 07:08:09") -> bytes:
    """An EXIF block with a camera make, an orientation and a date (in the Exif IFD)."""
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = date  # DateTimeOriginal
    return exif.tobytes()


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description tiff:Orientation="6" dc:creator="me"/></rdf:RDF></x:xmpmeta>'
"""An XMP packet that names an orientation (6) and a creator."""
