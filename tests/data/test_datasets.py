"""Tests for glcic.data.datasets: preprocessing, ImageDataset and build_datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.config import DataConfig
from glcic.convert import to_tensor
from glcic.data.datasets import (
    ImageDataset,
    build_datasets,
    center_crop_square,
    compute_mean_pixel,
    preprocess,
)
from glcic.errors import ConfigError, InputError


def _asymmetric(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def _folder(root: Path, n: int, size: tuple[int, int] = (20, 16)) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = root / f"img{i:02d}.png"
        Image.fromarray(_asymmetric(size[0], size[1], i)).save(p)
        paths.append(p)
    return paths


# -- preprocessing ---------------------------------------------------------------------


def test_center_crop_and_preprocess_shapes() -> None:
    img = np.zeros((30, 50, 3), np.uint8)
    img[:, 10:40] = 200  # the centred 30x30 square
    sq = center_crop_square(img)
    assert sq.shape == (30, 30, 3) and (sq == 200).all()
    for src, size in (((30, 50), 16), ((50, 30), 16), ((7, 9), 24)):  # shrink and upscale
        out = preprocess(_asymmetric(*src), size)
        assert out.shape == (size, size, 3) and out.dtype == np.uint8
    flat = preprocess(np.full((9, 7, 3), 77, np.uint8), 32)  # upscaled, still flat
    assert (flat == 77).all()
    with pytest.raises(InputError, match=r"uint8 RGB array of shape \(H, W, 3\); got float64"):
        preprocess(np.zeros((8, 8, 3)), 4)


# -- ImageDataset ----------------------------------------------------------------------


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_item_contract_and_cache_matches_lazy(tmp_path: Path, value_range) -> None:
    paths = _folder(tmp_path, 3)
    attrs = np.array([[1, 0], [0, 1], [1, 1]], np.int8)
    lazy = ImageDataset(paths, 8, attrs, value_range=value_range)
    cached = ImageDataset(paths, 8, attrs, value_range=value_range, cache=True)
    assert len(lazy) == len(cached) == 3 and cached.cached and not lazy.cached
    item = lazy[1]
    assert item["image"].shape == (3, 8, 8) and item["image"].dtype == torch.float32
    assert value_range[0] <= item["image"].min() and item["image"].max() <= value_range[1]
    assert item["attrs"].tolist() == [0.0, 1.0] and item["index"] == 1
    for i in range(3):
        torch.testing.assert_close(lazy[i]["image"], cached[i]["image"])
    expected = to_tensor(preprocess(np.asarray(Image.open(paths[2])), 8), value_range)
    torch.testing.assert_close(cached[2]["image"], expected)


def test_no_attributes_gives_empty_tensor(tmp_path: Path) -> None:
    ds = ImageDataset(_folder(tmp_path, 2), 8)
    assert ds[0]["attrs"].shape == (0,)
    assert ds.get_batch([0, 1])["attrs"].shape == (2, 0)


def test_get_batch_is_seeded_and_augments(tmp_path: Path) -> None:
    ds = ImageDataset(_folder(tmp_path, 4), 12, hflip=True, crop_jitter=0.2, cache=True)
    assert ds.base_size == 15  # ceil(12 / 0.8): the largest trim still leaves 12 px
    idx = [0, 1, 2, 3, 0, 1, 2, 3]

    def g(seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    a, b, c = ds.get_batch(idx, g(1)), ds.get_batch(idx, g(1)), ds.get_batch(idx, g(2))
    assert a["image"].shape == (8, 3, 12, 12) and a["index"].tolist() == idx
    torch.testing.assert_close(a["image"], b["image"])
    assert not torch.equal(a["image"], c["image"])
    assert not torch.equal(a["image"][0], a["image"][4])  # same image, other crop/flip
    assert 0.0 <= a["image"].min() and a["image"].max() <= 1.0


def test_hflip_only_flips(tmp_path: Path) -> None:
    ds = ImageDataset(_folder(tmp_path, 1), 8, hflip=True, cache=True)
    plain = ImageDataset(ds.paths, 8, cache=True)[0]["image"]
    out = ds.get_batch([0] * 16, torch.Generator().manual_seed(0))["image"]
    flipped = [torch.equal(o, plain.flip(-1)) for o in out]
    same = [torch.equal(o, plain) for o in out]
    assert all(f or s for f, s in zip(flipped, same, strict=True)) and any(flipped) and any(same)


def test_global_rng_drives_getitem(tmp_path: Path) -> None:
    ds = ImageDataset(_folder(tmp_path, 1), 8, hflip=True, crop_jitter=0.25)
    torch.manual_seed(3)
    first = [ds[0]["image"] for _ in range(4)]
    torch.manual_seed(3)
    again = [ds[0]["image"] for _ in range(4)]
    for x, y in zip(first, again, strict=True):
        torch.testing.assert_close(x, y)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=1)))
    assert batch["image"].shape == (1, 3, 8, 8)


@pytest.mark.parametrize("cache", [False, True])
def test_unreadable_file_is_skipped_with_a_warning(tmp_path: Path, cache: bool) -> None:
    paths = _folder(tmp_path, 2)
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG not really")
    attrs = np.array([[1], [0], [1]], np.int8)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file\(s\): .*corrupt.png"):
        ds = ImageDataset([paths[0], bad, paths[1]], 8, attrs, cache=cache)
    assert ds.paths == paths and ds.attributes[:, 0].tolist() == [1.0, 1.0]


def test_truncated_file_found_late_is_replaced_with_a_warning(tmp_path: Path) -> None:
    paths = _folder(tmp_path, 2, size=(40, 40))
    data = paths[0].read_bytes()
    paths[0].write_bytes(data[: len(data) // 2])  # header intact, pixels cut off
    ds = ImageDataset(paths, 8)
    assert len(ds) == 2
    with pytest.warns(UserWarning, match="img00.png"):
        item = ds[0]
    assert item["image"].shape == (3, 8, 8)


def test_nothing_readable_or_no_paths(tmp_path: Path) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_text("nope")
    with (
        pytest.warns(UserWarning),
        pytest.raises(InputError, match="none of the 1 image files could be read"),
    ):
        ImageDataset([bad], 8, cache=True)
    with pytest.raises(InputError, match="got no image paths"):
        ImageDataset([], 8)
    with pytest.raises(ConfigError, match=r"crop_jitter must be in \[0, 0.5\)"):
        ImageDataset(_folder(tmp_path / "ok", 1), 8, crop_jitter=0.6)


def test_compute_mean_pixel(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    colours = [(255, 0, 0), (0, 0, 255), (0, 128, 0)]
    paths = []
    for i, c in enumerate(colours):
        p = tmp_path / f"c{i}.png"
        Image.new("RGB", (9, 6), c).save(p)
        paths.append(p)
    expected = torch.tensor([255, 128, 255]) / (3 * 255.0)
    for cache in (False, True):
        ds = ImageDataset(paths, 4, value_range=(-1.0, 1.0), cache=cache)
        mean = compute_mean_pixel(ds)
        assert mean.shape == (3,) and mean.dtype == torch.float32
        torch.testing.assert_close(mean, expected.float())
    torch.testing.assert_close(compute_mean_pixel(ds, max_images=1), torch.tensor([1.0, 0.0, 0.0]))


# -- build_datasets --------------------------------------------------------------------


def test_folder_split_is_deterministic_and_disjoint(tmp_path: Path) -> None:
    _folder(tmp_path / "imgs" / "a", 6)
    _folder(tmp_path / "imgs" / "b", 4)
    cfg = DataConfig(root=str(tmp_path / "imgs"), size=8, val_fraction=0.2, cache=False)
    train, val = build_datasets(cfg, (0.0, 1.0))
    train2, val2 = build_datasets(cfg, (0.0, 1.0))
    assert (len(train), len(val)) == (8, 2)
    assert train.paths == train2.paths and val.paths == val2.paths
    assert not set(train.paths) & set(val.paths)
    assert train.hflip and not val.hflip


def test_relative_root_and_missing_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path / "rel", 3)
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
    _folder(tmp_path / "imgs", 3)
    with pytest.raises(InputError, match="plain image folder without labels"):
        build_datasets(DataConfig(root=str(tmp_path / "imgs")), (0, 1), attributes=40)


def test_celeba_root_with_attributes_and_extras(tmp_path: Path, make_fake_celeba) -> None:
    root = make_fake_celeba(tmp_path / "celeba")
    extra = tmp_path / "extra"
    _folder(extra, 2)
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
