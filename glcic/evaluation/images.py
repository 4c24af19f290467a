"""The images of an evaluation: which files, in which order, and what each method sees.

Images come from a CelebA partition, a folder, or a folder's training split, sorted
by path, and are preprocessed as the model was trained (centre crop to a square,
resize, :func:`glcic.data.preprocess`), or kept at their own size (``--size native``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from glcic.errors import InputError
from glcic.io import load_image
from glcic.options import DEFAULT_MAX_PIXELS


def list_eval_images(
    data: str | os.PathLike,
    split: str | None,
    limit: int | None,
    val_fraction: float | None = None,
) -> tuple[list[Path], str | None]:
    """The first ``limit`` images of a CelebA partition or folder, sorted by path.

    Args:
        data: a CelebA root (with ``list_eval_partition.txt``) or any folder of images.
        split: a CelebA root's partition (``train``, ``val``, ``test``, ``all``; None =
            ``val``). For a plain folder: None or ``all`` = every image; ``train`` /
            ``val`` = the split training makes of that folder (the fixed-seed hold-out
            of :func:`glcic.data.build_datasets`, ``val_fraction`` of the images).
        limit: at most this many images (None or 0 = all).
        val_fraction: a folder's held-out share (default: ``DataConfig.val_fraction``,
            as in training).

    Returns:
        ``(paths, split)``: the paths, and the split used (None for a whole folder).

    Raises:
        InputError: no images, an unknown split, or a negative limit.
    """
    from glcic.data import CelebAIndex, is_celeba_root, list_images

    root = Path(data)
    if limit is not None and limit < 0:
        raise InputError(f"--limit must be >= 0 (0 = all images); got {limit}")
    if is_celeba_root(root):
        split = split or "val"
        paths, _ = CelebAIndex.load(root).split(split)
    else:
        paths = list_images(root)
        if not paths:
            raise InputError(f"no images (JPEG/PNG/WebP/BMP) found in {root}")
        if split in ("train", "val"):
            paths = _folder_split(paths, split, val_fraction, root)
        elif split not in (None, "all"):
            raise InputError(
                f"--split {split}: {root} is a plain folder (no list_eval_partition.txt); it is "
                "split as training splits it: choose train, val or all (or drop --split for every image)"
            )
    paths = sorted(paths)
    if limit:
        paths = paths[:limit]
    return paths, split


def _folder_split(
    paths: list[Path], split: str, val_fraction: float | None, root: Path
) -> list[Path]:
    """A plain folder's ``train`` or ``val`` images, exactly as training holds them out."""
    from glcic.config import DataConfig
    from glcic.data.datasets import folder_split as training_split

    fraction = DataConfig.val_fraction if val_fraction is None else val_fraction
    train, val = training_split(paths, fraction, root)
    return val if split == "val" else train


def load_target(path: Path, size: int | None) -> np.ndarray:
    """The ground truth, ``uint8`` (H, W, 3): cropped and resized as in training to
    (size, size), or with ``size`` None as ``glcic inpaint`` reads it (EXIF orientation
    applied, the default pixel limit).

    Raises:
        InputError: the file cannot be read as an image (or is over the pixel limit).
    """
    from glcic.data import preprocess, read_rgb

    if size is None:
        return load_image(path, max_pixels=DEFAULT_MAX_PIXELS).rgb
    return preprocess(read_rgb(path), size)


def blank_hole(target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What every method sees: ``target`` (H, W, 3) with the hole (``mask`` (H, W) True)
    set to white, so that no method could read the answer (the classical ones only
    look outside anyway)."""
    return np.where(mask[:, :, None], np.uint8(255), target)


def relative_name(path: Path, root: str | os.PathLike) -> str:
    """``path`` relative to ``root`` (as stored in the report), else the whole path."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
