"""The classical methods that interpolate the hole from its surroundings.

OpenCV's fast marching (Telea 2004) and Navier-Stokes (Bertalmio et al. 2001) methods,
scikit-image's biharmonic inpainting, OpenCV contrib's frequency-selective reconstruction
(``fsr``, the slowest; it needs the contrib module) and a flat mean fill. Each takes an RGB
``uint8`` ``(H, W, 3)`` image and an ``(H, W)`` mask (non-zero = hole) and returns a new
RGB ``uint8`` image whose pixels outside the hole are exactly the input's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from glcic.classical.checks import FULL_COVER, check_image_and_mask
from glcic.errors import InputError

__all__ = [
    "fsr_missing",
    "inpaint_biharmonic",
    "inpaint_fsr",
    "inpaint_mean",
    "inpaint_ns",
    "inpaint_telea",
]


def _check_radius(radius: object) -> float:
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise InputError(
            f"radius must be a positive number of pixels (OpenCV's inpaintRadius); got {radius!r}"
        )
    return float(radius)


def _fill_bgr(
    image: object, mask: object, fill: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Check, convert to OpenCV's BGR, ``fill(bgr, hole)``, convert back, keep the known pixels.

    ``fill`` takes ``uint8`` (H, W, 3) BGR and ``bool`` (H, W) (True = hole) and returns
    ``uint8`` (H, W, 3) BGR; only its hole pixels are kept.
    """
    image, hole = check_image_and_mask(image, mask)
    if not hole.any():
        return image.copy()
    if hole.all():
        raise InputError(FULL_COVER)
    filled = fill(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), hole)
    filled = cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)  # (H, W, 3) uint8
    # cv2.inpaint only writes hole pixels, xphoto's FSR rewrites known ones a little:
    # the select makes "outside the hole = the input" a guarantee for every method.
    return np.where(hole[:, :, None], filled, image)


def _opencv_inpaint(image: object, mask: object, radius: object, flag: int) -> np.ndarray:
    radius = _check_radius(radius)
    return _fill_bgr(
        image, mask, lambda bgr, hole: cv2.inpaint(bgr, hole.astype(np.uint8) * 255, radius, flag)
    )


def inpaint_telea(image: np.ndarray, mask: np.ndarray, radius: float = 5) -> np.ndarray:
    """Fill the hole by fast marching (Telea 2004; ``cv2.INPAINT_TELEA``).

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.
        radius: neighbourhood radius in pixels that each filled pixel looks at.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, non-positive radius, or a mask covering
            the whole image (nothing to propagate from).
    """
    return _opencv_inpaint(image, mask, radius, cv2.INPAINT_TELEA)


def inpaint_ns(image: np.ndarray, mask: np.ndarray, radius: float = 5) -> np.ndarray:
    """Fill the hole with the Navier-Stokes method (Bertalmio 2001; ``cv2.INPAINT_NS``).

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.
        radius: neighbourhood radius in pixels.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, non-positive radius, or a mask covering
            the whole image.
    """
    return _opencv_inpaint(image, mask, radius, cv2.INPAINT_NS)


def inpaint_biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the hole with a biharmonic function (``skimage.restoration.inpaint_biharmonic``).

    Smooth and good for small holes, but slow for big ones: it solves a sparse
    linear system with one unknown per hole pixel, whose cost grows faster than
    the hole area (measured with scikit-image 0.26 on one CPU core: 0.1 s for a
    64x64 hole, 0.6 s for 200x200; megapixel holes take far longer and much
    memory). Prefer ``telea`` for large images.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.

    Returns:
        RGB ``uint8`` ``(H, W, 3)`` (the [0, 1] float result rounded back to
        [0, 255]); pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, or a mask covering the whole image.
    """
    from skimage.restoration import inpaint_biharmonic as _biharmonic

    image, hole = check_image_and_mask(image, mask)
    if not hole.any():
        return image.copy()
    if hole.all():
        raise InputError(FULL_COVER)
    x = image.astype(np.float64) / 255.0  # (H, W, 3) in [0, 1]
    filled = _biharmonic(x, hole, channel_axis=-1)  # (H, W, 3), may overshoot [0, 1]
    filled = np.clip(np.round(filled * 255.0), 0, 255).astype(np.uint8)
    return np.where(hole[:, :, None], filled, image)


def inpaint_fsr(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the hole by frequency-selective reconstruction (Seiler et al. 2015, Genser et
    al. 2018; OpenCV contrib's ``cv2.xphoto.inpaint`` with ``INPAINT_FSR_FAST``).

    Models each block around the hole as a sparse sum of DCT basis functions fitted to
    the known pixels; keeps texture and edges better than diffusion, but is slow
    (measured here, one CPU core: about 0.2 s for a 64x64 image with a 32x32 hole,
    0.8 s for 160x160 with 80x80). xphoto's mask marks the *known* pixels (non-zero =
    valid), the opposite of ours; it is inverted here.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, a mask covering the whole image, or an OpenCV
            without the contrib module.
    """
    why = fsr_missing()
    if why:
        raise InputError(f"method fsr cannot run here: {why}")

    def fsr(bgr: np.ndarray, hole: np.ndarray) -> np.ndarray:
        known = (~hole).astype(np.uint8) * 255  # (H, W); xphoto: non-zero = KNOWN
        out = np.empty_like(bgr)  # (H, W, 3) BGR, written by xphoto
        cv2.xphoto.inpaint(bgr, known, out, cv2.xphoto.INPAINT_FSR_FAST)
        return out

    return _fill_bgr(image, mask, fsr)


def fsr_missing() -> str:
    """Why ``fsr`` cannot run here; empty when it can."""
    if hasattr(cv2, "xphoto"):
        return ""
    return (
        f"it needs OpenCV's contrib module (cv2.xphoto), which OpenCV {cv2.__version__} here "
        "lacks; install opencv-contrib-python-headless instead of opencv-python-headless"
    )


def inpaint_mean(
    image: np.ndarray, mask: np.ndarray, fill: Sequence[float] | None = None
) -> np.ndarray:
    """Fill the hole with one flat colour.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.
        fill: RGB colour in [0, 1] (e.g. ``(0.5, 0.5, 0.5)``). ``None`` uses the
            per-channel mean of the known pixels of this image.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; the hole holds ``round(fill * 255)`` (or the
        rounded known-pixel mean); pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, a ``fill`` that is not three numbers in
            [0, 1], or ``fill=None`` with a mask covering the whole image.
    """
    image, hole = check_image_and_mask(image, mask)
    if fill is None:
        if hole.all():
            raise InputError(
                "the mask covers the whole image, so there are no known pixels to average; "
                "pass an explicit fill=(r, g, b) in [0, 1]"
            )
        colour = image[~hole].astype(np.float64).mean(axis=0) / 255.0  # (3,) in [0, 1]
    else:
        colour = np.asarray(fill, dtype=np.float64) if _is_numbers(fill) else None
        if colour is None or colour.shape != (3,) or not np.all((colour >= 0) & (colour <= 1)):
            raise InputError(
                f"fill must be three numbers (R, G, B) in [0, 1]; got {fill!r}; "
                "for 8-bit colours divide by 255"
            )
    value = np.round(colour * 255.0).astype(np.uint8)  # (3,)
    out = image.copy()
    out[hole] = value
    return out


def _is_numbers(x: object) -> bool:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(a)))
