"""glcic.io.save: the format from the file ending, checked before any work; atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from glcic.errors import InputError
from glcic.io import check_save_path, load_image, save_image
from tests.io.conftest import rgb_array


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".webp"])
def test_save_lossless_roundtrip(tmp_path: Path, suffix: str) -> None:
    rgb = rgb_array()
    out = save_image(tmp_path / f"o{suffix}", rgb)
    np.testing.assert_array_equal(load_image(out).rgb, rgb)
    assert [p.name for p in tmp_path.iterdir()] == [f"o{suffix}"]  # no temp files left


def test_save_alpha_gray_and_jpeg(tmp_path: Path) -> None:
    rgb, a = rgb_array(), rgb_array(seed=3)[:, :, 0]
    loaded = load_image(save_image(tmp_path / "o.png", rgb, a))
    np.testing.assert_array_equal(loaded.rgb, rgb)
    np.testing.assert_array_equal(loaded.alpha, a)
    np.testing.assert_array_equal(load_image(save_image(tmp_path / "g.png", rgb[:, :, 0])).rgb[:, :, 0], rgb[:, :, 0])
    assert load_image(save_image(tmp_path / "o.JPG", rgb)).size == (32, 24)
    with pytest.raises(InputError, match=r"o2\.jpg: JPEG cannot store the image's transparency"):
        save_image(tmp_path / "o2.jpg", rgb, a)


def test_save_errors_come_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot tell the output format from 'o\.tga'; end the file name with one of \.png"):
        save_image(tmp_path / "o.tga", rgb_array())
    with pytest.raises(InputError, match="the folder .*nowhere does not exist; create it first"):
        save_image(tmp_path / "nowhere" / "o.png", rgb_array())
    (tmp_path / "d.png").mkdir()
    with pytest.raises(InputError, match="is a folder; give a file name"):
        check_save_path(tmp_path / "d.png")
    with pytest.raises(InputError, match=r"save_image takes an \(H, W, 3\) RGB or \(H, W\) gray array"):
        save_image(tmp_path / "o.png", np.zeros((4, 4, 2), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png"]
