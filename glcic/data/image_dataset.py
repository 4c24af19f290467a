"""The training set: an in-memory dataset of square images with fast batch augmentation.

Every image is preprocessed once (:mod:`glcic.data.preprocess`: centre crop, resize)
and, with ``cache=True``, kept as ``uint8``. Tensors come out ``float32`` ``(3, H, W)``
RGB in the model's value range, ``[0, 1]`` (sigmoid output, the paper) or ``[-1, 1]``
(tanh).

Two ways to draw training batches from an :class:`ImageDataset`:

* ``dataset[i]`` / a ``DataLoader``: augmentation draws from torch's global RNG, so
  the ``DataLoader``'s per-worker seeding applies.
* ``dataset.get_batch(indices, generator)``: the fast path of the CPU training loop.
  It slices the in-memory cache and augments the whole batch at once with the given
  ``torch.Generator`` (no worker processes, no per-image Python work).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from glcic.convert import check_value_range
from glcic.data.preprocess import check_size, preprocess
from glcic.errors import ConfigError, InputError
from glcic.io import DECODE_ERRORS, READABLE, read_rgb, warn_unreadable

T = TypeVar("T")


def _progress(it: Iterable[T], total: int, desc: str) -> Iterable[T]:
    """Wrap ``it`` in a tqdm bar when stdout is a terminal."""
    if not sys.stdout.isatty():
        return it
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return it
    return tqdm(it, total=total, desc=desc, unit="img", leave=False)


class ImageDataset(Dataset):
    """Square RGB images (with optional binary attributes) for inpainting.

    Each image is centre-cropped to a square and resized; images smaller than ``size``
    are upscaled. Augmentation: a random crop that trims up to ``crop_jitter`` of the
    side (sub-pixel position, bilinear resample) and a horizontal flip with p = 0.5.

    With ``cache=True`` every image is decoded once, cropped, resized to
    ``base_size = ceil(size / (1 - crop_jitter))`` (``size`` when there is no jitter)
    and kept as one ``uint8`` tensor (N, 3, base_size, base_size). Without a cache the
    same preprocessing runs on every access.

    Unreadable files are skipped with one warning that names them: at construction
    (full decode when caching, header check otherwise), or, for files that only fail to
    decode later, on access (another image is returned instead, with a warning).

    Args:
        paths: image files.
        size: output side S.
        attributes: optional array (N, K) in {0, 1}, one row per path.
        value_range: (0, 1) or (-1, 1), the range of the returned images.
        hflip: random horizontal flips.
        crop_jitter: in [0, 0.5); the largest fraction of the side trimmed by the random crop.
        cache: decode everything into memory now.
        attr_names: optional names of the K attributes.
        num_threads: decoding threads when caching (0 = up to 8, by CPU count).
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike],
        size: int,
        attributes: np.ndarray | None = None,
        value_range: Sequence[float] = (0.0, 1.0),
        hflip: bool = False,
        crop_jitter: float = 0.0,
        cache: bool = False,
        attr_names: Sequence[str] = (),
        num_threads: int = 0,
    ) -> None:
        paths = [Path(p) for p in paths]
        size = check_size(size)
        if not 0.0 <= crop_jitter < 0.5:
            raise ConfigError(
                f"crop_jitter must be in [0, 0.5) (the fraction of the side a random crop may trim); got {crop_jitter}"
            )
        if attributes is None:
            attributes = np.zeros((len(paths), 0), np.float32)
        attributes = np.asarray(attributes)
        if attributes.ndim != 2 or attributes.shape[0] != len(paths):
            raise InputError(
                f"attributes must be an array (N, K) with one row per image (N = {len(paths)}); "
                f"got shape {attributes.shape}"
            )
        if attributes.size and not np.isin(attributes, (0, 1)).all():
            raise InputError("attributes must hold only 0 and 1 (1 = attribute present)")
        if attr_names and len(attr_names) != attributes.shape[1]:
            raise InputError(
                f"{len(attr_names)} attribute names for {attributes.shape[1]} attribute columns"
            )
        if not paths:
            raise InputError("ImageDataset got no image paths; give at least one image file")

        self.size = size
        self.value_range = check_value_range(value_range)
        self.hflip = bool(hflip)
        self.crop_jitter = float(crop_jitter)
        self.base_size = (
            self.size if crop_jitter == 0 else math.ceil(self.size / (1.0 - crop_jitter))
        )
        self.attr_names = list(attr_names)
        self._cache: torch.Tensor | None = None
        self._bad: set[int] = set()

        threads = num_threads or min(8, os.cpu_count() or 1)
        keep = self._build_cache(paths, threads) if cache else self._check_headers(paths)
        if not keep:
            raise InputError(
                f"none of the {len(paths)} image files could be read (first: {paths[0]}); "
                f"check that they are {READABLE} images"
            )
        self.paths = [paths[i] for i in keep]
        self.attributes = torch.from_numpy(attributes[keep].astype(np.float32))  # (N, K)

    # -- construction ------------------------------------------------------------------

    def _check_headers(self, paths: list[Path]) -> list[int]:
        keep, bad = [], []
        for i, p in enumerate(paths):
            try:
                with Image.open(p) as im:
                    im.size  # noqa: B018 - parsing the header is the check
                keep.append(i)
            except DECODE_ERRORS:
                bad.append(p)
        warn_unreadable(bad)
        return keep

    def _decode(self, path: Path) -> np.ndarray | None:
        try:
            return preprocess(read_rgb(path), self.base_size)
        except InputError:
            return None

    def _build_cache(self, paths: list[Path], threads: int) -> list[int]:
        c = self.base_size
        cache = torch.empty((len(paths), 3, c, c), dtype=torch.uint8)  # (N, 3, C, C)
        keep, bad = [], []
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = pool.map(self._decode, paths)
            for i, img in enumerate(_progress(results, len(paths), "caching images")):
                if img is None:
                    bad.append(paths[i])
                    continue
                cache[len(keep)] = torch.from_numpy(img).permute(2, 0, 1)
                keep.append(i)
        warn_unreadable(bad)
        self._cache = cache[: len(keep)].clone() if bad else cache
        return keep

    # -- access ------------------------------------------------------------------------

    @property
    def cached(self) -> bool:
        return self._cache is not None

    @property
    def num_attributes(self) -> int:
        return int(self.attributes.shape[1])

    def __len__(self) -> int:
        return len(self.paths)

    def load_uint8(self, index: int) -> torch.Tensor:
        """The preprocessed, un-augmented image ``index`` as ``uint8`` (3, C, C), C = ``base_size``.

        A file that fails to decode here (it passed the header check) is reported once
        and replaced by the next readable image.
        """
        if self._cache is not None:
            return self._cache[index]
        n = len(self.paths)
        for k in range(n):
            i = (index + k) % n
            if i in self._bad:
                continue
            img = self._decode(self.paths[i])
            if img is not None:
                return torch.from_numpy(img).permute(2, 0, 1)  # (3, C, C)
            self._bad.add(i)
            warnings.warn(
                f"skipped unreadable image file {self.paths[i]} (returning another image instead)",
                UserWarning,
                stacklevel=2,
            )
        raise InputError(f"none of the {n} image files could be decoded (first: {self.paths[0]})")

    def augment(
        self, batch: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Random crop, flip and conversion of a ``uint8`` batch.

        Args:
            batch: ``uint8`` (B, 3, C, C) with C = ``base_size``.
            generator: RNG for the crops and flips; None = torch's global RNG.

        Returns:
            ``float32`` (B, 3, S, S) in ``value_range``.
        """
        b = batch.shape[0]
        x = batch.float() / 255.0  # (B, 3, C, C) in [0, 1]
        flip = (
            torch.rand(b, generator=generator) < 0.5
            if self.hflip
            else torch.zeros(b, dtype=torch.bool)
        )  # (B,)
        if self.base_size != self.size:
            # Trim t in [0, crop_jitter] of the centred square's side, at a uniform position,
            # and resample to S; one affine grid per image does crop + resize + flip at once.
            # base_size is chosen so that even the largest trim keeps >= S pixels.
            t = torch.rand(b, generator=generator) * self.crop_jitter  # (B,)
            side = 1.0 - t  # crop side as a fraction of C
            oy = torch.rand(b, generator=generator) * t  # top-left, fraction of C
            ox = torch.rand(b, generator=generator) * t
            theta = torch.zeros(b, 2, 3)
            theta[:, 0, 0] = torch.where(flip, -side, side)
            theta[:, 0, 2] = 2 * ox + side - 1
            theta[:, 1, 1] = side
            theta[:, 1, 2] = 2 * oy + side - 1
            grid = F.affine_grid(theta, [b, 3, self.size, self.size], align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        elif self.hflip:
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        lo, hi = self.value_range
        if (lo, hi) != (0.0, 1.0):
            x = x * (hi - lo) + lo
        return x.contiguous()  # (B, 3, S, S)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        """One augmented sample (torch's global RNG).

        Returns:
            ``{"image": float (3, S, S) in value_range, "attrs": float (K,) in {0, 1},
            "index": int}``.
        """
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        index = index % len(self)
        image = self.augment(self.load_uint8(index)[None])[0]  # (3, S, S)
        return {"image": image, "attrs": self.attributes[index], "index": index}

    def get_batch(
        self, indices: Sequence[int] | torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """A whole augmented batch at once, from the cache when there is one.

        Args:
            indices: B image indices.
            generator: RNG for the augmentation (None = torch's global RNG).

        Returns:
            ``{"image": float (B, 3, S, S) in value_range, "attrs": float (B, K) in {0, 1},
            "index": long (B,)}``.
        """
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)  # (B,)
        if idx.numel() == 0:
            raise InputError("get_batch needs at least one index")
        if idx.min() < 0 or idx.max() >= len(self):
            raise InputError(
                f"get_batch indices must be in [0, {len(self) - 1}]; got {idx.min().item()}..{idx.max().item()}"
            )
        if self._cache is not None:
            raw = self._cache[idx]  # (B, 3, C, C) uint8
        else:
            raw = torch.stack([self.load_uint8(int(i)) for i in idx])
        return {"image": self.augment(raw, generator), "attrs": self.attributes[idx], "index": idx}


def compute_mean_pixel(dataset: ImageDataset, max_images: int | None = None) -> torch.Tensor:
    """Per-channel mean RGB of a dataset (un-augmented, preprocessed images).

    The training loop stores it with the run and fills holes with it before the
    completion network sees them.

    Args:
        dataset: the training set (read from its cache when it has one).
        max_images: use only the first N images (None = all).

    Returns:
        ``float32`` (3,) in [0, 1], whatever the dataset's value range.
    """
    n = len(dataset) if max_images is None else max(1, min(int(max_images), len(dataset)))
    total = torch.zeros(3, dtype=torch.float64)
    pixels = 0
    chunk = 256
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        if dataset.cached:
            x = dataset._cache[start:stop]  # (b, 3, C, C) uint8
        else:
            x = torch.stack([dataset.load_uint8(i) for i in range(start, stop)])
        total += x.sum(dim=(0, 2, 3), dtype=torch.float64)
        pixels += x.shape[0] * x.shape[2] * x.shape[3]
    return (total / (pixels * 255.0)).float()  # (3,)
