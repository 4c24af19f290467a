"""The ``crop`` strategy's windows (:mod:`glcic.crop`): clusters of nearby holes, one window each."""

from __future__ import annotations

import numpy as np
import pytest

from glcic.crop import crop_regions

RES = 32  # the "training resolution" of these tests


def test_crop_regions_merge_close_holes_and_cover_them() -> None:
    hole = np.zeros((200, 300), bool)
    hole[50:60, 100:110] = True
    hole[62:70, 112:118] = True  # close to the first: one cluster
    hole[150:158, 250:260] = True  # far away (windows do not overlap): its own
    regions = crop_regions(hole, RES)
    assert len(regions) == 2
    covered = np.zeros_like(hole)
    for r in regions:
        assert r.height == r.width >= RES and 0 <= r.top <= 200 - r.height and 0 <= r.left <= 300 - r.width
        window = covered[r.top : r.top + r.height, r.left : r.left + r.width]
        assert not (window & r.paste).any()  # each hole pixel belongs to one cluster
        window |= r.paste
    np.testing.assert_array_equal(covered, hole)
    assert [r.hole_side for r in regions] == [20, 10]


@pytest.mark.parametrize("p", [0.998, 0.995])  # ~1000 and ~2400 one-pixel holes
def test_crop_regions_many_specks_few_windows(p: float) -> None:
    hole = np.random.default_rng(0).random((600, 800)) > p
    regions = crop_regions(hole, RES)
    assert len(regions) <= 4  # windows of specks overlap: merged, not one pass per speck
    assert sum(int(r.paste.sum()) for r in regions) == int(hole.sum())
