"""glcic.evaluation.grid: the comparison picture."""

from __future__ import annotations

import pytest
from PIL import Image

from glcic.errors import InputError
from glcic.evaluation import grid_size
from tests.evaluation.conftest import run_eval


def test_grid_is_written_with_the_right_size(bundle, image_dir, tmp_path):
    out = tmp_path / "grid.png"
    run_eval(bundle, image_dir, limit=3, grid=out)
    with Image.open(out) as im:
        assert im.mode == "RGB"
        assert im.size == grid_size(3, 4, 32)  # input, telea, mean, ground truth
    assert grid_size(3, 4, 32) == (4 * 32 + 5 * 2, 14 + 3 * 32 + 4 * 2)


def test_grid_folder_must_exist(bundle, image_dir, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        run_eval(bundle, image_dir, limit=1, grid=tmp_path / "nope" / "grid.png")

