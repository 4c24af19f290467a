"""Training holes and the local discriminator's window.

Mask convention (everywhere in glcic): **1 / white / non-zero = hole** (pixels to
complete), 0 / black = known pixel. Masks are ``float32`` tensors with values in
{0, 1}, shape (1, H, W) for one image and (B, 1, H, W) for a batch.

Every generator is called with a ``torch.Generator`` (same seed -> same masks) and
returns ``(mask, (y, x))``: the mask and the top-left corner of a ``local_size`` x
``local_size`` window inside the image that contains every hole. The window is the
patch the local discriminator sees for a completed image (Sec. 3.2 of the paper);
:func:`random_window` gives the patch for real images, and :func:`crop_windows` cuts
the patches out of a batch.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
from PIL import Image

from glcic.config import MaskConfig
from glcic.data.images import list_images
from glcic.errors import ConfigError, InputError

Window = tuple[int, int]
"""Top-left corner (y, x) of the local patch."""


class MaskGenerator(Protocol):
    """Anything that draws ``(mask (1, H, W) float {0, 1}, window (y, x))`` from a generator."""

    image_size: tuple[int, int]
    local_size: int

    def __call__(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, Window]: ...


def _hw(image_size: int | Sequence[int]) -> tuple[int, int]:
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


def _check_local(local_size: int, hw: tuple[int, int]) -> int:
    if local_size < 1 or local_size > min(hw):
        raise ConfigError(
            f"local_size {local_size} does not fit inside the {hw[0]}x{hw[1]} image; "
            f"set mask.local_size between 1 and {min(hw)}"
        )
    return int(local_size)


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """Uniform integer in [low, high] (both inclusive)."""
    return int(torch.randint(low, high + 1, (1,), generator=generator).item())


def random_window(
    image_size: int | Sequence[int], local_size: int, generator: torch.Generator | None = None
) -> Window:
    """A uniformly placed ``local_size`` square inside the image (M_d in the paper).

    Returns:
        ``(y, x)`` with ``0 <= y <= H - local_size`` and ``0 <= x <= W - local_size``.
    """
    h, w = _hw(image_size)
    local_size = _check_local(local_size, (h, w))
    return _randint(0, h - local_size, generator), _randint(0, w - local_size, generator)


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
    local_size = _check_local(local_size, (h, w))
    ys, xs = torch.nonzero(m, as_tuple=True)
    if ys.numel() == 0:
        cy, cx = (h - 1) / 2, (w - 1) / 2
    else:
        cy = (ys.min().item() + ys.max().item()) / 2
        cx = (xs.min().item() + xs.max().item()) / 2
    y = min(max(int(math.floor(cy - (local_size - 1) / 2 + 0.5)), 0), h - local_size)
    x = min(max(int(math.floor(cx - (local_size - 1) / 2 + 0.5)), 0), w - local_size)
    return y, x


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
        self.image_size = _hw(image_size)
        h, w = self.image_size
        if local_size > min(h, w):
            raise ConfigError(
                f"local_size {local_size} is larger than the {h}x{w} image; "
                f"set mask.local_size <= {min(h, w)}"
            )
        self.local_size = _check_local(local_size, self.image_size)
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
        for _ in range(_randint(*self.num_holes, generator)):
            hh = _randint(self.hole_min, self.hole_max, generator)
            ww = _randint(self.hole_min, self.hole_max, generator)
            hy = y + _randint(0, size - hh, generator)
            hx = x + _randint(0, size - ww, generator)
            mask[:, hy : hy + hh, hx : hx + ww] = 1.0
        return mask, (y, x)


def _reflect(v: float, lo: int, hi: int) -> int:
    """Fold ``v`` back into [lo, hi] like a mirror at both ends."""
    if hi <= lo:
        return lo
    period = 2 * (hi - lo)
    t = (v - lo) % period
    return int(round(lo + (t if t <= hi - lo else period - t)))


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
        self.image_size = _hw(image_size)
        self.local_size = _check_local(local_size, self.image_size)
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
            a_lo = self.mean_angle - rng.uniform(0, self.angle_range)
            a_hi = self.mean_angle + rng.uniform(0, self.angle_range)
            brush = max(1, int(round(rng.uniform(*self.width) * size)))
            # Vertices stay half a brush away from the canvas edge (reflected back when a
            # step overshoots), so that strokes are not cut flat along the window's border.
            lo, hi = min(brush // 2, (size - 1) // 2), max(size - 1 - brush // 2, (size - 1) // 2)
            pts = [(int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1)))]
            for i in range(n):
                a = rng.uniform(a_lo, a_hi)
                a = 2 * math.pi - a if i % 2 == 0 else a
                r = float(np.clip(rng.normal(radius, radius / 2), 0, 2 * radius))
                px = _reflect(pts[-1][0] + r * math.cos(a), lo, hi)
                py = _reflect(pts[-1][1] + r * math.sin(a), lo, hi)
                pts.append((px, py))
            for p, q in zip(pts[:-1], pts[1:], strict=True):
                cv2.line(canvas, p, q, 1, brush)
            for p in pts:
                cv2.circle(canvas, p, brush // 2, 1, -1)
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


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask image; any mode; non-zero = hole (``glcic.io.load_mask``'s rules).

    Masks must be lossless (PNG, BMP): JPEG noise turns black pixels non-zero.

    Returns:
        ``bool`` array (H, W), True = hole.

    Raises:
        InputError: the file cannot be read as an image.
    """
    from glcic.io import load_mask

    return load_mask(Path(path), max_pixels=None)


