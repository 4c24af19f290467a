"""Strategies: which strategy ``auto`` picks, where ``crop`` looks, and that running any
strategy replaces hole pixels only (with a stand-in for the network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glcic.strategies import Used, complete_with_strategy, split_by_depth

RES = 32  # the "training resolution" of these tests


def test_auto_splits_holes_by_depth_not_by_box() -> None:
    hole = np.zeros((400, 600), bool)
    hole[100:103, 20:580] = True  # a 3 px stroke across the image: a huge box, 2 px deep
    hole[200:300, 250:350] = True  # a 100 px square: 50 px deep
    (thin,), deep = split_by_depth(hole, RES)  # thin: at most 32 / 16 = 2 px deep
    assert thin.sum() == 3 * 560 and deep.sum() == 100 * 100
    assert not (thin & deep).any() and np.array_equal(thin | deep, hole)


def test_split_by_depth_sorts_wider_strokes_into_coarser_levels() -> None:
    hole = np.zeros((400, 600), bool)
    hole[50:53, 20:580] = True  # 3 px: native (depth 2 = T)
    hole[100:106, 20:580] = True  # 6 px: half size (depth 3 <= 2 T)
    hole[150:160, 20:580] = True  # 10 px: quarter size (depth 5 <= 4 T)
    hole[200:300, 250:350] = True  # 100 px: deep at every level
    thin, deep = split_by_depth(hole, RES, levels=3)
    assert [int(t[:, 100:500].sum()) for t in thin] == [3 * 400, 6 * 400, 10 * 400]
    assert deep[200:300, 250:350].all() and not deep[:190].any()
    assert np.array_equal(thin[0] | thin[1] | thin[2] | deep, hole)
    assert sum(t.astype(int) for t in thin).max() == 1 and not (deep & (thin[0] | thin[1] | thin[2])).any()


def test_auto_completes_a_wide_stroke_at_half_size_not_by_resize() -> None:
    x = torch.rand(1, 3, 300, 400, generator=torch.Generator().manual_seed(0)) * 0.5
    hole = np.zeros((300, 400), bool)
    hole[150:156, 10:390] = True  # 6 px: too deep for native windows (T = 2), thin at 1/2
    seen: list[tuple[int, int]] = []
    out, used = complete_with_strategy(_stand_in(seen), x, hole, "auto", RES)
    assert used == Used("tiles", 0.5)
    assert seen and all(s == (32, 32) for s in seen)  # windows on the half-size image
    h = torch.from_numpy(hole)
    assert torch.equal(out[:, :, ~h], x[:, :, ~h]) and (out[:, :, h] > 0.5).all()


def test_auto_covers_a_thin_stroke_with_native_windows_along_it() -> None:
    x = torch.rand(1, 3, 200, 300, generator=torch.Generator().manual_seed(0)) * 0.5
    hole = np.zeros((200, 300), bool)
    hole[100:103, 10:290] = True  # 3 px high, 280 px long
    seen: list[tuple[int, int]] = []
    out, used = complete_with_strategy(_stand_in(seen), x, hole, "auto", RES)
    assert used == Used("tiles", 1.0)
    # Windows of the training size (32), native pixels, one per 24 px tile the stroke crosses
    # (13 tiles, columns 0-311; nothing elsewhere), run 8 at a time: two calls.
    assert seen == [(32, 32), (32, 32)]
    h = torch.from_numpy(hole)
    assert torch.equal(out[:, :, ~h], x[:, :, ~h]) and (out[:, :, h] > 0.5).all()


def test_auto_completes_deep_holes_at_the_training_scale_after_thin_ones() -> None:
    small = np.zeros((40, 40), bool)
    small[10:25, 10:25] = True
    seen: list[tuple[int, int]] = []
    assert complete_with_strategy(_stand_in(seen), torch.rand(1, 3, 40, 40), small, "auto", RES)[1] == Used("original", 1.0)
    assert seen == [(40, 40)]
    big = np.zeros((200, 300), bool)
    big[20:140, 50:200] = True  # deep and large: resize
    big[180:182, 10:290] = True  # and a thin stroke: native windows first
    seen = []
    x = torch.rand(1, 3, 200, 300)
    out, used = complete_with_strategy(_stand_in(seen), x, big, "auto", RES)
    assert used == Used("tiles+resize", 0.16) and seen[-1] == (32, 48) and set(seen[:-1]) == {(32, 32)}
    h = torch.from_numpy(big)
    assert torch.equal(out[:, :, ~h], x[:, :, ~h]) and (out[:, :, h] > 0.5).all()
    specks = np.zeros((200, 300), bool)
    specks[50:60, 100:110] = True  # deep (5 px) but small: crop
    assert complete_with_strategy(_stand_in([]), x, specks, "auto", RES)[1].strategy == "crop"


def test_original_warns_above_the_training_size() -> None:
    hole = np.zeros((100, 100), bool)
    hole[40:50, 40:50] = True
    with pytest.warns(UserWarning, match=r"'original' .* 100x100 .* checkerboard garbage; use strategy 'auto'"):
        complete_with_strategy(_stand_in([]), torch.rand(1, 3, 100, 100), hole, "original", RES)


def _stand_in(seen: list[tuple[int, int]]):
    """A network pass that paints the hole white and records the size it was shown."""

    def forward(x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        return torch.where(hole, torch.ones_like(x), x)

    return forward


@pytest.mark.filterwarnings("ignore:strategy 'original'")
@pytest.mark.parametrize("strategy", ["original", "resize", "crop"])
def test_every_strategy_replaces_only_hole_pixels(strategy: str) -> None:
    x = torch.rand(1, 3, 97, 130, generator=torch.Generator().manual_seed(0)) * 0.5  # (1, 3, H, W)
    hole = np.zeros((97, 130), bool)
    hole[40:48, 50:61] = True
    hole[0:5, 120:130] = True  # touches the border
    seen: list[tuple[int, int]] = []
    out, used = complete_with_strategy(_stand_in(seen), x, hole, strategy, RES)
    assert used.strategy == strategy
    h = torch.from_numpy(hole)
    assert out.shape == x.shape and torch.equal(out[:, :, ~h], x[:, :, ~h])
    assert (out[:, :, h] > 0.5).all()  # every hole pixel was completed
    if strategy == "original":
        assert seen == [(97, 130)]
    elif strategy == "resize":
        assert seen == [(32, 43)]  # the short side at the training resolution
    else:
        assert len(seen) == 2 and all(min(s) >= RES for s in seen)  # one window per far-apart hole
