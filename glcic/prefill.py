"""What fills the hole before the completion network sees it (``model.prefill``).

The paper fills every hole with the training set's mean pixel (Sec. 3.1). With
``telea`` the hole is filled by OpenCV's fast-marching inpainting instead (the same
call as the ``telea`` baseline, with a smaller radius), so the network starts from the classical answer and
learns what to add; on thin holes and natural photos that start is already close. With
``biharmonic`` the start is scikit-image's biharmonic fill (the ``biharmonic`` baseline):
the best classical answer on thin holes (on CelebA val at 64 px, NVIDIA masks of 1-10 %:
25.7 dB hole PSNR against Telea's 21.5), at several times Telea's cost (a batch of 32
mixed holes at 128 px: about 1.3 s against 0.36 s for Telea at radius 5, one core).

Training (the batch pipeline and the sample grids) and inference (the pipeline) call
:func:`prefill` alone, so a bundle gets at inference exactly the fill it was trained
with: the bundle stores ``model.prefill``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from glcic.convert import to_tensor, to_uint8
from glcic.models.completion import fill_holes
from glcic.options import PREFILLS, check_choice

TELEA_RADIUS = 3
"""Neighbourhood radius of the Telea pre-fill. Fast marching costs about radius^2 per hole
pixel: a batch of 32 mixed holes at 128 px took 240 ms at radius 5 (the ``telea``
baseline's) and 100 ms at 3 on this project's CPU, so training uses 3."""


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
    from glcic.classical import inpaint_biharmonic, inpaint_telea

    def classical(p, h):  # (H, W, 3) uint8, (H, W) bool -> (H, W, 3) uint8
        return inpaint_telea(p, h, TELEA_RADIUS) if kind == "telea" else inpaint_biharmonic(p, h)

    # The classical fills work on 8-bit pixels, each image of the batch on its own.
    pixels = to_uint8(x, value_range)  # (B, H, W, 3) uint8
    holes = (mask[:, 0] > 0.5).cpu().numpy()  # (B, H, W) bool
    filled = [
        to_tensor(classical(p, h) if h.any() and not h.all() else p, value_range)
        for p, h in zip(pixels, holes, strict=True)
    ]
    filled_t = torch.stack(filled).to(device=x.device, dtype=x.dtype)  # (B, 3, H, W)
    return torch.where(mask.bool(), filled_t, x)
