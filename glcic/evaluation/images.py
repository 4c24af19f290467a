"""The images of an evaluation: which files, in which order, and what each method sees.

Images come from a CelebA partition or any folder, sorted by path, and are
preprocessed as the model was trained (centre crop to a square, resize,
:func:`glcic.data.preprocess`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from glcic.errors import InputError


def list_eval_images(
    data: str | os.PathLike, split: str | None, limit: int | None
) -> tuple[list[Path], str | None]:
    """The first ``limit`` images of a CelebA partition or folder, sorted by path.

    Args:
        data: a CelebA root (with ``list_eval_partition.txt``) or any folder of images.
        split: the CelebA partition (``train``, ``val``, ``test``, ``all``); None = ``val``.
            Only for CelebA roots.
        limit: at most this many images (None or 0 = all).

    Returns:
        ``(paths, split)``: the paths, and the split used (None for a plain folder).
    """
    from glcic.data import CelebAIndex, is_celeba_root, list_images

    root = Path(data)
    if limit is not None and limit < 0:
        raise InputError(f"--limit must be >= 0 (0 = all images); got {limit}")
    if is_celeba_root(root):
        split = split or "val"
        paths, _ = CelebAIndex.load(root).split(split)
    else:
        if split is not None:
            raise InputError(
                f"--split {split} selects a CelebA partition, but {root} has no "
                "list_eval_partition.txt; drop --split to use every image in the folder"
            )
        paths = list_images(root)
        if not paths:
            raise InputError(f"no images (JPEG/PNG/WebP/BMP) found in {root}")
    paths = sorted(paths)
    if limit:
        paths = paths[:limit]
    return paths, split


def load_target(path: Path, size: int) -> np.ndarray:
    """The ground truth: ``uint8`` (size, size, 3), cropped and resized as in training."""
    from glcic.data import preprocess, read_rgb

    return preprocess(read_rgb(path), size)


def blank_hole(target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What every method sees: ``target`` (S, S, 3) with the hole (``mask`` (S, S) True)
    set to white, so that no method could read the answer (the classical ones only
    look outside anyway)."""
    return np.where(mask[:, :, None], np.uint8(255), target)


def relative_name(path: Path, root: str | os.PathLike) -> str:
    """``path`` relative to ``root`` (as stored in the report), else the whole path."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
