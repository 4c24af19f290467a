"""uint8 pixels <-> float tensors: the one conversion rule of the package.

``uint8`` RGB ``(H, W, 3)`` in [0, 255] becomes ``float32`` ``(3, H, W)`` in the model's
value range (``[0, 1]`` for the paper's sigmoid output, ``[-1, 1]`` for tanh), and
back with ``round(clamp(x, 0, 1) * 255)`` (values are clamped, since network outputs
can overshoot slightly). Training, inference, evaluation and sample grids all use
these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from glcic.errors import InputError

ValueRange = tuple[float, float]
VALUE_RANGES: tuple[ValueRange, ...] = ((0.0, 1.0), (-1.0, 1.0))


def check_value_range(value_range: Sequence[float]) -> ValueRange:
    vr = (float(value_range[0]), float(value_range[1])) if len(value_range) == 2 else None
    if vr not in VALUE_RANGES:
        raise InputError(
            f"value_range must be (0, 1) or (-1, 1) (see ModelConfig.value_range); got {tuple(value_range)}"
        )
    return vr


def check_hwc(img: np.ndarray, name: str = "image") -> None:
    if (
        not isinstance(img, np.ndarray)
        or img.dtype != np.uint8
        or img.ndim != 3
        or img.shape[2] != 3
    ):
        got = (
            f"{img.dtype} array of shape {img.shape}"
            if isinstance(img, np.ndarray)
            else type(img).__name__
        )
        raise InputError(f"{name} must be a uint8 RGB array of shape (H, W, 3); got {got}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise InputError(f"{name} is empty: shape {img.shape}")


def to_tensor(img: np.ndarray, value_range: Sequence[float] = (0.0, 1.0)) -> torch.Tensor:
    """``uint8`` RGB (H, W, 3) in [0, 255] -> ``float32`` (3, H, W) in ``value_range``."""
    check_hwc(img)
    lo, hi = check_value_range(value_range)
    if not img.flags.writeable:  # e.g. np.asarray(PIL image); torch.from_numpy would warn
        img = img.copy()
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0  # (3, H, W)
    return x * (hi - lo) + lo


def to_uint8(x: torch.Tensor, value_range: Sequence[float] = (0.0, 1.0)) -> np.ndarray:
    """Float (3, H, W) or (B, 3, H, W) in ``value_range`` -> ``uint8`` (H, W, 3) or (B, H, W, 3).

    Values outside the range are clamped (network outputs can overshoot slightly).
    """
    if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4) or x.shape[-3] != 3:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"to_uint8 expects a tensor (3, H, W) or (B, 3, H, W); got {got}")
    lo, hi = check_value_range(value_range)
    y = ((x.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1) * 255.0
    y = y.round().to(torch.uint8)
    return y.movedim(-3, -1).contiguous().numpy()  # (..., H, W, 3)
