"""Preprocessing: every training, validation and evaluation image becomes a square.

An image is centre-cropped to its largest square and resized to ``size`` x ``size``:
images smaller than ``size`` are upscaled with bicubic interpolation, larger ones
shrunk with area averaging. Pixels stay RGB ``uint8`` ``(H, W, 3)`` in [0, 255] here;
:mod:`glcic.convert` turns them into the model's float range.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from glcic.convert import check_hwc
from glcic.errors import InputError


def check_size(size: int) -> int:
    """Return ``size`` as an int, or raise InputError unless it is a positive integer."""
    if int(size) != size or size < 1:
        raise InputError(f"size must be a positive integer; got {size!r}")
    return int(size)


def center_crop_square(img: np.ndarray) -> np.ndarray:
    """Crop the largest centred square.

    Args:
        img: array (H, W, C) (or (H, W)).

    Returns:
        A view of shape (s, s, C) with ``s = min(H, W)``.
    """
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return img[y : y + s, x : x + s]


def resize_square(img: np.ndarray, size: int) -> np.ndarray:
    """Resize a square ``uint8`` (s, s, 3) array to (size, size, 3).

    Shrinking uses OpenCV's area averaging (no aliasing); enlarging uses PIL's bicubic.
    """
    s = img.shape[0]
    if s == size:
        return np.ascontiguousarray(img)
    if s > size:
        # Channel order does not matter to a resize, so RGB goes through OpenCV as is.
        return cv2.resize(np.ascontiguousarray(img), (size, size), interpolation=cv2.INTER_AREA)
    return np.asarray(
        Image.fromarray(np.ascontiguousarray(img)).resize((size, size), Image.BICUBIC)
    )


def preprocess(img: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square, then resize to ``size`` x ``size``.

    Images smaller than ``size`` are upscaled (bicubic); larger ones are shrunk (area).

    Args:
        img: ``uint8`` RGB array (H, W, 3).
        size: output side in pixels.

    Returns:
        ``uint8`` array (size, size, 3).
    """
    check_hwc(img)
    return resize_square(center_crop_square(img), check_size(size))
