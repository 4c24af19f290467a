"""Tests for glcic.data.datasets: build_datasets from CelebA roots and plain folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from glcic.config import DataConfig
from glcic.data import IMAGE_EXTENSIONS
from glcic.data.datasets import build_datasets
from glcic.errors import ConfigError, InputError
from glcic.io import READ_EXTENSIONS
from tests.data.conftest import folder_of_images, random_rgb


def test_folder_split_is_deterministic_and_disjoint(tmp_path: Path) -> None:
    folder_of_images(tmp_path / "imgs" / "a", 6)
    folder_of_images(tmp_path / "imgs" / "b", 4)
    cfg = DataConfig(root=str(tmp_path / "imgs"), size=8, val_fraction=0.2, cache=False)
    train, val = build_datasets(cfg, (0.0, 1.0))
    train2, val2 = build_datasets(cfg, (0.0, 1.0))
    assert (len(train), len(val)) == (8, 2)
    assert train.paths == train2.paths and val.paths == val2.paths
    assert not set(train.paths) & set(val.paths)
    assert train.hflip and not val.hflip


def test_tif_and_gif_folders_are_training_data(tmp_path: Path) -> None:
    # One extension list for training, evaluation and `glcic inpaint`.
    assert IMAGE_EXTENSIONS == READ_EXTENSIONS and {".tif", ".tiff", ".gif"} <= set(IMAGE_EXTENSIONS)
    root = tmp_path / "tifs"
    root.mkdir()
    for i, suffix in enumerate((".tif", ".tiff", ".TIF", ".gif")):
        Image.fromarray(random_rgb(20, 16, i)).save(root / f"img{i}{suffix}")
    train, val = build_datasets(DataConfig(root=str(root), size=8, val_fraction=0.25, cache=True), (0, 1))
    assert (len(train), len(val)) == (3, 1)
    assert sorted(p.name for p in train.paths + val.paths) == ["img0.tif", "img1.tiff", "img2.TIF", "img3.gif"]


def test_relative_root_and_missing_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder_of_images(tmp_path / "rel", 3)
    monkeypatch.chdir(tmp_path)
    train, val = build_datasets(
        DataConfig(root="rel", size=8, val_fraction=0.3, cache=False), (0, 1)
    )
    assert len(train) + len(val) == 3
    with pytest.raises(InputError, match=r"data.root=missing does not exist.*\.\./shared/data"):
        build_datasets(DataConfig(root="missing"), (0, 1))


def test_empty_folder_and_attributes_without_labels(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images .* found under data.root="):
        build_datasets(DataConfig(root=str(tmp_path / "empty")), (0, 1))
    folder_of_images(tmp_path / "imgs", 3)
    with pytest.raises(InputError, match="plain image folder without labels"):
        build_datasets(DataConfig(root=str(tmp_path / "imgs")), (0, 1), attributes=40)


def test_bad_format_from_a_direct_caller(tmp_path: Path) -> None:
    folder_of_images(tmp_path / "imgs", 2)
    with pytest.raises(ConfigError, match="data.format must be one of auto, celeba, folder; got 'zip'"):
        build_datasets(DataConfig(root=str(tmp_path / "imgs"), format="zip"), (0, 1))


def test_celeba_root_with_attributes_and_extras(tmp_path: Path, make_fake_celeba) -> None:
    root = make_fake_celeba(tmp_path / "celeba")
    extra = tmp_path / "extra"
    folder_of_images(extra, 2)
    cfg = DataConfig(root=str(root), size=8, cache=True, extra_roots=[str(extra)])
    train, val = build_datasets(cfg, (-1.0, 1.0))
    assert (len(train), len(val)) == (4, 1)  # 2 CelebA train + 2 extra; val stays CelebA
    assert set(val.paths) == {root / "img_align_celeba" / "000003.jpg"}
    assert train.num_attributes == 0

    extra_celeba = make_fake_celeba(tmp_path / "celeba2")
    cfg = DataConfig(root=str(root), size=8, extra_roots=[str(extra_celeba)], cache=False)
    train, val = build_datasets(cfg, (0, 1), attributes=40)
    assert len(train) == 4 and train.attributes.shape == (4, 40) and val.attributes.shape == (1, 40)
    assert len(train.attr_names) == 40
    assert set(train.attributes.unique().tolist()) == {0.0, 1.0}

    with pytest.raises(
        InputError, match="extra root .* is a plain image folder without attribute labels"
    ):
        build_datasets(DataConfig(root=str(root), extra_roots=[str(extra)]), (0, 1), attributes=40)
    with pytest.raises(ConfigError, match="model.attributes=3 but .* has 40 attributes"):
        build_datasets(DataConfig(root=str(root)), (0, 1), attributes=3)
    with pytest.raises(InputError, match="split 'test'"):
        build_datasets(DataConfig(root=str(root), val_split="test"), (0, 1))

    train, _ = build_datasets(DataConfig(root=str(root), max_images=1, cache=False), (0, 1))
    assert len(train) == 1


def test_shared_celeba_builds(celeba_root: Path) -> None:
    cfg = DataConfig(root=str(celeba_root), size=16, max_images=8, cache=False)
    train, val = build_datasets(cfg, (0.0, 1.0), attributes=40)
    assert (len(train), len(val)) == (8, 780)
    batch = train.get_batch(range(8), torch.Generator().manual_seed(0))
    assert batch["image"].shape == (8, 3, 16, 16) and batch["attrs"].shape == (8, 40)
