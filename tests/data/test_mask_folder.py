"""Tests for glcic.data.mask_folder: holes from a folder of mask images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from glcic.data.mask_folder import FolderMaskSource, resize_mask
from glcic.data.masks import read_mask, sample_batch
from glcic.errors import InputError
from glcic.io import load_mask
from tests.data.conftest import seeded, write_masks


def test_read_mask_any_mode_nonzero_is_hole(tmp_path: Path) -> None:
    fractions = write_masks(tmp_path)
    for name, frac in fractions.items():
        m = read_mask(tmp_path / name)
        assert m.dtype == bool and m.shape == (29, 37)
        assert m.mean() == pytest.approx(frac)
    (tmp_path / "bad.png").write_text("no")
    with pytest.raises(InputError, match="bad.png is not an image glcic can read"):
        read_mask(tmp_path / "bad.png")


def test_resize_mask_is_load_mask_resize(tmp_path: Path) -> None:
    write_masks(tmp_path)
    for f in sorted(tmp_path.iterdir()):
        hole = read_mask(f)  # (29, 37)
        for size, wh in ((64, (64, 64)), ((20, 24), (24, 20)), ((29, 37), (37, 29))):
            resized = resize_mask(hole, size)
            assert resized.dtype == bool and resized.shape == (wh[1], wh[0])
            np.testing.assert_array_equal(resized, load_mask(f, size=wh, resize=True))


def test_folder_masks_nearest_resize_stays_binary(tmp_path: Path) -> None:
    write_masks(tmp_path / "m")
    src = FolderMaskSource(tmp_path / "m", (20, 24), local_size=12)
    assert len(src) == 4
    rng = seeded(0)
    for _ in range(12):
        mask, window = src(rng)
        assert mask.shape == (1, 20, 24) and mask.dtype == torch.float32
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        assert 0 <= window[0] <= 8 and 0 <= window[1] <= 12
    a = sample_batch(src, 5, seeded(3))
    b = sample_batch(src, 5, seeded(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_folder_area_range_computed_and_from_index(tmp_path: Path) -> None:
    folder = tmp_path / "masks"
    fractions = write_masks(folder)
    big = FolderMaskSource(folder, 16, 8, area_range=(0.1, 1.0))
    assert sorted(p.name for p in big.files) == ["a_bilevel.png", "b_gray.png", "c_rgb.png"]
    # An index CSV beside the folder wins over measuring (here it lies on purpose).
    with (tmp_path / "masks_index.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "hole_fraction_white", "bucket"])
        for name in fractions:
            w.writerow([name, 0.9 if name == "d_ones.png" else 0.05, 0])
    src = FolderMaskSource(folder, 16, 8, area_range=(0.5, 1.0))
    assert src.index_file() == tmp_path / "masks_index.csv"
    assert [p.name for p in src.files] == ["d_ones.png"]
    with pytest.raises(InputError, match=r"hole fraction in \[0.95, 1.0\]; widen area_range"):
        FolderMaskSource(folder, 16, 8, area_range=(0.95, 1.0))


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mask folder .* does not exist"):
        FolderMaskSource(tmp_path / "none", 16, 8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no mask images"):
        FolderMaskSource(tmp_path / "empty", 16, 8)


def test_nvidia_masks_with_index(nvidia_masks_dir: Path) -> None:
    src = FolderMaskSource(nvidia_masks_dir, 64, 32, area_range=(0.1, 0.2))
    assert src.index_file() is not None
    assert 1900 <= len(src) <= 2100  # one 2,000-mask bucket, give or take the edges
    mask, window = src(seeded(0))
    assert mask.shape == (1, 64, 64) and set(mask.unique().tolist()) == {0.0, 1.0}
    assert 0.05 < mask.mean().item() < 0.25
