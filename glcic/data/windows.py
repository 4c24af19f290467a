"""The local discriminator's window: where its ``local_size`` square sits in the image.

The local discriminator sees a ``local_size`` x ``local_size`` patch (Sec. 3.2 of the
paper): around the holes for a completed image (:func:`window_around`, or the window a
mask generator drew its holes in) and uniformly placed for a real one
(:func:`random_window`, M_d in the paper). :func:`crop_windows` cuts the patches out
of a batch. A window is the patch's top-left corner ``(y, x)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from glcic.errors import ConfigError, InputError

Window = tuple[int, int]
"""Top-left corner (y, x) of the local patch."""


def image_hw(image_size: int | Sequence[int]) -> tuple[int, int]:
    """``int`` or ``(H, W)`` -> ``(H, W)``, validated."""
    if isinstance(image_size, (int, np.integer)):
        h = w = int(image_size)
    elif isinstance(image_size, Sequence) and len(image_size) == 2:
        h, w = int(image_size[0]), int(image_size[1])
    else:
        raise ConfigError(f"image_size must be an int or (H, W); got {image_size!r}")
    if h < 1 or w < 1:
        raise ConfigError(f"image_size must be positive; got {(h, w)}")
    return h, w


def check_local_size(local_size: int, hw: tuple[int, int]) -> int:
    """Return ``local_size`` if its window fits inside an ``hw`` image, else raise ConfigError."""
    h, w = hw
    if local_size < 1 or local_size > min(hw):
        why = f"is larger than the {h}x{w} image, so its window" if local_size >= 1 else "is below 1 and"
        raise ConfigError(
            f"local_size {local_size} {why} does not fit inside the {h}x{w} image; "
            f"set mask.local_size between 1 and {min(hw)}"
        )
    return int(local_size)


def randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """Uniform integer in [low, high] (both inclusive), from ``generator``."""
    return int(torch.randint(low, high + 1, (1,), generator=generator).item())


def random_window(
    image_size: int | Sequence[int], local_size: int, generator: torch.Generator | None = None
) -> Window:
    """A uniformly placed ``local_size`` square inside the image (M_d in the paper).

    Returns:
        ``(y, x)`` with ``0 <= y <= H - local_size`` and ``0 <= x <= W - local_size``.
    """
    h, w = image_hw(image_size)
    local_size = check_local_size(local_size, (h, w))
    return randint(0, h - local_size, generator), randint(0, w - local_size, generator)


def window_around(mask: torch.Tensor | np.ndarray, local_size: int) -> Window:
    """The ``local_size`` square centred on the holes' bounding box, clamped into the image.

    Used for masks that were not drawn inside a window (folder masks, user masks at
    inference). Holes wider than ``local_size`` stick out of the window; an empty mask
    gets the centred window.

    Args:
        mask: (1, H, W) or (H, W); non-zero = hole.
        local_size: side of the window.

    Returns:
        ``(y, x)`` top-left corner.
    """
    m = torch.as_tensor(mask)
    if m.ndim == 3 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise InputError(
            f"window_around expects a mask (1, H, W) or (H, W); got shape {tuple(m.shape)}"
        )
    h, w = m.shape
    local_size = check_local_size(local_size, (h, w))
    ys, xs = torch.nonzero(m, as_tuple=True)
    if ys.numel() == 0:
        cy, cx = (h - 1) / 2, (w - 1) / 2
    else:
        cy = (ys.min().item() + ys.max().item()) / 2
        cx = (xs.min().item() + xs.max().item()) / 2
    y = min(max(int(math.floor(cy - (local_size - 1) / 2 + 0.5)), 0), h - local_size)
    x = min(max(int(math.floor(cx - (local_size - 1) / 2 + 0.5)), 0), w - local_size)
    return y, x


def crop_windows(images: torch.Tensor, windows: torch.Tensor, size: int) -> torch.Tensor:
    """Cut each image's ``size`` x ``size`` patch at its window (differentiable).

    Args:
        images: (B, C, H, W), any dtype and value range.
        windows: (B, 2) integer ``(y, x)`` top-left corners.
        size: patch side.

    Returns:
        (B, C, size, size); gradients flow back into ``images``.
    """
    if images.ndim != 4:
        raise InputError(
            f"crop_windows expects images (B, C, H, W); got shape {tuple(images.shape)}"
        )
    b, _, h, w = images.shape
    windows = torch.as_tensor(windows, device=images.device).long()
    if windows.shape != (b, 2):
        raise InputError(
            f"crop_windows expects windows ({b}, 2) of (y, x); got shape {tuple(windows.shape)}"
        )
    if size < 1 or size > min(h, w):
        raise InputError(f"crop size {size} does not fit the {h}x{w} images")
    if b and (
        windows.min() < 0 or (windows[:, 0] > h - size).any() or (windows[:, 1] > w - size).any()
    ):
        raise InputError(
            f"crop_windows: every window (y, x) must satisfy 0 <= y <= {h - size}, 0 <= x <= {w - size} "
            f"for {size} px patches of {h}x{w} images; got {windows.tolist()}"
        )
    r = torch.arange(size, device=images.device)
    rows = windows[:, 0, None] + r  # (B, size)
    cols = windows[:, 1, None] + r  # (B, size)
    bi = torch.arange(b, device=images.device)[:, None, None]  # (B, 1, 1)
    # Advanced indexing around the channel slice puts the indexed dims first.
    patches = images[bi, :, rows[:, :, None], cols[:, None, :]]  # (B, size, size, C)
    return patches.permute(0, 3, 1, 2).contiguous()  # (B, C, size, size)
