"""glcic.evaluation.runner: warm-up, timing, compositing, the wrong-output check."""

from __future__ import annotations

import numpy as np
import pytest

from glcic.evaluation import MaskMaker, build_masks, list_eval_images
from glcic.evaluation.images import blank_hole, load_target
from glcic.evaluation.methods import Method
from glcic.evaluation.runner import GRID_ROWS, run_methods
from glcic.evaluation.scoring import Scorer


def test_outputs_are_composited_and_the_warm_up_is_untimed_and_once(image_dir):
    paths, _ = list_eval_images(image_dir, None, 3)
    masks = build_masks("rect", 32, 3, seed=0).masks
    calls = []

    def black(img: np.ndarray, m: np.ndarray) -> np.ndarray:
        calls.append(1)
        return np.zeros_like(img)  # also overwrites the known pixels

    makers = [MaskMaker("rect", seed=0, size=32)]
    res = run_methods(paths, 32, makers, [Method("black", black, warm_up=True)], Scorer())
    assert len(calls) == 3 + 1  # one warm-up, then once per image
    assert len(res.scores["black"]) == len(res.seconds["black"]) == 3
    assert all(s >= 0 for s in res.seconds["black"])
    assert len(res.grid_rows) == min(3, GRID_ROWS)
    for (masked, target, (out,)), p, m in zip(res.grid_rows, paths, masks, strict=True):
        assert np.array_equal(target, load_target(p, 32))
        assert np.array_equal(masked, blank_hole(target, m))
        assert np.array_equal(out[~m], target[~m])  # known pixels are the input's
        assert not out[m].any()  # the hole is the method's


def test_a_method_returning_the_wrong_type_is_an_error(image_dir):
    paths, _ = list_eval_images(image_dir, None, 1)
    bad = Method("bad", lambda img, m: img.astype(np.float32))
    with pytest.raises(RuntimeError, match="method bad returned float32 .*expected uint8"):
        run_methods(paths, 32, [MaskMaker("center", seed=0)], [bad], Scorer())
