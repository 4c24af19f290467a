"""Tests for glcic.data.preprocess: centre crop and resize to a square."""

from __future__ import annotations

import numpy as np
import pytest

from glcic.data.preprocess import center_crop_square, preprocess
from glcic.errors import InputError
from tests.data.conftest import random_rgb


def test_center_crop_and_preprocess_shapes() -> None:
    img = np.zeros((30, 50, 3), np.uint8)
    img[:, 10:40] = 200  # the centred 30x30 square
    sq = center_crop_square(img)
    assert sq.shape == (30, 30, 3) and (sq == 200).all()
    for src, size in (((30, 50), 16), ((50, 30), 16), ((7, 9), 24)):  # shrink and upscale
        out = preprocess(random_rgb(*src), size)
        assert out.shape == (size, size, 3) and out.dtype == np.uint8
    flat = preprocess(np.full((9, 7, 3), 77, np.uint8), 32)  # upscaled, still flat
    assert (flat == 77).all()
    with pytest.raises(InputError, match=r"uint8 RGB array of shape \(H, W, 3\); got float64"):
        preprocess(np.zeros((8, 8, 3)), 4)
