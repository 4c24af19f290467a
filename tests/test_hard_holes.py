"""Holes that stress the pipeline (issue 24's bad input): one pixel, thousands of specks, a
hole on every border, a hole over most of a large photo. Each completes, or says why not,
and every pixel farther than the blending seam from a hole stays exact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from glcic import postprocess
from glcic.pipeline import InpaintPipeline
from glcic.postprocess import DEFAULT_SEAM
from tests.test_pipeline import make_bundle


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> InpaintPipeline:
    return InpaintPipeline.from_pretrained(make_bundle(tmp_path_factory.mktemp("bundle")), precision="fp32")


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(40, 215, (h // 16 + 2, w // 16 + 2, 3), dtype=np.uint8), (w, h))
    return np.clip(base.astype(int) + rng.integers(-12, 13, (h, w, 3)), 0, 255).astype(np.uint8)


def _exact_outside_the_seam(out: np.ndarray, img: np.ndarray, hole: np.ndarray) -> bool:
    near = cv2.dilate(hole.astype(np.uint8), np.ones((2 * DEFAULT_SEAM + 1,) * 2, np.uint8)) > 0
    return np.array_equal(out[~near], img[~near])


def test_a_one_pixel_hole_is_filled_at_native_size(pipe: InpaintPipeline) -> None:
    img = _photo(300, 400)
    hole = np.zeros((300, 400), bool)
    hole[150, 200] = True
    res = pipe.run(img, hole)
    assert res.strategy == "tiles" and res.scale == 1.0
    assert _exact_outside_the_seam(res.image, img, hole)


def test_thousands_of_specks_complete_in_a_few_windows(pipe: InpaintPipeline) -> None:
    img = _photo(600, 800)
    rng = np.random.default_rng(1)
    hole = np.zeros((600, 800), bool)
    ys, xs = rng.integers(0, 599, 3000), rng.integers(0, 799, 3000)
    hole[ys, xs] = True
    hole[ys + 1, xs + 1] = True  # 2-pixel specks, some touching
    res = pipe.run(img, hole)
    assert res.strategy == "tiles" and res.scale == 1.0
    assert _exact_outside_the_seam(res.image, img, hole)
    assert not np.array_equal(res.image[hole], img[hole])


@pytest.mark.parametrize("strategy", ["auto", "refine"])
def test_a_hole_on_every_border(pipe: InpaintPipeline, strategy: str) -> None:
    img = _photo(240, 360)
    hole = np.zeros((240, 360), bool)
    hole[:, 150:190] = True  # a deep cross through the whole photo: all four borders
    hole[100:140, :] = True
    hole[:3, :] = hole[-3:, :] = True  # and a thin frame
    hole[:, :3] = hole[:, -3:] = True
    res = pipe.run(img, hole, strategy=strategy)
    assert res.image.shape == img.shape and res.image.dtype == np.uint8
    assert _exact_outside_the_seam(res.image, img, hole)


def test_a_hole_too_large_to_blend_is_pasted_and_said(pipe: InpaintPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    # The rule of a 40 MP photo with most of it hole, at a size a test can afford.
    monkeypatch.setattr(postprocess, "CLONE_MAX_BOX", 10_000)
    monkeypatch.setattr(postprocess, "SOLVE_MAX_HOLE", 20_000)
    img = _photo(240, 320)
    hole = np.ones((240, 320), bool)
    hole[:20, :20] = False  # most of the photo is hole; a corner is known
    with pytest.warns(UserWarning, match=r"a hole of 0.1 MP \(320x240 box\) is too large to blend within memory"):
        res = pipe.run(img, hole)
    unblended = pipe.run(img, hole, postprocess="none").image
    assert np.array_equal(res.image, unblended)  # pasted as the network made it


@pytest.mark.slow
def test_most_of_a_twelve_megapixel_photo(pipe: InpaintPipeline) -> None:
    h, w = 3024, 4032
    img = np.full((h, w, 3), 90, np.uint8)
    img[:, : w // 2] = 160
    hole = np.ones((h, w), bool)
    hole[:200, :] = False  # a strip of sky along the top is all that is known
    with pytest.warns(UserWarning, match=r"too large to blend within memory"):
        res = pipe.run(img, hole)
    assert res.strategy == "resize" and res.image.shape == img.shape
    assert np.array_equal(res.image[:197], img[:197])
