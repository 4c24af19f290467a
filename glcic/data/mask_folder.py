"""Training and evaluation holes from a folder of mask images.

For instance NVIDIA's irregular-hole test masks. Mask convention: **white /
non-zero = hole**, in any mode (:func:`glcic.io.load_mask`'s rules).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from glcic.data.windows import Window, check_local_size, image_hw, randint, window_around
from glcic.errors import ConfigError, InputError
from glcic.io import list_images, load_mask, read_mask


def resize_mask(mask: np.ndarray, image_size: int | Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize of a boolean (h, w) mask to (H, W); stays binary.

    The same resize as ``load_mask(..., resize=True)``: a mask of another aspect ratio
    is stretched (masks are not pictures of the scene).

    Args:
        mask: ``bool`` or numeric (h, w), non-zero = hole.
        image_size: side, or (H, W), of the image.

    Returns:
        ``bool`` (H, W), True = hole.
    """
    h, w = image_hw(image_size)
    return load_mask(mask, size=(w, h), resize=True, max_pixels=None)


class FolderMaskSource:
    """Masks from a folder of images (e.g. NVIDIA's irregular-hole test masks).

    White / non-zero = hole, in any mode. Masks are resized to the image size with
    nearest-neighbour interpolation (they stay binary) and drawn uniformly with the
    generator. The window is :func:`~glcic.data.windows.window_around` the holes;
    unlike the generators in :mod:`glcic.data.masks`, a folder mask's holes may spread
    wider than ``local_size`` and then stick out of the window.

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
        self.image_size = image_hw(image_size)
        self.local_size = check_local_size(local_size, self.image_size)
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
        h, w = self.image_size
        hole = load_mask(self.files[index], size=(w, h), resize=True, max_pixels=None)  # (H, W) bool
        m = torch.from_numpy(hole)[None]  # (1, H, W)
        if self._cache is not None:
            self._cache[index] = m
        return m.float()

    def __call__(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, Window]:
        """Draw one mask: float (1, H, W) in {0, 1} (1 = hole) and its window (y, x)."""
        i = randint(0, len(self.files) - 1, generator)
        mask = self.load(i)
        return mask, window_around(mask, self.local_size)
