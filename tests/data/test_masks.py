"""Tests for glcic.data.masks: seeded holes, windows and local-patch crops."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.config import MaskConfig
from glcic.data.masks import (
    FolderMaskSource,
    FreeFormMaskGenerator,
    RectMaskGenerator,
    build_mask_generator,
    crop_windows,
    random_window,
    read_mask,
    sample_batch,
    window_around,
)
from glcic.errors import ConfigError, InputError


def g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def assert_inside_window(mask: torch.Tensor, window: tuple[int, int], local: int) -> None:
    """Every hole pixel lies in the window, and the window lies in the image."""
    _, h, w = mask.shape
    y, x = window
    assert 0 <= y <= h - local and 0 <= x <= w - local, (window, mask.shape)
    outside = mask.clone()
    outside[:, y : y + local, x : x + local] = 0
    assert outside.sum() == 0, "a hole pixel lies outside the local window"


def _generators(size) -> list:
    return [
        RectMaskGenerator(size, 3, 9, 11, num_holes=(1, 3)),
        FreeFormMaskGenerator(size, 11),
    ]


@pytest.mark.parametrize("kind", [0, 1])
def test_same_seed_same_masks_other_seed_other_masks(kind: int) -> None:
    gen = _generators((24, 31))[kind]
    a, b, c = sample_batch(gen, 6, g(0)), sample_batch(gen, 6, g(0)), sample_batch(gen, 6, g(1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    masks, windows = a
    assert masks.shape == (6, 1, 24, 31) and masks.dtype == torch.float32
    assert windows.shape == (6, 2) and windows.dtype == torch.long
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert (masks.sum(dim=(1, 2, 3)) > 0).all(), "every mask has a hole"


@pytest.mark.parametrize("size", [17, (17, 23), (40, 13), 11])
@pytest.mark.parametrize("kind", [0, 1])
def test_every_hole_lies_inside_its_window(size, kind: int) -> None:
    gen = _generators(size)[kind]
    rng = g(5)
    for _ in range(40):
        mask, window = gen(rng)
        assert_inside_window(mask, window, 11)


def test_rect_hole_sides_within_range() -> None:
    gen = RectMaskGenerator((50, 37), hole_min=4, hole_max=9, local_size=12)
    sides = set()
    rng = g(2)
    for _ in range(200):
        mask, _ = gen(rng)
        ys, xs = torch.nonzero(mask[0], as_tuple=True)
        hh, ww = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
        assert mask.sum() == hh * ww  # one solid rectangle
        sides.update((hh, ww))
    assert min(sides) == 4 and max(sides) == 9  # both ends are reachable


def test_rect_refuses_holes_bigger_than_the_local_patch() -> None:
    with pytest.raises(
        ConfigError,
        match=r"holes up to 90 px do not fit inside the 80 px local patch .*set mask.hole_max <= 80",
    ):
        RectMaskGenerator(160, 46, 90, 80)
    with pytest.raises(ConfigError, match=r"local_size 200 is larger than the 160x160 image"):
        RectMaskGenerator(160, 46, 80, 200)
    with pytest.raises(ConfigError, match="1 <= hole_min <= hole_max"):
        RectMaskGenerator(160, 50, 40, 80)
    with pytest.raises(ConfigError, match="num_holes"):
        RectMaskGenerator(160, 4, 8, 80, num_holes=(2, 1))


@pytest.mark.parametrize("size", [(9, 9), (13, 21), (30, 7)])
def test_random_window_inside_image(size) -> None:
    rng = g(0)
    seen = set()
    for _ in range(100):
        y, x = random_window(size, 7, rng)
        assert 0 <= y <= size[0] - 7 and 0 <= x <= size[1] - 7
        seen.add((y, x))
    assert len(seen) > 1
    with pytest.raises(ConfigError, match="does not fit inside the 30x7 image"):
        random_window((30, 7), 8, rng)


def test_window_around_centres_and_clamps() -> None:
    mask = torch.zeros(1, 20, 30)
    mask[0, 8:12, 14:16] = 1  # bbox rows 8..11, cols 14..15
    assert window_around(mask, 6) == (7, 12)
    corner = torch.zeros(1, 20, 30)
    corner[0, 0, 29] = 1
    assert window_around(corner, 10) == (0, 20)
    assert window_around(torch.zeros(1, 21, 31), 11) == (5, 10)
    assert window_around(np.ones((5, 5), bool), 5) == (0, 0)
    with pytest.raises(InputError, match=r"expects a mask \(1, H, W\) or \(H, W\)"):
        window_around(torch.zeros(2, 5, 5), 3)


def _write_masks(folder: Path) -> dict[str, float]:
    """Four masks of 29x37 in different modes; returns their true hole fractions."""
    folder.mkdir(parents=True, exist_ok=True)
    base = np.zeros((29, 37), bool)
    base[5:20, 3:30] = True
    base[0, 0] = True
    fractions = {}
    Image.fromarray(base).convert("1").save(folder / "a_bilevel.png")
    Image.fromarray(base.astype(np.uint8) * 255).save(folder / "b_gray.png")
    rgb = np.zeros((29, 37, 3), np.uint8)
    rgb[base] = (0, 0, 255)
    Image.fromarray(rgb).save(folder / "c_rgb.png")
    small = np.zeros((29, 37), np.uint8)
    small[10:12, 10:12] = 1  # value 1 (not 255) still counts as a hole
    Image.fromarray(small).save(folder / "d_ones.png")
    for name in ("a_bilevel.png", "b_gray.png", "c_rgb.png"):
        fractions[name] = float(base.mean())
    fractions["d_ones.png"] = 4 / (29 * 37)
    return fractions


def test_read_mask_any_mode_nonzero_is_hole(tmp_path: Path) -> None:
    fractions = _write_masks(tmp_path)
    for name, frac in fractions.items():
        m = read_mask(tmp_path / name)
        assert m.dtype == bool and m.shape == (29, 37)
        assert m.mean() == pytest.approx(frac)
    (tmp_path / "bad.png").write_text("no")
    with pytest.raises(InputError, match="bad.png is not an image glcic can read"):
        read_mask(tmp_path / "bad.png")


def test_folder_masks_nearest_resize_stays_binary(tmp_path: Path) -> None:
    _write_masks(tmp_path / "m")
    src = FolderMaskSource(tmp_path / "m", (20, 24), local_size=12)
    assert len(src) == 4
    rng = g(0)
    for _ in range(12):
        mask, window = src(rng)
        assert mask.shape == (1, 20, 24) and mask.dtype == torch.float32
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        assert 0 <= window[0] <= 8 and 0 <= window[1] <= 12
    a = sample_batch(src, 5, g(3))
    b = sample_batch(src, 5, g(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_folder_area_range_computed_and_from_index(tmp_path: Path) -> None:
    folder = tmp_path / "masks"
    fractions = _write_masks(folder)
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
    mask, window = src(g(0))
    assert mask.shape == (1, 64, 64) and set(mask.unique().tolist()) == {0.0, 1.0}
    assert 0.05 < mask.mean().item() < 0.25


def test_build_mask_generator(tmp_path: Path) -> None:
    rect = build_mask_generator(MaskConfig(hole_min=4, hole_max=8, local_size=10), 16)
    assert isinstance(rect, RectMaskGenerator) and rect.image_size == (16, 16)
    free = build_mask_generator(MaskConfig(kind="freeform", local_size=10), (16, 20))
    assert isinstance(free, FreeFormMaskGenerator)
    _write_masks(tmp_path / "m")
    folder = build_mask_generator(
        MaskConfig(kind="folder", folder=str(tmp_path / "m"), local_size=10), 16
    )
    assert isinstance(folder, FolderMaskSource)
    with pytest.raises(
        ConfigError, match="mask.kind must be one of rect, freeform, folder; got 'star'"
    ):
        build_mask_generator(MaskConfig(kind="star"), 16)
    with pytest.raises(
        ConfigError, match="holes up to 80 px do not fit inside the 64 px local patch"
    ):
        build_mask_generator(MaskConfig(hole_max=80, local_size=64), 128)


def test_crop_windows_values_and_gradient() -> None:
    images = torch.randn(3, 2, 9, 11, requires_grad=True)
    windows = torch.tensor([[0, 0], [4, 6], [2, 3]])
    patches = crop_windows(images, windows, 5)
    assert patches.shape == (3, 2, 5, 5)
    for i, (y, x) in enumerate(windows.tolist()):
        torch.testing.assert_close(patches[i], images[i, :, y : y + 5, x : x + 5])
    (patches * 2).sum().backward()
    expected = torch.zeros_like(images)
    for i, (y, x) in enumerate(windows.tolist()):
        expected[i, :, y : y + 5, x : x + 5] = 2
    torch.testing.assert_close(images.grad, expected)
    with pytest.raises(InputError, match=r"0 <= y <= 4, 0 <= x <= 6"):
        crop_windows(images, torch.tensor([[0, 0], [5, 0], [0, 0]]), 5)
    with pytest.raises(InputError, match=r"windows \(3, 2\)"):
        crop_windows(images, torch.tensor([[0, 0]]), 5)
