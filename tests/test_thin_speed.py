"""Thin holes made cheap (glcic/thin.py, issue 24): the greedy windows, the one pre-fill
solve per image, the knots filled at native size, the pointwise upscaled paste. Each is
pinned against what it replaced: the same fill within a tolerance, fewer windows, known
pixels exact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from glcic.classical import inpaint_biharmonic
from glcic.pipeline import InpaintPipeline
from glcic.prefill import solve_biharmonic
from glcic.strategies import paste_upscaled, split_by_depth
from glcic.thin import THIN_TILE, place_tiles, windowed_forward
from tests.tiny_pipes import RES, tiny_residual_pipe


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(40, 215, (h // 16 + 2, w // 16 + 2, 3), dtype=np.uint8), (w, h))
    return np.clip(base.astype(int) + rng.integers(-12, 13, (h, w, 3)), 0, 255).astype(np.uint8)


def _wires(h: int, w: int, width: int = 3, seed: int = 0) -> np.ndarray:
    """A few crossing straight wires, some reaching the border: ``bool`` (h, w)."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for _ in range(4):
        p = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        q = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(m, p, q, 1, width)
    return m > 0


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> InpaintPipeline:
    """A tiny random network pre-filled like the shipped ones (biharmonic, residual)."""
    return tiny_residual_pipe(tmp_path_factory.mktemp("bundle"))


# --------------------------------------------------------------------------- pre-fill


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_fast_biharmonic_solve_is_scikit_images_fill(seed: int) -> None:
    img = _photo(70, 93, seed)
    hole = _wires(70, 93, width=int(2 + seed), seed=seed)
    hole[0:3, 10:40] = True  # on the border: scikit-image's truncated stencils
    ours, theirs = solve_biharmonic(img, hole), inpaint_biharmonic(img, hole)
    assert np.abs(ours.astype(int) - theirs).max() <= 1
    assert (ours != theirs).mean() < 1e-3  # the same to rounding
    assert np.array_equal(ours[~hole], img[~hole])


