"""The training and validation sets a :class:`~glcic.config.DataConfig` describes.

A data root is either a CelebA root (the official partition file decides the
splits, the attribute file gives the labels) or a plain folder of images (a
fixed-seed hold-out is the validation set). Extra roots add training images only.
The sets themselves are :class:`~glcic.data.image_dataset.ImageDataset`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glcic.config import DataConfig
from glcic.convert import check_value_range
from glcic.data.celeba import CelebAIndex, is_celeba_root
from glcic.data.image_dataset import ImageDataset, compute_mean_pixel
from glcic.data.preprocess import center_crop_square, preprocess
from glcic.errors import ConfigError, InputError
from glcic.io import READ_EXTENSIONS, list_images
from glcic.options import DATA_FORMATS, check_choice

__all__ = [
    "FOLDER_SPLIT_SEED",
    "ImageDataset",
    "build_datasets",
    "center_crop_square",
    "compute_mean_pixel",
    "preprocess",
]

FOLDER_SPLIT_SEED = 0
"""Seed of the validation hold-out for plain folders: fixed, so that the split does not
change with the training seed."""


def build_datasets(
    data_cfg: DataConfig, value_range: Sequence[float], attributes: int = 0
) -> tuple[ImageDataset, ImageDataset]:
    """Build the training and validation sets described by a :class:`DataConfig`.

    * CelebA root (``format`` celeba, or auto with ``list_eval_partition.txt`` present):
      splits ``data_cfg.train_split`` / ``val_split`` from the partition file; with
      ``attributes > 0`` the attribute file's labels come along (K must match the file).
    * Plain folder: every image below it; a fixed-seed hold-out of ``val_fraction``
      (at least one image) is the validation set.
    * ``extra_roots`` (folders, or CelebA roots whose train split is used) join the
      training set only. ``max_images > 0`` keeps the first N training images.

    Args:
        data_cfg: the data section of the config.
        value_range: (0, 1) or (-1, 1), from ``ModelConfig.value_range``.
        attributes: number of attribute labels the model predicts (0 = none).

    Returns:
        ``(train_ds, val_ds)``; the training set has ``hflip`` / ``crop_jitter`` from the
        config, the validation set no augmentation.
    """
    value_range = check_value_range(value_range)
    # Config.validate checks the format too; direct callers may skip it.
    check_choice("data.format", data_cfg.format, DATA_FORMATS, error=ConfigError)
    if attributes < 0:
        raise ConfigError(f"attributes must be >= 0; got {attributes}")
    if data_cfg.max_images < 0:
        raise ConfigError(f"data.max_images must be >= 0 (0 = all); got {data_cfg.max_images}")

    # The main root gives both sets.
    root = _resolve_root(data_cfg.root, "data.root")
    celeba = data_cfg.format == "celeba" or (data_cfg.format == "auto" and is_celeba_root(root))
    source = _read_root(root, celeba, attributes, extra=False)
    attr_names: list[str] = []
    if isinstance(source, CelebAIndex):
        attr_names = source.attr_names if attributes else []
        train_paths, train_attrs = _celeba_split(source, data_cfg.train_split, attributes)
        val_paths, val_attrs = _celeba_split(source, data_cfg.val_split, attributes)
    else:
        train_paths, val_paths = folder_split(source, data_cfg.val_fraction, root)
        train_attrs, val_attrs = _no_attributes(train_paths), _no_attributes(val_paths)

    # Extra roots join the training set only: a CelebA root's train split, a folder's every image.
    attr_blocks = [train_attrs]
    for extra in data_cfg.extra_roots:
        eroot = _resolve_root(extra, "data.extra_roots entry")
        source = _read_root(eroot, is_celeba_root(eroot), attributes, extra=True)
        if isinstance(source, CelebAIndex):
            if attributes and source.attr_names != attr_names:
                raise InputError(
                    f"extra root {eroot} names its attributes differently from {root}; "
                    "all CelebA roots must share the attribute list"
                )
            epaths, eattrs = _celeba_split(source, "train", attributes)
        else:
            epaths, eattrs = source, _no_attributes(source)
        train_paths = [*train_paths, *epaths]
        attr_blocks.append(eattrs)
    train_attrs = np.concatenate(attr_blocks)

    if data_cfg.max_images > 0:
        train_paths = train_paths[: data_cfg.max_images]
        train_attrs = train_attrs[: data_cfg.max_images]

    common = dict(value_range=value_range, cache=data_cfg.cache, attr_names=attr_names)
    train_ds = ImageDataset(
        train_paths,
        data_cfg.size,
        train_attrs,
        hflip=data_cfg.hflip,
        crop_jitter=data_cfg.crop_jitter,
        **common,
    )
    val_ds = ImageDataset(val_paths, data_cfg.size, val_attrs, **common)
    return train_ds, val_ds


def _read_root(root: Path, celeba: bool, attributes: int, extra: bool) -> CelebAIndex | list[Path]:
    """A CelebA root's index (its attribute count checked), or a plain folder's image files.

    Raises:
        InputError: a folder when attributes are requested (only CelebA has labels), or
            a folder without images.
    """
    if celeba:
        index = CelebAIndex.load(root, require_attributes=attributes > 0)
        if attributes:
            _check_attr_count(attributes, index, root)
        return index
    if attributes:
        raise InputError(
            f"extra root {root} is a plain image folder without attribute labels, but "
            f"attributes={attributes} were requested; only CelebA roots (with "
            "list_attr_celeba.txt) can be added when training with attributes"
            if extra
            else f"attributes={attributes} were requested but data.root={root} is a plain "
            "image folder without labels; use a CelebA root (list_attr_celeba.txt) or set "
            "model.attributes=0"
        )
    paths = list_images(root)
    if not paths:
        where = f"extra root {root}" if extra else f"data.root={root}"
        raise InputError(
            f"no images ({'/'.join(READ_EXTENSIONS)}) found under {where}; "
            "point it at a folder of images or a CelebA root"
        )
    return paths


def _celeba_split(index: CelebAIndex, split: str, attributes: int) -> tuple[list[Path], np.ndarray]:
    """One CelebA split's paths and its first ``attributes`` labels, ``int8`` (n, K)."""
    paths, attrs = index.split(split)
    return paths, attrs[:, :attributes]