def resize_mask(mask: np.ndarray, image_size: int | Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize of a boolean (h, w) mask to (H, W); stays binary.

    A mask of another aspect ratio is stretched (masks are not pictures of the scene).
    """
    h, w = _hw(image_size)
    if mask.shape == (h, w):
        return mask.astype(bool)
    im = Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)
    return np.asarray(im) > 0


class FolderMaskSource:
    """Masks from a folder of images (e.g. NVIDIA's irregular-hole test masks).

    White / non-zero = hole, in any mode. Masks are resized to the image size with
    nearest-neighbour interpolation (they stay binary) and drawn uniformly with the
    generator. The window is :func:`window_around` the holes; unlike the generators
    above, a folder mask's holes may spread wider than ``local_size`` and then stick out
    of the window.

    With ``area_range=(lo, hi)`` only masks whose hole fraction lies in [lo, hi] are
    used. The fractions come from ``<folder>_index.csv`` beside the folder or
    ``index.csv`` inside it (columns ``filename`` and ``hole_fraction...``) when present,
    else they are measured (slow for thousands of masks).

    Args:
        folder: folder of mask images.
        image_size: side, or (H, W), of the images the masks are for.
        local_size: side of the local window.
        area_range: optional (lo, hi) hole fractions in [0, 1].
        cache: keep resized masks in memory (as bool, H*W bytes each) after their first use.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        image_size: int | Sequence[int],
        local_size: int,
        area_range: Sequence[float] | None = None,
        cache: bool = False,
    ) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(
                f"mask folder {self.folder} does not exist; give a folder of mask images "
                "(white = hole), e.g. ../shared/data/masks/nvidia_irregular_test"
            )
        self.image_size = _hw(image_size)
        self.local_size = _check_local(local_size, self.image_size)
        files = list_images(self.folder)
        if not files:
            raise InputError(f"no mask images (PNG/BMP/...) found in {self.folder}")
        if area_range is not None:
            lo, hi = float(area_range[0]), float(area_range[1])
            if not 0.0 <= lo <= hi <= 1.0:
                raise ConfigError(
                    f"area_range must be (lo, hi) with 0 <= lo <= hi <= 1; got {tuple(area_range)}"
                )
            fractions = self._fractions(files)
            files = [f for f in files if lo <= fractions[f] <= hi]
            if not files:
                raise InputError(
                    f"no mask in {self.folder} has a hole fraction in [{lo}, {hi}]; widen area_range"
                )
        self.files = files
        self._cache: dict[int, torch.Tensor] | None = {} if cache else None

    def index_file(self) -> Path | None:
        """The CSV of hole fractions, if there is one."""
        for cand in (
            self.folder.parent / f"{self.folder.name}_index.csv",
            self.folder / "index.csv",
        ):
            if cand.is_file():
                return cand
        return None

    def _fractions(self, files: list[Path]) -> dict[Path, float]:
        known: dict[str, float] = {}
        index = self.index_file()
        if index is not None:
            with index.open(newline="") as fh:
                reader = csv.DictReader(fh)
                cols = reader.fieldnames or []
                col = next((c for c in cols if c.startswith("hole_fraction")), None)
                if "filename" not in cols or col is None:
                    raise InputError(
                        f"{index} needs columns 'filename' and 'hole_fraction...'; it has {cols}"
                    )
                known = {row["filename"]: float(row[col]) for row in reader}
        out: dict[Path, float] = {}
        for f in files:
            rel = f.relative_to(self.folder).as_posix()
            out[f] = known[rel] if rel in known else float(read_mask(f).mean())
        return out

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> torch.Tensor:
        """Mask ``index`` resized to the image size: float (1, H, W) in {0, 1}."""
        if self._cache is not None and index in self._cache:
            return self._cache[index].float()
        m = torch.from_numpy(resize_mask(read_mask(self.files[index]), self.image_size))[
            None
        ]  # (1, H, W)
        if self._cache is not None:
            self._cache[index] = m
        return m.float()

    def __call__(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, Window]:
        """Draw one mask: float (1, H, W) in {0, 1} (1 = hole) and its window (y, x)."""
        i = _randint(0, len(self.files) - 1, generator)
        mask = self.load(i)
        return mask, window_around(mask, self.local_size)


def build_mask_generator(mask_cfg: MaskConfig, image_size: int | Sequence[int]) -> MaskGenerator:
    """The training mask generator a :class:`MaskConfig` describes.

    ``rect`` -> :class:`RectMaskGenerator`, ``freeform`` -> :class:`FreeFormMaskGenerator`,
    ``folder`` -> :class:`FolderMaskSource` on ``mask_cfg.folder``.
    """
    kind = mask_cfg.kind
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
    if kind == "folder":
        if not mask_cfg.folder:
            raise ConfigError("mask.kind=folder needs mask.folder=PATH (a folder of mask images)")
        return FolderMaskSource(mask_cfg.folder, image_size, mask_cfg.local_size)
    raise ConfigError(f"mask.kind must be one of rect, freeform, folder; got {kind!r}")


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