def test_excluded_pixels_are_never_read_and_a_part_that_reaches_nothing_gets_the_mean() -> None:
    img = _photo(60, 80)
    hole = np.zeros((60, 80), bool)
    hole[30:33, 5:75] = True  # a wire
    exclude = np.zeros((60, 80), bool)
    exclude[20:30, 30:50] = True  # a blob beside it, no one's business
    island = np.zeros((60, 80), bool)
    island[8:10, 8:10] = True  # inside its own excluded ring: reaches no known pixel
    ring = cv2.dilate(island.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    exclude |= ring & ~island
    a = solve_biharmonic(img, hole | island, exclude)
    other = img.copy()
    other[exclude] = 255 - other[exclude]  # what the excluded pixels hold changes nothing
    b = solve_biharmonic(other, hole | island, exclude)
    assert np.array_equal(a[hole | island], b[hole | island])
    known = ~(hole | island | exclude)
    assert np.abs(a[island].astype(float) - img[known].mean(axis=0)).max() <= 1


# --------------------------------------------------------------------------- windows


def test_greedy_tiles_cover_every_pixel_once_with_fewer_tiles_than_a_grid() -> None:
    todo = np.zeros((400, 600), bool)
    cv2.line(todo.view(np.uint8), (0, 10), (599, 390), 1, 3)  # diagonal
    cv2.line(todo.view(np.uint8), (0, 200), (599, 203), 1, 3)  # along a grid line
    tile = 24
    tiles = place_tiles(todo, tile)
    seen = np.zeros(todo.shape, int)
    for top, left, ys, xs in tiles:
        assert 0 <= top <= 400 - tile and 0 <= left <= 600 - tile
        assert ((ys >= top) & (ys < top + tile) & (xs >= left) & (xs < left + tile)).all()
        seen[ys, xs] += 1
    assert np.array_equal(seen, todo.astype(int))  # every pixel once, nothing else
    grid = sum(todo[y : y + tile, x : x + tile].any() for y in range(0, 400, tile) for x in range(0, 600, tile))
    assert len(tiles) < 0.75 * grid


def test_windows_count_drops_and_the_fill_is_the_per_window_one(pipe: InpaintPipeline) -> None:
    """The greedy windows cut from one pre-filled image against the grid of windows each
    pre-filling itself (the code before): fewer network windows, the same fill within a
    few 8-bit levels on the tiny random network, known pixels exact."""
    img = _photo(200, 300)
    hole = _wires(200, 300, width=2)
    (thin,), _ = split_by_depth(hole, RES)  # the knots stay holes, not targets
    assert thin.sum() > 0.9 * hole.sum()
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255  # (1, 3, H, W)
    h = torch.from_numpy(hole)[None, None]
    t = torch.from_numpy(thin)[None, None]
    calls: list[int] = []

    def counted(xb: torch.Tensor, hb: torch.Tensor, **kw) -> torch.Tensor:
        calls.append(xb.shape[0])
        return pipe._forward(xb, hb, **kw)

    new, kind = windowed_forward(counted, x, h, t, RES, prefill=pipe._prefill_image)
    n_new = sum(calls)
    old = _grid_windows(pipe._forward, x, h, t, RES)
    tile = round(THIN_TILE * RES)
    n_old = sum(thin[y : y + tile, x0 : x0 + tile].any() for y in range(0, 200, tile) for x0 in range(0, 300, tile))
    assert kind == "tiles" and n_new < 0.8 * n_old
    assert torch.equal(new[:, :, ~t[0, 0]], x[:, :, ~t[0, 0]])  # known pixels (and the knots) exact
    diff = (new - old).abs()[:, :, t[0, 0]] * 255  # (1, 3, n) in 8-bit levels
    assert diff.mean() < 2 and diff.max() < 40


def _grid_windows(forward, x: torch.Tensor, hole: torch.Tensor, target: torch.Tensor, resolution: int) -> torch.Tensor:
    """The windows before glcic/thin.py: a fixed grid of tiles, each window pre-filled alone."""
    h, w = x.shape[-2:]
    out = x.clone()
    tile = round(THIN_TILE * resolution)
    todo = target[0, 0].numpy()
    for ty in range(0, h, tile):
        for tx in range(0, w, tile):
            if not todo[ty : ty + tile, tx : tx + tile].any():
                continue
            top = int(np.clip(ty + tile // 2 - resolution // 2, 0, h - resolution))
            lft = int(np.clip(tx + tile // 2 - resolution // 2, 0, w - resolution))
            win = (slice(None), slice(None), slice(top, top + resolution), slice(lft, lft + resolution))
            y = forward(x[win], hole[win])
            keep = torch.zeros_like(hole)
            keep[:, :, ty : ty + tile, tx : tx + tile] = target[:, :, ty : ty + tile, tx : tx + tile]
            out[win] = torch.where(keep[win], y, out[win])
    return out


def test_a_thin_stroke_through_the_pipeline_keeps_known_pixels_and_fills_at_native_size(pipe: InpaintPipeline) -> None:
    img = _photo(240, 320, seed=3)
    hole = _wires(240, 320, width=3, seed=3)
    res = pipe.run(img, hole, postprocess="none")
    assert res.strategy == "tiles"
    assert np.array_equal(res.image[~hole], img[~hole])
    assert not np.array_equal(res.image[hole], img[hole])


# --------------------------------------------------------------------------- levels


def test_a_knot_where_wires_cross_is_filled_with_the_native_windows() -> None:
    hole = np.zeros((300, 400), bool)
    hole[150:153, 10:390] = True  # 3 px wires: native (T = 2)
    hole[10:290, 200:203] = True
    hole[149:154, 199:204] = True  # the knot: 5 px, depth 3 > T (level 1), <= 2 T: back to level 0
    hole[100:106, 20:60] = True  # a 6 px stroke alone (depth 3): stays at half size
    thin, deep = split_by_depth(hole, RES, levels=2)
    assert thin[0][149:154, 199:204].all()  # the knot joined its wires
    assert not thin[0][100:106, 20:60].any() and thin[1][100:106, 20:60].all()
    assert not deep.any() and np.array_equal(thin[0] | thin[1], hole) and not (thin[0] & thin[1]).any()


def test_paste_upscaled_is_bicubic_scaling_of_the_whole_image_at_the_hole() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 90, 121, generator=g)
    small = torch.rand(1, 3, 45, 60, generator=g)
    hole = torch.rand(1, 1, 90, 121, generator=g) > 0.9
    out = paste_upscaled(small, x, hole)
    up = F.interpolate(small, size=(90, 121), mode="bicubic", align_corners=False).clamp(0, 1)
    assert torch.equal(out[:, :, ~hole[0, 0]], x[:, :, ~hole[0, 0]])
    assert torch.allclose(out[:, :, hole[0, 0]], up[:, :, hole[0, 0]], atol=1e-5)


def test_windows_beside_a_big_hole_prefill_each_window_not_the_whole_hole(pipe: InpaintPipeline) -> None:
    """A wire along a blob: the windows show more of the blob than of the wire, whose one
    banded solve would cost far more than a piece per window; each window pre-fills itself."""
    img = _photo(200, 300)
    hole = np.zeros((200, 300), bool)
    hole[100:102, 10:290] = True  # the wire (target)
    hole[104:180, 40:260] = True  # a blob 2 px below it
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    h = torch.from_numpy(hole)[None, None]
    t = torch.zeros_like(h)
    t[:, :, 100:102] = h[:, :, 100:102]
    asked: list[int] = []

    def prefill(xi: torch.Tensor, hi: torch.Tensor, near: torch.Tensor) -> torch.Tensor:
        asked.append(int(near.sum()))
        return pipe._prefill_image(xi, hi, near)

    out, _ = windowed_forward(pipe._forward, x, h, t, RES, prefill=prefill)
    assert asked == []
    assert torch.equal(out[:, :, ~t[0, 0]], x[:, :, ~t[0, 0]])
    hole[104:180, 40:260] = False  # the wire alone: one solve
    windowed_forward(pipe._forward, x, torch.from_numpy(hole)[None, None], t, RES, prefill=prefill)
    assert len(asked) == 1