def _no_attributes(paths: list[Path]) -> np.ndarray:
    """The (n, 0) label block of a folder without attributes."""
    return np.zeros((len(paths), 0), np.int8)


def _resolve_root(root: str, what: str) -> Path:
    if not root:
        raise ConfigError(
            f"{what} is empty; give a CelebA root or a folder of images, e.g. "
            f"{what}=../shared/data/celeba"
        )
    p = Path(os.path.abspath(Path(root).expanduser()))
    if not p.exists():
        raise InputError(
            f"{what}={root} does not exist (resolved against the current directory "
            f"{Path.cwd()} to {p}); expected a CelebA root (img_align_celeba/ + "
            "list_eval_partition.txt) or a folder of images. The project's data lives in "
            "../shared/data (e.g. ../shared/data/celeba, relative to the repository root); "
            "run from the repository root or give an absolute path"
        )
    if not p.is_dir():
        raise InputError(f"{what}={root} is a file; expected a folder")
    return p


def folder_split(
    paths: list[Path], val_fraction: float, root: Path
) -> tuple[list[Path], list[Path]]:
    """A plain folder's ``(train, val)`` images: a hold-out of ``val_fraction`` (at least one
    image) drawn with the fixed :data:`FOLDER_SPLIT_SEED`, so it never changes with the
    training seed; evaluation's ``--split`` uses the same function."""
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(
            f"data.val_fraction must be in (0, 1) for a plain image folder; got {val_fraction}"
        )
    if len(paths) < 2:
        raise InputError(
            f"{root} holds {len(paths)} image(s); a folder needs at least 2 to hold one out for validation"
        )
    n_val = min(len(paths) - 1, max(1, round(val_fraction * len(paths))))
    perm = np.random.default_rng(FOLDER_SPLIT_SEED).permutation(len(paths))
    val_idx = set(perm[:n_val].tolist())
    train = [p for i, p in enumerate(paths) if i not in val_idx]
    val = [p for i, p in enumerate(paths) if i in val_idx]
    return train, val


def _check_attr_count(k: int, index: CelebAIndex, root: Path) -> None:
    if k != len(index.attr_names):
        raise ConfigError(
            f"model.attributes={k} but {root}/list_attr_celeba.txt has {len(index.attr_names)} "
            f"attributes; set model.attributes={len(index.attr_names)}"
        )
