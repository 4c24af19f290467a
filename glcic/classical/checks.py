"""The classical methods' input checks: an RGB ``uint8`` image and its hole mask.

Every classical method (and the paper's blending, :mod:`glcic.postprocess`) takes an RGB
``uint8`` image of shape ``(H, W, 3)`` and a mask of shape ``(H, W)`` (``bool`` or
``uint8``; **non-zero = hole**); these checks say what was wrong and how to fix it.
"""

from __future__ import annotations

import numpy as np

from glcic.errors import InputError
from glcic.io import check_uint8

__all__ = ["FULL_COVER", "check_image", "check_image_and_mask"]

FULL_COVER = (
    "the mask covers the whole image; there are no known pixels to propagate from. "
    "Leave some known pixels (mask value 0) or use inpaint_mean with an explicit fill"
)
"""The error of a method that needs known pixels, given none."""


def check_image(image: object, name: str = "image") -> np.ndarray:
    """Check that ``image`` is an RGB ``uint8`` array of shape ``(H, W, 3)``.

    Args:
        image: the array to check.
        name: what to call it in the error message.

    Returns:
        The same array as a C-contiguous ``np.ndarray`` (a view when it already is).

    Raises:
        InputError: not a numpy array, not ``uint8``, or not ``(H, W, 3)``.
    """
    if not isinstance(image, np.ndarray):
        raise InputError(
            f"{name} must be a numpy uint8 array of shape (H, W, 3); got {type(image).__name__}. "
            "Convert a PIL image with np.asarray(img.convert('RGB'))"
        )
    check_uint8(image, name)
    if image.ndim != 3 or image.shape[2] != 3:
        hint = (
            "a grayscale image can be repeated: np.repeat(x[:, :, None], 3, axis=2)"
            if image.ndim == 2
            else "drop alpha with x[..., :3]; channels-first arrays need x.transpose(1, 2, 0)"
        )
        raise InputError(f"{name} must have shape (H, W, 3) RGB; got {image.shape}; {hint}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {image.shape}); give an image with pixels")
    return np.ascontiguousarray(image)


def _check_mask(mask: object, hw: tuple[int, int], name: str = "mask") -> np.ndarray:
    """Check a hole mask against an image size and return it as ``bool`` (H, W)."""
    if not isinstance(mask, np.ndarray):
        raise InputError(
            f"{name} must be a numpy bool or uint8 array of shape (H, W), non-zero = hole; "
            f"got {type(mask).__name__}"
        )
    if mask.dtype != np.bool_ and mask.dtype != np.uint8:
        raise InputError(
            f"{name} must have dtype bool or uint8 (non-zero = hole); got {mask.dtype}; "
            "binarize it first, e.g. mask > 0.5"
        )
    if mask.ndim != 2:
        hint = "take one channel with mask[..., 0]" if mask.ndim == 3 else "give a 2-D array"
        raise InputError(f"{name} must have shape (H, W); got {mask.shape}; {hint}")
    if tuple(mask.shape) != tuple(hw):
        raise InputError(
            f"{name} shape {tuple(mask.shape)} does not match the image size {tuple(hw)} (H, W); "
            "resize the mask to the image with nearest-neighbour interpolation"
        )
    return mask.astype(bool, copy=False)


def check_image_and_mask(
    image: object, mask: object, image_name: str = "image"
) -> tuple[np.ndarray, np.ndarray]:
    """Check an image and its hole mask together.

    Args:
        image: RGB ``uint8`` array ``(H, W, 3)``.
        mask: ``bool`` or ``uint8`` array ``(H, W)``, non-zero = hole.
        image_name: what to call the image in error messages.

    Returns:
        ``(image, hole)``: the image (C-contiguous) and the mask as ``bool`` ``(H, W)``.

    Raises:
        InputError: wrong type, dtype or shape, or the two sizes differ.
    """
    image = check_image(image, image_name)
    hole = _check_mask(mask, image.shape[:2])
    return image, hole
