"""The mixed training holes (glcic/data/mask_mix.py)."""

import numpy as np
import pytest
import torch

from glcic.data.mask_mix import FAMILIES, MixMaskGenerator, blob, hole_window, strokes
from glcic.data.masks import RectMaskGenerator
from glcic.errors import ConfigError


def _mix(size: int = 64, local: int = 32, weights=(1, 1, 1), area=(0.02, 0.6)) -> MixMaskGenerator:
    return MixMaskGenerator(size, local, RectMaskGenerator(size, 18, 32, local), weights, area)


@pytest.mark.parametrize("size,local", [(64, 32), (96, 48), (128, 64)])
def test_every_hole_inside_the_image_and_its_window_valid(size: int, local: int) -> None:
    gen = _mix(size, local)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        m, (y, x) = gen(g)
        assert m.shape == (1, size, size) and m.dtype == torch.float32
        assert set(torch.unique(m).tolist()) <= {0.0, 1.0}
        assert m.sum() > 0, "an empty hole trains nothing"
        assert m.mean() < 0.95, "a hole that covers the image leaves nothing to condition on"
        assert 0 <= y <= size - local and 0 <= x <= size - local
        assert m[0, y : y + local, x : x + local].sum() > 0, "the local window must see completed pixels"


def test_small_holes_get_the_paper_window_centred_on_them() -> None:
    hole = np.zeros((64, 64), np.uint8)
    hole[10:20, 40:50] = 1  # fits the 32 px window: centred on its box, as in the paper
    y, x = hole_window(hole, 32, np.random.default_rng(0))
    assert (y, x) == (0, 29)
    assert hole[y : y + 32, x : x + 32].sum() == hole.sum()


def test_large_holes_get_a_window_on_a_hole_pixel() -> None:
    hole = np.zeros((64, 64), np.uint8)
    hole[5, :] = 1  # a long thin stroke: its box is wider than the window
    hole[60, :] = 1
    rng = np.random.default_rng(0)
    for _ in range(20):
        y, x = hole_window(hole, 16, rng)
        assert 0 <= y <= 48 and 0 <= x <= 48
        assert hole[y : y + 16, x : x + 16].sum() > 0


@pytest.mark.parametrize("make", [strokes, blob])
def test_shapes_reach_about_their_target_area(make) -> None:
    rng = np.random.default_rng(1)
    for target in (0.05, 0.2, 0.45):
        areas = [make((96, 96), target, rng).mean() for _ in range(30)]
        assert abs(np.median(areas) - target) < 0.6 * target + 0.03


def test_areas_stay_in_the_configured_range_and_families_mix() -> None:
    gen = _mix(64, 32, weights=(0, 1, 1), area=(0.1, 0.3))
    g = torch.Generator().manual_seed(3)
    areas = np.array([gen(g)[0].mean().item() for _ in range(200)])
    assert (areas >= 0.1 - 1e-6).mean() > 0.97 and (areas <= 0.3 + 1e-6).mean() > 0.97
    assert areas.std() > 0.03  # a range, not one size


def test_weights_select_families() -> None:
    g = torch.Generator().manual_seed(0)
    only_rect = _mix(weights=(1, 0, 0))
    rect = RectMaskGenerator(64, 18, 32, 32)
    g2 = torch.Generator().manual_seed(0)
    m, w = only_rect(g)
    torch.rand((), generator=g2)  # the family draw
    m2, w2 = rect(g2)
    assert torch.equal(m, m2) and w == w2


def test_same_seed_same_masks() -> None:
    a = [_mix()(torch.Generator().manual_seed(7)) for _ in range(1)]
    b = [_mix()(torch.Generator().manual_seed(7)) for _ in range(1)]
    assert torch.equal(a[0][0], b[0][0]) and a[0][1] == b[0][1]


@pytest.mark.parametrize(
    "weights,area,match",
    [
        ((1, 1), (0.02, 0.6), "mix_weights must be 3 weights"),
        ((0, 0, 0), (0.02, 0.6), "not all 0"),
        ((1, -1, 1), (0.02, 0.6), "weights >= 0"),
        ((1, 1, 1), (0.5, 0.2), r"0 < min <= max < 1"),
        ((1, 1, 1), (0.0, 0.2), r"0 < min <= max < 1"),
    ],
)
def test_bad_settings_are_refused(weights, area, match) -> None:
    with pytest.raises(ConfigError, match=match):
        _mix(weights=weights, area=area)


def test_families_are_named_in_weight_order() -> None:
    assert FAMILIES == ("rect", "stroke", "blob")


def test_presets_select_the_mix_with_mask_kind_mix() -> None:
    from glcic.config import load_config
    from glcic.data.masks import build_mask_generator

    cfg = load_config("face64", ["mask.kind=mix", "mask.mix_weights=[0,1,2]", "mask.area=[0.05,0.4]"])
    gen = build_mask_generator(cfg.mask, cfg.data.size)
    assert isinstance(gen, MixMaskGenerator)
    assert gen.area == (0.05, 0.4) and np.allclose(gen.weights, [0, 1 / 3, 2 / 3])
    with pytest.raises(ConfigError, match=r"mask.area must be \[min, max\]"):
        load_config("face64", ["mask.kind=mix", "mask.area=[0.5,0.1]"])
