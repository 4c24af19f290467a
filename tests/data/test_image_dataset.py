"""Tests for glcic.data.image_dataset: ImageDataset, its cache and augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.convert import to_tensor
from glcic.data.image_dataset import ImageDataset, compute_mean_pixel
from glcic.data.preprocess import preprocess
from glcic.errors import ConfigError, InputError
from tests.data.conftest import folder_of_images, seeded


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_item_contract_and_cache_matches_lazy(tmp_path: Path, value_range) -> None:
    paths = folder_of_images(tmp_path, 3)
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
    ds = ImageDataset(folder_of_images(tmp_path, 2), 8)
    assert ds[0]["attrs"].shape == (0,)
    assert ds.get_batch([0, 1])["attrs"].shape == (2, 0)


def test_get_batch_is_seeded_and_augments(tmp_path: Path) -> None:
    ds = ImageDataset(folder_of_images(tmp_path, 4), 12, hflip=True, crop_jitter=0.2, cache=True)
    assert ds.base_size == 15  # ceil(12 / 0.8): the largest trim still leaves 12 px
    idx = [0, 1, 2, 3, 0, 1, 2, 3]

    a, b, c = ds.get_batch(idx, seeded(1)), ds.get_batch(idx, seeded(1)), ds.get_batch(idx, seeded(2))
    assert a["image"].shape == (8, 3, 12, 12) and a["index"].tolist() == idx
    torch.testing.assert_close(a["image"], b["image"])
    assert not torch.equal(a["image"], c["image"])
    assert not torch.equal(a["image"][0], a["image"][4])  # same image, other crop/flip
    assert 0.0 <= a["image"].min() and a["image"].max() <= 1.0


def test_hflip_only_flips(tmp_path: Path) -> None:
    ds = ImageDataset(folder_of_images(tmp_path, 1), 8, hflip=True, cache=True)
    plain = ImageDataset(ds.paths, 8, cache=True)[0]["image"]
    out = ds.get_batch([0] * 16, torch.Generator().manual_seed(0))["image"]
    flipped = [torch.equal(o, plain.flip(-1)) for o in out]
    same = [torch.equal(o, plain) for o in out]
    assert all(f or s for f, s in zip(flipped, same, strict=True)) and any(flipped) and any(same)


def test_global_rng_drives_getitem(tmp_path: Path) -> None:
    ds = ImageDataset(folder_of_images(tmp_path, 1), 8, hflip=True, crop_jitter=0.25)
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
    paths = folder_of_images(tmp_path, 2)
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG not really")
    attrs = np.array([[1], [0], [1]], np.int8)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file\(s\): .*corrupt.png"):
        ds = ImageDataset([paths[0], bad, paths[1]], 8, attrs, cache=cache)
    assert ds.paths == paths and ds.attributes[:, 0].tolist() == [1.0, 1.0]


def test_truncated_file_found_late_is_replaced_with_a_warning(tmp_path: Path) -> None:
    paths = folder_of_images(tmp_path, 2, size=(40, 40))
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
        ImageDataset(folder_of_images(tmp_path / "ok", 1), 8, crop_jitter=0.6)


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
