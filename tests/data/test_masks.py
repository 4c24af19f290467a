"""Tests for glcic.data.masks: seeded training holes inside their local windows."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from glcic.config import MaskConfig
from glcic.data.masks import (
    FolderMaskSource,
    FreeFormMaskGenerator,
    RectMaskGenerator,
    build_mask_generator,
    sample_batch,
)
from glcic.errors import ConfigError
from tests.data.conftest import seeded, write_masks


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
    a, b, c = sample_batch(gen, 6, seeded(0)), sample_batch(gen, 6, seeded(0)), sample_batch(gen, 6, seeded(1))
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
    rng = seeded(5)
    for _ in range(40):
        mask, window = gen(rng)
        assert_inside_window(mask, window, 11)


def test_rect_hole_sides_within_range() -> None:
    gen = RectMaskGenerator((50, 37), hole_min=4, hole_max=9, local_size=12)
    sides = set()
    rng = seeded(2)
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


def test_build_mask_generator(tmp_path: Path) -> None:
    rect = build_mask_generator(MaskConfig(hole_min=4, hole_max=8, local_size=10), 16)
    assert isinstance(rect, RectMaskGenerator) and rect.image_size == (16, 16)
    free = build_mask_generator(MaskConfig(kind="freeform", local_size=10), (16, 20))
    assert isinstance(free, FreeFormMaskGenerator)
    write_masks(tmp_path / "m")
    folder = build_mask_generator(
        MaskConfig(kind="folder", folder=str(tmp_path / "m"), local_size=10), 16
    )
    assert isinstance(folder, FolderMaskSource)
    with pytest.raises(
        ConfigError, match="mask.kind must be one of rect, freeform, mix, folder; got 'star'"
    ):
        build_mask_generator(MaskConfig(kind="star"), 16)
    with pytest.raises(
        ConfigError, match="holes up to 80 px do not fit inside the 64 px local patch"
    ):
        build_mask_generator(MaskConfig(hole_max=80, local_size=64), 128)
