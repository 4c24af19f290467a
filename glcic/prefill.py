"""What fills the hole before the completion network sees it (``model.prefill``).

The paper fills every hole with the training set's mean pixel (Sec. 3.1). With
``telea`` the hole is filled by OpenCV's fast-marching inpainting instead (the same
call as the ``telea`` baseline, with a smaller radius), so the network starts from the classical answer and
learns what to add; on thin holes and natural photos that start is already close. With
``biharmonic`` the start is scikit-image's biharmonic fill (the ``biharmonic`` baseline):
the best classical answer on thin holes (on CelebA val at 64 px, NVIDIA masks of 1-10 %:
25.7 dB hole PSNR against Telea's 21.5), at several times Telea's cost (a batch of 32
mixed holes at 128 px: about 1.3 s against 0.36 s for Telea at radius 5, one core).

scikit-image solves one sparse system with an unknown per hole pixel, whose cost grows
faster than the hole (one core: 0.4 s for 26,000 hole pixels, 3 s for 78,000). A hole of
more than :data:`BIHARMONIC_MAX_HOLE` pixels (never in training: a 128 px image has 16,384
pixels; only a big hole at native size with the ``original`` strategy) is solved on the
image scaled down until it fits, and the smooth fill scaled back up (:func:`biharmonic_fill`).

Training (the batch pipeline and the sample grids) and inference (the pipeline) call
:func:`prefill` alone, so a bundle gets at inference exactly the fill it was trained
with: the bundle stores ``model.prefill``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from glcic.convert import to_tensor, to_uint8
from glcic.models.completion import fill_holes
from glcic.options import PREFILLS, check_choice

TELEA_RADIUS = 3
"""Neighbourhood radius of the Telea pre-fill. Fast marching costs about radius^2 per hole
pixel: a batch of 32 mixed holes at 128 px took 240 ms at radius 5 (the ``telea``
baseline's) and 100 ms at 3 on this project's CPU, so training uses 3."""


BIHARMONIC_MAX_HOLE = 50_000
"""Most hole pixels the biharmonic pre-fill solves for at full resolution (about 1 s on one
core); larger holes are solved at a lower resolution (see the module docstring)."""


def biharmonic_fill(pixels: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``glcic.classical.inpaint_biharmonic``, at a lower resolution for very large holes.

    Args:
        pixels: (H, W, 3) uint8. hole: (H, W) bool, some but not every pixel True.

    Returns:
        (H, W, 3) uint8: ``pixels`` outside the hole; inside it the biharmonic fill, solved
        at full resolution while the hole has at most :data:`BIHARMONIC_MAX_HOLE` pixels, else
        on the image scaled by ``1 / f`` (area averaging; a low-resolution pixel is hole when
        any pixel under it is) and scaled back up (bilinear). The fill is smooth, so it
        loses little; the network paints the detail.
    """
    from glcic.classical import inpaint_biharmonic

    n = int(hole.sum())
    if n <= BIHARMONIC_MAX_HOLE:
        return inpaint_biharmonic(pixels, hole)
    h, w = hole.shape
    f = math.ceil(math.sqrt(n / BIHARMONIC_MAX_HOLE))
    while True:  # a low-resolution pixel touching the hole is hole: the count can come out over the cap
        small = (max(1, round(w / f)), max(1, round(h / f)))  # cv2 sizes are (width, height)
        small_hole = cv2.resize(hole.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0
        if small_hole.sum() <= BIHARMONIC_MAX_HOLE:
            break
        f += 1
    if small_hole.all():  # nothing known is left at this scale: the mean colour is all there is
        return np.where(hole[:, :, None], pixels[~hole].mean(axis=0).round().astype(np.uint8), pixels)
    small_fill = inpaint_biharmonic(cv2.resize(pixels, small, interpolation=cv2.INTER_AREA), small_hole)
    fill = cv2.resize(small_fill, (w, h), interpolation=cv2.INTER_LINEAR)  # (H, W, 3)
    return np.where(hole[:, :, None], fill, pixels)


def prefill(
    x: torch.Tensor,
    mask: torch.Tensor,
    mean: torch.Tensor,
    kind: str = "mean",
    value_range: Sequence[float] = (0.0, 1.0),
) -> torch.Tensor:
    """Fill the holes of a batch the way the network was trained to expect.

    Args:
        x: (B, 3, H, W) images in ``value_range``.
        mask: (B, 1, H, W) in {0, 1}, 1 = hole.
        mean: (3,) the dataset mean pixel in ``value_range`` (used by ``mean``).
        kind: ``"mean"`` (the paper), ``"telea"`` or ``"biharmonic"``.
        value_range: the model's value range, ``(0, 1)`` or ``(-1, 1)``.

    Returns:
        (B, 3, H, W): known pixels exactly ``x``'s, holes filled.
    """
    check_choice("model.prefill", kind, PREFILLS)
    if kind == "mean":
        return fill_holes(x, mask, mean)
    from glcic.classical import inpaint_telea

    def classical(p, h):  # (H, W, 3) uint8, (H, W) bool -> (H, W, 3) uint8
        return inpaint_telea(p, h, TELEA_RADIUS) if kind == "telea" else biharmonic_fill(p, h)

    # The classical fills work on 8-bit pixels, each image of the batch on its own.
    pixels = to_uint8(x, value_range)  # (B, H, W, 3) uint8
    holes = (mask[:, 0] > 0.5).cpu().numpy()  # (B, H, W) bool
    filled = [
        to_tensor(classical(p, h) if h.any() and not h.all() else p, value_range)
        for p, h in zip(pixels, holes, strict=True)
    ]
    filled_t = torch.stack(filled).to(device=x.device, dtype=x.dtype)  # (B, 3, H, W)
    return torch.where(mask.bool(), filled_t, x)
