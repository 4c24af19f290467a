"""Training holes: the mask generators and the batch sampler.

Mask convention (everywhere in glcic): **1 / white / non-zero = hole** (pixels to
complete), 0 / black = known pixel. Masks are ``float32`` tensors with values in
{0, 1}, shape (1, H, W) for one image and (B, 1, H, W) for a batch.

Every generator is called with a ``torch.Generator`` (same seed -> same masks) and
returns ``(mask, (y, x))``: the mask and the top-left corner of a ``local_size`` x
``local_size`` window inside the image that contains every hole, the patch the local
discriminator sees for a completed image (see :mod:`glcic.data.windows`). Masks from a
folder of images are in :mod:`glcic.data.mask_folder`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from glcic.config import MaskConfig
from glcic.data.mask_folder import FolderMaskSource, resize_mask
from glcic.data.mask_mix import MixMaskGenerator, draw_stroke, turning_angles
from glcic.data.windows import (
    Window,
    check_local_size,
    crop_windows,
    image_hw,
    randint,
    random_window,
    window_around,
)
from glcic.errors import ConfigError, InputError
from glcic.io import read_mask
from glcic.options import TRAIN_MASK_KINDS, check_choice

__all__ = [
    "FolderMaskSource",
    "FreeFormMaskGenerator",
    "MaskGenerator",
    "RectMaskGenerator",
    "Window",
    "build_mask_generator",
    "crop_windows",
    "random_window",
    "read_mask",
    "resize_mask",
    "sample_batch",
    "window_around",
]


class MaskGenerator(Protocol):
    """Anything that draws ``(mask (1, H, W) float {0, 1}, window (y, x))`` from a generator."""

    image_size: tuple[int, int]
    local_size: int

    def __call__(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, Window]: ...


class RectMaskGenerator:
    """Rectangular holes as in the paper's training (Sec. 4).

    A ``local_size`` window is placed uniformly in the image; each hole's height and
    width are drawn uniformly in [hole_min, hole_max] and its position uniformly inside
    the window, so every hole lies inside the window.

    Args:
        image_size: side, or (H, W).
        hole_min: smallest hole side in pixels (the paper: 96 at 256 px).
        hole_max: largest hole side; must be <= local_size.
        local_size: side of the local discriminator's patch (the paper: 128).
        num_holes: (min, max) holes per image, drawn uniformly.
    """

    def __init__(
        self,
        image_size: int | Sequence[int],
        hole_min: int,
        hole_max: int,
        local_size: int,
        num_holes: Sequence[int] = (1, 1),
    ) -> None:
        self.image_size = image_hw(image_size)
        self.local_size = check_local_size(local_size, self.image_size)
        if not 1 <= hole_min <= hole_max:
            raise ConfigError(
                f"hole sizes need 1 <= hole_min <= hole_max; got hole_min={hole_min}, hole_max={hole_max}"
            )
        if hole_max > local_size:
            raise ConfigError(
                f"holes up to {hole_max} px do not fit inside the {local_size} px local patch "
                f"the local discriminator sees; set mask.hole_max <= {local_size} or raise "
                "mask.local_size"
            )
        if len(num_holes) != 2 or not 1 <= num_holes[0] <= num_holes[1]:
            raise ConfigError(
                f"num_holes must be (min, max) with 1 <= min <= max; got {tuple(num_holes)}"
            )
        self.hole_min, self.hole_max = int(hole_min), int(hole_max)
        self.num_holes = (int(num_holes[0]), int(num_holes[1]))

    def __call__(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, Window]:
        """Draw one mask.

        Returns:
            ``(mask, (y, x))``: float (1, H, W) in {0, 1} (1 = hole) and the window corner.
        """
        h, w = self.image_size
        size = self.local_size
        y, x = random_window((h, w), size, generator)
        mask = torch.zeros(1, h, w)  # (1, H, W)
        for _ in range(randint(*self.num_holes, generator)):
            hh = randint(self.hole_min, self.hole_max, generator)
            ww = randint(self.hole_min, self.hole_max, generator)
            hy = y + randint(0, size - hh, generator)
            hx = x + randint(0, size - ww, generator)
            mask[:, hy : hy + hh, hx : hx + ww] = 1.0
        return mask, (y, x)


class FreeFormMaskGenerator:
    """Brush-stroke holes in the style of DeepFill v2 (Yu et al. 2019, Alg. 1).

    Strokes are polylines of random vertices, angles, lengths and widths, drawn with
    ``cv2.line`` and round joints (``cv2.circle``) on a ``local_size`` canvas, which is
    then placed at a uniformly drawn window. The canvas clips the strokes, so every hole
    lies inside the returned window. Departure from DeepFill: lengths and widths scale
    with ``local_size`` rather than the image, so that the hole fits the local patch.

    Args:
        image_size: side, or (H, W).
        local_size: side of the window that holds the strokes.
        strokes: (min, max) strokes per mask.
        vertices: (min, max) vertices per stroke.
        width: (min, max) brush width as a fraction of ``local_size``.
        mean_angle / angle_range: DeepFill's turning-angle distribution (radians).
    """

    def __init__(
        self,
        image_size: int | Sequence[int],
        local_size: int,
        strokes: Sequence[int] = (1, 4),
        vertices: Sequence[int] = (4, 12),
        width: Sequence[float] = (0.06, 0.18),
        mean_angle: float = 2 * math.pi / 5,
        angle_range: float = 2 * math.pi / 15,
    ) -> None:
        self.image_size = image_hw(image_size)
        self.local_size = check_local_size(local_size, self.image_size)
        for name, (lo, hi) in (("strokes", strokes), ("vertices", vertices)):
            if not 1 <= lo <= hi:
                raise ConfigError(f"{name} must be (min, max) with 1 <= min <= max; got {(lo, hi)}")
        if not 0 < width[0] <= width[1] <= 1:
            raise ConfigError(
                f"width must be (min, max) fractions of local_size in (0, 1]; got {tuple(width)}"
            )
        self.strokes = (int(strokes[0]), int(strokes[1]))
        self.vertices = (int(vertices[0]), int(vertices[1]))
        self.width = (float(width[0]), float(width[1]))
        self.mean_angle, self.angle_range = float(mean_angle), float(angle_range)

    def _canvas(self, rng: np.random.Generator) -> np.ndarray:
        size = self.local_size
        canvas = np.zeros((size, size), np.uint8)  # (L, L)
        radius = math.sqrt(2) * size / 8  # DeepFill: sqrt(H^2 + W^2) / 8
        for _ in range(rng.integers(self.strokes[0], self.strokes[1] + 1)):
            n = int(rng.integers(self.vertices[0], self.vertices[1] + 1))
            angles = turning_angles(rng, self.mean_angle, self.angle_range)
            brush = max(1, int(round(rng.uniform(*self.width) * size)))
            # Vertices stay half a brush away from the canvas edge (reflected back when a
            # step overshoots), so that strokes are not cut flat along the window's border.
            draw_stroke(canvas, rng, brush, n, radius, angles, margin=brush // 2)
        if rng.random() < 0.5:
            canvas = canvas[:, ::-1]
        if rng.random() < 0.5:
            canvas = canvas[::-1, :]
        return canvas

    def __call__(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, Window]:
        """Draw one mask: float (1, H, W) in {0, 1} (1 = hole) and its window (y, x)."""
        h, w = self.image_size
        y, x = random_window((h, w), self.local_size, generator)
        # The strokes use NumPy's RNG, seeded from the torch generator: still one seed.
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        canvas = self._canvas(np.random.default_rng(seed))
        mask = torch.zeros(1, h, w)  # (1, H, W)
        mask[0, y : y + self.local_size, x : x + self.local_size] = torch.from_numpy(
            np.ascontiguousarray(canvas)
        ).float()
        return mask, (y, x)


def build_mask_generator(mask_cfg: MaskConfig, image_size: int | Sequence[int]) -> MaskGenerator:
    """The training mask generator a :class:`MaskConfig` describes.

    ``rect`` -> :class:`RectMaskGenerator`, ``freeform`` -> :class:`FreeFormMaskGenerator`,
    ``mix`` -> :class:`~glcic.data.mask_mix.MixMaskGenerator` (with the ``rect`` settings for its rectangles),
    ``folder`` -> :class:`FolderMaskSource` on ``mask_cfg.folder``.
    """
    # Config.validate checks these too; direct callers may skip it.
    kind = check_choice("mask.kind", mask_cfg.kind, TRAIN_MASK_KINDS, error=ConfigError)
    if kind == "rect":
        return RectMaskGenerator(
            image_size,
            mask_cfg.hole_min,
            mask_cfg.hole_max,
            mask_cfg.local_size,
            mask_cfg.num_holes,
        )
    if kind == "freeform":
        return FreeFormMaskGenerator(image_size, mask_cfg.local_size)
    if kind == "mix":
        rect = RectMaskGenerator(
            image_size, mask_cfg.hole_min, mask_cfg.hole_max, mask_cfg.local_size, mask_cfg.num_holes
        )
        return MixMaskGenerator(image_size, mask_cfg.local_size, rect, mask_cfg.mix_weights, mask_cfg.area)
    if not mask_cfg.folder:  # Path("") would be the working directory
        raise ConfigError("mask.kind=folder needs mask.folder=PATH (a folder of mask images)")
    return FolderMaskSource(mask_cfg.folder, image_size, mask_cfg.local_size)


def sample_batch(
    mask_gen: MaskGenerator, batch_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw a batch of masks and windows.

    Returns:
        ``(masks, windows)``: float (B, 1, H, W) in {0, 1} (1 = hole) and long (B, 2)
        rows ``(y, x)``.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1; got {batch_size}")
    masks, windows = zip(*(mask_gen(generator) for _ in range(batch_size)), strict=True)
    return torch.stack(masks), torch.tensor(windows, dtype=torch.long)  # (B, 1, H, W), (B, 2)


