"""Strategies: which strategy ``auto`` picks, where ``crop`` looks, and that running any
strategy replaces hole pixels only (with a stand-in for the network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glcic.strategies import choose_strategy, complete_with_strategy, crop_regions

RES = 32  # the "training resolution" of these tests


def test_auto_strategy_rule() -> None:
    small = np.zeros((40, 40), bool)
    small[10:15, 10:15] = True
    assert choose_strategy(small, RES) == "original"  # short side <= 1.5 x 32
    big_img_small_holes = np.zeros((200, 300), bool)  # holes < 200 / 16 = 12.5 px
    big_img_small_holes[50:60, 100:110] = True
    big_img_small_holes[150:158, 250:262] = True
    assert choose_strategy(big_img_small_holes, RES) == "crop"
    big_img_small_holes[150:158, 250:263] = True  # 13 px: resize keeps it > 2 px
    assert choose_strategy(big_img_small_holes, RES) == "resize"
    big_img_big_hole = np.zeros((200, 300), bool)
    big_img_big_hole[20:140, 50:200] = True
    assert choose_strategy(big_img_big_hole, RES) == "resize"


def test_crop_regions_merge_close_holes_and_cover_them() -> None:
    hole = np.zeros((200, 300), bool)
    hole[50:60, 100:110] = True
    hole[62:70, 112:118] = True  # close to the first: one cluster
    hole[150:158, 250:260] = True  # far away (windows do not overlap): its own
    regions = crop_regions(hole, RES)
    assert len(regions) == 2
    covered = np.zeros_like(hole)
    for r in regions:
        assert r.height == r.width >= RES and 0 <= r.top <= 200 - r.height and 0 <= r.left <= 300 - r.width
        window = covered[r.top : r.top + r.height, r.left : r.left + r.width]
        assert not (window & r.paste).any()  # each hole pixel belongs to one cluster
        window |= r.paste
    np.testing.assert_array_equal(covered, hole)
    assert [r.hole_side for r in regions] == [20, 10]


@pytest.mark.parametrize("p", [0.998, 0.995])  # ~1000 and ~2400 one-pixel holes
def test_crop_regions_many_specks_few_windows(p: float) -> None:
    hole = np.random.default_rng(0).random((600, 800)) > p
    regions = crop_regions(hole, RES)
    assert len(regions) <= 4  # windows of specks overlap: merged, not one pass per speck
    assert sum(int(r.paste.sum()) for r in regions) == int(hole.sum())


def _stand_in(seen: list[tuple[int, int]]):
    """A network pass that paints the hole white and records the size it was shown."""

    def forward(x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        return torch.where(hole, torch.ones_like(x), x)

    return forward


@pytest.mark.parametrize("strategy", ["original", "resize", "crop"])
def test_every_strategy_replaces_only_hole_pixels(strategy: str) -> None:
    x = torch.rand(1, 3, 97, 130, generator=torch.Generator().manual_seed(0)) * 0.5  # (1, 3, H, W)
    hole = np.zeros((97, 130), bool)
    hole[40:48, 50:61] = True
    hole[0:5, 120:130] = True  # touches the border
    seen: list[tuple[int, int]] = []
    out = complete_with_strategy(_stand_in(seen), x, hole, strategy, RES)
    h = torch.from_numpy(hole)
    assert out.shape == x.shape and torch.equal(out[:, :, ~h], x[:, :, ~h])
    assert (out[:, :, h] > 0.5).all()  # every hole pixel was completed
    if strategy == "original":
        assert seen == [(97, 130)]
    elif strategy == "resize":
        assert seen == [(32, 43)]  # the short side at the training resolution
    else:
        assert len(seen) == 2 and all(min(s) >= RES for s in seen)  # one window per far-apart hole


def test_auto_runs_what_choose_strategy_picks() -> None:
    x = torch.rand(1, 3, 200, 300, generator=torch.Generator().manual_seed(1))
    hole = np.zeros((200, 300), bool)
    hole[50:60, 100:110] = True
    assert choose_strategy(hole, RES) == "crop"
    seen_auto: list[tuple[int, int]] = []
    seen_crop: list[tuple[int, int]] = []
    a = complete_with_strategy(_stand_in(seen_auto), x, hole, "auto", RES)
    c = complete_with_strategy(_stand_in(seen_crop), x, hole, "crop", RES)
    assert seen_auto == seen_crop and torch.equal(a, c)
