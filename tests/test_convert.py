"""uint8 <-> float conversions (glcic/convert.py)."""

import numpy as np
import pytest
import torch

from glcic.convert import to_tensor, to_uint8
from glcic.errors import InputError


def _asymmetric(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_to_tensor_to_uint8_round_trip(value_range: tuple[float, float]) -> None:
    img = _asymmetric(5, 7)
    x = to_tensor(img, value_range)
    assert x.shape == (3, 5, 7) and x.dtype == torch.float32
    assert x.min() >= value_range[0] and x.max() <= value_range[1]
    np.testing.assert_array_equal(to_uint8(x, value_range), img)
    batch = to_uint8(torch.stack([x, x]) + 5.0, value_range)  # overshoot is clamped
    assert batch.shape == (2, 5, 7, 3) and (batch == 255).all()


def test_bad_value_range_is_refused() -> None:
    with pytest.raises(InputError, match=r"value_range must be \(0, 1\) or \(-1, 1\)"):
        to_tensor(_asymmetric(2, 2), (0, 255))
