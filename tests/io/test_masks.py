"""glcic.io.masks: the hole rules (non-zero / white = hole), sizes and resizing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.errors import InputError
from glcic.io import MASK_RULE, load_mask, mask_size_error


def test_mask_rules(tmp_path: Path) -> None:
    m = np.zeros((10, 12), np.uint8)
    m[2:5, 3:7] = 255
    m[8, 11] = 1  # any non-zero value is a hole
    Image.fromarray(m).save(tmp_path / "m.png")
    hole = load_mask(tmp_path / "m.png")
    np.testing.assert_array_equal(hole, m > 0)
    Image.fromarray(m > 0).save(tmp_path / "m1.png")  # mode "1"
    np.testing.assert_array_equal(load_mask(tmp_path / "m1.png"), m > 0)
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[m > 0] = (0, 0, 9)
    np.testing.assert_array_equal(load_mask(Image.fromarray(rgb)), m > 0)
    # Strokes painted on a transparent layer: uniform colour, alpha decides.
    rgba = np.full((10, 12, 4), 255, np.uint8)
    rgba[:, :, 3] = m
    np.testing.assert_array_equal(load_mask(Image.fromarray(rgba)), m > 0)
    np.testing.assert_array_equal(load_mask(rgba), m > 0)
    # An opaque black/white RGBA mask: colour decides.
    rgba = np.dstack([np.repeat(m[:, :, None], 3, axis=2), np.full((10, 12), 255, np.uint8)])
    np.testing.assert_array_equal(load_mask(Image.fromarray(rgba)), m > 0)
    # Arrays and tensors.
    np.testing.assert_array_equal(load_mask(m > 0), m > 0)
    np.testing.assert_array_equal(load_mask(torch.from_numpy(m)[None, None].float()), m > 0)
    with pytest.raises(InputError, match="mask array must have shape"):
        load_mask(np.zeros((2, 10, 12)))


def test_mask_size_mismatch_and_resize(tmp_path: Path) -> None:
    m = np.zeros((10, 12), np.uint8)
    m[:5] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    with pytest.raises(InputError, match=r"mask is 12x10 but image is 24x20; pass --resize-mask .* nearest neighbour"):
        load_mask(tmp_path / "m.png", size=(24, 20))
    hole = load_mask(tmp_path / "m.png", size=(24, 20), resize=True)
    assert hole.shape == (20, 24) and hole[:10].all() and not hole[10:].any()
    assert load_mask(tmp_path / "m.png", size=(12, 10)).shape == (10, 12)


def test_bad_mask_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_mask(tmp_path / "missing.png")
    (tmp_path / "m.png").write_text("no")
    with pytest.raises(InputError, match="not an image glcic can read"):
        load_mask(tmp_path / "m.png")


def test_jpeg_masks_use_a_threshold(tmp_path: Path) -> None:
    """JPEG noise makes black pixels a little grey: not a hole (issue 13)."""
    m = np.zeros((64, 64), np.uint8)
    m[20:40, 20:40] = 255
    Image.fromarray(m).save(tmp_path / "m.jpg", quality=60)
    noisy = np.asarray(Image.open(tmp_path / "m.jpg"))
    assert (noisy != 0).sum() > m.astype(bool).sum()  # "non-zero" would grow the hole
    np.testing.assert_array_equal(load_mask(tmp_path / "m.jpg"), m > 0)
    assert load_mask(tmp_path / "m.jpg", threshold=0).sum() == (noisy != 0).sum()
    # Lossless masks keep "non-zero = hole" (soft edges count) unless a threshold is given.
    soft = m.copy()
    soft[19, 20:40] = 40
    Image.fromarray(soft).save(tmp_path / "soft.png")
    assert load_mask(tmp_path / "soft.png").sum() == 420
    assert load_mask(tmp_path / "soft.png", threshold=127).sum() == 400
    assert load_mask(soft, threshold=127).sum() == 400
    assert load_mask(soft.astype(np.float32) / 255, threshold=127).sum() == 400
    with pytest.raises(InputError, match=r"mask threshold must be an integer in 0-254 .*; got 255"):
        load_mask(soft, threshold=255)


def _strokes(h: int = 30, w: int = 40) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    hole[5:9, 3:30] = True  # a stroke
    hole[12:25, 20:24] = True  # another
    return hole


def test_red_strokes_on_a_transparent_white_layer(tmp_path: Path) -> None:
    """Issue 23, row 5: an editor's layer (white, transparent) with red strokes painted on it
    was read by colour: every pixel non-zero, "the mask covers the whole image"."""
    hole = _strokes()
    layer = np.zeros((30, 40, 4), np.uint8)
    layer[:, :, :3] = 255  # transparent white
    layer[hole] = (220, 20, 30, 255)  # opaque red strokes
    layer[4, 3:30, :] = (220, 20, 30, 90)  # a soft, anti-aliased edge counts as hole
    Image.fromarray(layer).save(tmp_path / "layer.png")
    expected = hole.copy()
    expected[4, 3:30] = True
    np.testing.assert_array_equal(load_mask(tmp_path / "layer.png"), expected)
    np.testing.assert_array_equal(load_mask(layer), expected)  # arrays follow the same rule
    assert load_mask(tmp_path / "layer.png", threshold=127).sum() == hole.sum()  # the threshold applies to alpha
    # The same strokes in WebP, gray + alpha, and a palette with a transparent index.
    Image.fromarray(layer).save(tmp_path / "layer.webp", lossless=True)
    np.testing.assert_array_equal(load_mask(tmp_path / "layer.webp"), expected)
    la = np.dstack([np.full((30, 40), 200, np.uint8), np.where(hole, 255, 0).astype(np.uint8)])
    np.testing.assert_array_equal(load_mask(Image.fromarray(la)), hole)
    pal = Image.fromarray(hole.astype(np.uint8)).convert("P")
    pal.info["transparency"] = 0
    np.testing.assert_array_equal(load_mask(pal), hole)


def test_opaque_rgba_mask_is_read_by_colour_and_transparent_one_is_refused(tmp_path: Path) -> None:
    hole = _strokes()
    opaque = np.dstack([np.repeat((hole * 255).astype(np.uint8)[:, :, None], 3, axis=2), np.full((30, 40), 255, np.uint8)])
    np.testing.assert_array_equal(load_mask(Image.fromarray(opaque)), hole)
    empty = opaque.copy()
    empty[:, :, 3] = 0  # an exported layer with nothing painted on it
    Image.fromarray(empty).save(tmp_path / "nothing.png")
    with pytest.raises(InputError, match=r"mask .*nothing\.png is transparent everywhere \(alpha 0\): nothing is painted"):
        load_mask(tmp_path / "nothing.png")
    with pytest.raises(InputError, match=r"mask array is transparent everywhere"):
        load_mask(empty)


def test_size_error_names_exif_rotation_when_the_turned_size_fits(tmp_path: Path) -> None:
    """Issue 23, row 6: a mask drawn on a phone photo's stored pixels (40x30) while the
    photo shows upright as 30x40."""
    Image.fromarray(_strokes().astype(np.uint8) * 255).save(tmp_path / "m.png")  # 40x30
    with pytest.raises(InputError, match=r"mask is 40x30 but image is 30x40 as viewers show it: .* EXIF rotation .*"
                       r"draw the mask on the upright image"):
        load_mask(tmp_path / "m.png", size=(30, 40))
    assert "--resize-mask" not in mask_size_error((40, 30), (30, 40))  # stretching would be wrong
    assert mask_size_error((40, 30), (40, 40), "fix it") == "mask is 40x30 but image is 40x40; fix it"
    assert MASK_RULE.startswith("Mask: white / non-zero = hole") and "alpha" in MASK_RULE
