"""Native detail for deep holes (glcic.refine, strategy ``refine``): known pixels exact, the
fill's low band kept, the photo's own texture added, nothing done where it is not needed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from glcic.metrics import hole_detail
from glcic.refine import MIN_SCALE_GAP, add_detail, detail_sigma, refine, window
from glcic.strategies import complete_with_strategy


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A photo-like texture: smooth colour plus fine detail, float32 (h, w, 3) in [0, 1]."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.uniform(0.2, 0.8, (h // 32 + 1, w // 32 + 1, 3)).astype(np.float32), (w, h))
    fine = cv2.GaussianBlur(rng.normal(0, 0.08, (h, w, 3)).astype(np.float32), (0, 0), 0.8)
    return np.clip(base + fine, 0, 1)


def _blob(h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    cv2.circle(hole.view(np.uint8), (w // 2, h // 2), min(h, w) // 6, 1, -1)
    return hole


def test_add_detail_keeps_known_pixels_and_the_low_band_and_adds_texture() -> None:
    photo = _texture(256, 320)
    hole = _blob(256, 320)
    scale = 0.1
    smooth = cv2.GaussianBlur(photo, (0, 0), 2 * detail_sigma(scale))  # what an upscaled fill looks like
    filled = np.where(hole[:, :, None], smooth, photo)
    out = add_detail(photo, filled, hole, scale)
    assert out.dtype == np.float32 and out.shape == photo.shape
    assert np.array_equal(out[~hole], filled[~hole])  # known pixels bit for bit
    assert hole_detail(filled, photo, hole) < 0.3 < 0.6 < hole_detail(out, photo, hole) < 1.5
    # The fill's low band is kept: the change inside the hole is high-frequency only.
    s = detail_sigma(scale)
    low_in, low_out = (cv2.GaussianBlur(a, (0, 0), 2 * s) for a in (filled, out))
    inner = cv2.erode(hole.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert np.abs(low_out - low_in)[inner].mean() < 0.02


def test_add_detail_copies_the_photo_s_own_pixels() -> None:
    # A photo of two flat colours with fine stripes on the left only: the hole's left half
    # (guided there by the fill's colour) gets stripes, its right half stays flat.
    photo = np.zeros((200, 400, 3), np.float32)
    photo[:, :200] = 0.3
    photo[:, :200:4] += 0.2  # 1 px stripes every 4 px
    photo[:, 200:] = 0.7
    hole = np.zeros((200, 400), bool)
    hole[70:130, 150:250] = True
    filled = np.where(hole[:, :, None], cv2.GaussianBlur(photo, (0, 0), 6), photo)
    out = add_detail(photo, filled, hole, 0.1)
    left, right = out[80:120, 160:190, 0], out[80:120, 215:240, 0]
    assert left.std() > 0.05 and right.std() < 0.01


@pytest.mark.parametrize("scale", [MIN_SCALE_GAP, 1.0])
def test_add_detail_leaves_fills_made_near_native_scale(scale: float) -> None:
    photo = _texture(128, 128)
    hole = _blob(128, 128)
    assert add_detail(photo, photo, hole, scale) is photo


def test_refine_works_in_a_window_and_only_in_the_hole() -> None:
    x = torch.from_numpy(_texture(300, 500)).permute(2, 0, 1)[None].contiguous()
    hole = np.zeros((300, 500), bool)
    hole[40:80, 60:100] = True
    rows, cols = window(hole)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (0, 176, 0, 196)  # the box grown by 96 (4 patches)
    y = x.clone()
    y[:, :, 40:80, 60:100] = 0.5
    before = y.clone()
    out = refine(x, y, hole, 0.1)
    h = torch.from_numpy(hole)
    assert torch.equal(out[:, :, ~h], before[:, :, ~h]) and not torch.equal(out[:, :, h], before[:, :, h])


def test_strategy_refine_adds_detail_to_deep_holes_only() -> None:
    x = torch.from_numpy(_texture(256, 384)).permute(2, 0, 1)[None].contiguous()
    hole = _blob(256, 384)
    hole[20:22, 10:370] = True  # a thin stroke too: native windows, no detail pass

    def forward(img: torch.Tensor, m: torch.Tensor) -> torch.Tensor:  # a smooth stand-in fill
        return torch.where(m, torch.full_like(img, 0.5), img)

    auto, used_auto = complete_with_strategy(forward, x, hole, "auto", 32)
    out, used = complete_with_strategy(forward, x, hole, "refine", 32)
    assert used.strategy == used_auto.strategy + "+detail" and used.scale == used_auto.scale < MIN_SCALE_GAP
    h = torch.from_numpy(hole)
    assert torch.equal(out[:, :, ~h], x[:, :, ~h])
    assert torch.equal(out[:, :, 20:22, 10:370], auto[:, :, 20:22, 10:370])  # the stroke as auto left it
    assert (out[:, :, h] - auto[:, :, h]).abs().max() > 0.05


def test_a_patch_s_features_are_its_cells_means() -> None:
    """The search reads each patch as the means of its CELLS x CELLS cells (``_features``, from
    ``_cell_image``); the coherence pass costs a patch from the same image."""
    from glcic.refine import CELLS, PATCH, _cell_image, _features

    rng = np.random.default_rng(0)
    image = rng.random((60, 70, 4), dtype=np.float32)
    cells = _cell_image(image)
    tops, lefts = np.array([0, 7, 60 - PATCH]), np.array([0, 13, 70 - PATCH])
    feats = _features(cells, tops, lefts).numpy().reshape(3, CELLS, CELLS, 4)
    c = PATCH // CELLS
    for n, (a, b) in enumerate(zip(tops, lefts, strict=True)):
        want = image[a : a + PATCH, b : b + PATCH].reshape(CELLS, c, CELLS, c, 4).mean(axis=(1, 3))
        np.testing.assert_allclose(feats[n], want, rtol=1e-5, atol=1e-6)


def test_add_detail_paints_only_the_hole_where_the_hole_touches_the_border() -> None:
    """The painted box reaches the image's edge: still only the hole changes."""
    rng = np.random.default_rng(1)
    photo = (0.5 + 0.2 * rng.standard_normal((96, 120, 3))).clip(0, 1).astype(np.float32)
    hole = np.zeros((96, 120), bool)
    hole[:30, 90:] = True  # the top-right corner
    filled = photo.copy()
    filled[hole] = 0.5
    out = add_detail(photo, filled, hole, 0.1)
    assert np.array_equal(out[~hole], filled[~hole])
    assert hole_detail(out, photo, hole) > hole_detail(filled, photo, hole)


def test_a_wide_low_band_taken_small_matches_the_full_size_one_and_ignores_the_hole() -> None:
    """``_low`` takes a Gaussian of sigma >= LOW_RES_SIGMA on a shrunk copy: close to the full-size
    blur (its band holds nothing the copy loses), and still blind to the hole's content."""
    from glcic.refine import LOW_RES_SIGMA, _low

    rng = np.random.default_rng(2)
    a = rng.random((200, 260, 3), dtype=np.float32)
    sigma = 2.5 * LOW_RES_SIGMA
    full = cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    small = _low(a, None, sigma)
    assert small.shape == a.shape
    assert np.abs(small - full)[20:-20, 20:-20].max() < 0.01  # away from the border's reflection
    known = np.ones((200, 260), bool)
    known[60:140, 80:180] = False
    b = a.copy()
    b[~known] = rng.random((int((~known).sum()), 3), dtype=np.float32) * 10  # anything in the hole
    np.testing.assert_allclose(_low(a, known, sigma), _low(b, known, sigma), atol=1e-5)
