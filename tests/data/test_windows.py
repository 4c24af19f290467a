"""Tests for glcic.data.windows: the local discriminator's window and patch crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glcic.data.windows import crop_windows, random_window, window_around
from glcic.errors import ConfigError, InputError
from tests.data.conftest import seeded


@pytest.mark.parametrize("size", [(9, 9), (13, 21), (30, 7)])
def test_random_window_inside_image(size) -> None:
    rng = seeded(0)
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
