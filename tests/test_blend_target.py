"""``postprocess="auto"`` (the default): the paper's blending on every hole but those a
residual network completed at native scale (:func:`glcic.steps.blend_target`)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from glcic.pipeline import InpaintPipeline
from glcic.postprocess import DEFAULT_SEAM, blend
from glcic.steps import blend_target
from tests.tiny_pipes import tiny_residual_pipe

H, W = 200, 300


@pytest.fixture(scope="module")
def residual(tmp_path_factory: pytest.TempPathFactory) -> InpaintPipeline:
    return tiny_residual_pipe(Path(tmp_path_factory.mktemp("residual")), last_std=0.05)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> InpaintPipeline:
    return tiny_residual_pipe(Path(tmp_path_factory.mktemp("plain")), last_std=0.05, residual=False)


def _photo(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    smooth = np.stack([120 + 80 * np.sin(xx / 23.0), 100 + 60 * np.cos(yy / 17.0), 90 + 0.3 * xx], axis=2)
    return np.clip(smooth + rng.normal(0, 12, (H, W, 3)), 0, 255).astype(np.uint8)


def _wires() -> np.ndarray:
    """Thin strokes (2 px, not crossing: thin at native scale for a 32 px model) in the left half."""
    m = np.zeros((H, W), np.uint8)
    cv2.line(m, (10, 20), (120, 180), 1, 2)
    cv2.line(m, (60, 20), (150, 150), 1, 2)
    return m > 0


def _blob() -> np.ndarray:
    """A deep hole (a disk of radius 30) in the right half: completed at a smaller scale."""
    m = np.zeros((H, W), np.uint8)
    cv2.circle(m, (230, 100), 30, 1, -1)
    return m > 0


def test_the_rule() -> None:
    hole, native = _wires() | _blob(), _wires()
    assert blend_target("none", hole, native) is None
    assert np.array_equal(blend_target("blend", hole, native), hole)
    assert np.array_equal(blend_target("auto", hole, native), _blob())
    assert np.array_equal(blend_target("auto", hole, None), hole)  # a classical method or a plain network
    assert blend_target("auto", native, native) is None  # nothing left to blend


def test_native_fills_of_a_residual_network_stay_unblended(residual: InpaintPipeline) -> None:
    img, hole = _photo(), _wires()
    auto = residual.run(img, hole)
    none = residual.run(img, hole, postprocess="none")
    both = residual.run(img, hole, postprocess="blend")
    assert auto.strategy == "tiles" and auto.scale == 1.0
    assert auto.postprocess == "none" and np.array_equal(auto.image, none.image)
    assert both.postprocess == "blend" and not np.array_equal(both.image, none.image)


def test_a_fill_made_at_a_smaller_scale_is_blended(residual: InpaintPipeline) -> None:
    img, hole = _photo(1), _blob()
    auto = residual.run(img, hole)
    both = residual.run(img, hole, postprocess="blend")
    assert auto.scale < 1.0 and auto.postprocess == "blend"
    assert np.array_equal(auto.image, both.image)


def test_a_mix_blends_its_deep_part_only(residual: InpaintPipeline) -> None:
    img, wires, blob = _photo(2), _wires(), _blob()
    hole = wires | blob
    auto = residual.run(img, hole)
    none = residual(img, hole, postprocess="none")
    assert auto.strategy == "tiles+resize" and auto.postprocess == "blend"
    # The wires (far from the blob's seam) are the raw fill; the blob is blended into the
    # photo with the wires' fill as its surroundings.
    near_blob = cv2.dilate(blob.view(np.uint8), np.ones((2 * DEFAULT_SEAM + 1,) * 2, np.uint8)) > 0
    assert np.array_equal(auto.image[~near_blob], none[~near_blob])
    assert np.array_equal(auto.image, blend(none, none, blob))
    assert not np.array_equal(auto.image[blob], none[blob])


def test_a_plain_network_and_classical_methods_are_blended_everywhere(
    residual: InpaintPipeline, plain: InpaintPipeline
) -> None:
    img, hole = _photo(3), _wires()
    for pipe, method in ((plain, None), (residual, "telea")):
        auto = pipe.run(img, hole, method=method)
        assert auto.postprocess == "blend"
        assert np.array_equal(auto.image, pipe(img, hole, postprocess="blend", method=method))


def test_a_high_depth_input_keeps_its_unblended_fill_at_full_depth(residual: InpaintPipeline) -> None:
    rng = np.random.default_rng(4)
    img = (_photo(4).astype(np.uint16) * 257 + rng.integers(0, 200, (H, W, 3))).astype(np.uint16)
    wires, blob = _wires(), _blob()
    auto = residual(img, wires | blob)
    none = residual(img, wires | blob, postprocess="none")
    assert auto.dtype == np.uint16
    near_blob = cv2.dilate(blob.view(np.uint8), np.ones((2 * DEFAULT_SEAM + 1,) * 2, np.uint8)) > 0
    assert np.array_equal(auto[~near_blob], none[~near_blob])  # the wires' fill at 16 bits, not rounded to 8
    assert not np.array_equal(auto[blob], none[blob])
    assert (none[wires] % 257 != 0).any()  # the fill really has more than 8 bits there


def test_a_float_tensor_keeps_its_unblended_fill_at_full_depth(residual: InpaintPipeline) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    img = torch.from_numpy(_photo(5).astype(np.float32) / 255 + rng.uniform(0, 0.003, (H, W, 3)).astype(np.float32))
    x = img.clamp(0, 1).permute(2, 0, 1).contiguous()  # (3, H, W) in [0, 1], off the 8-bit levels
    wires, blob = _wires(), _blob()
    auto = residual(x, wires | blob)
    none = residual(x, wires | blob, postprocess="none")
    assert auto.dtype == torch.float32 and auto.shape == x.shape
    near_blob = cv2.dilate(blob.view(np.uint8), np.ones((2 * DEFAULT_SEAM + 1,) * 2, np.uint8)) > 0
    keep = torch.from_numpy(~near_blob)
    assert torch.equal(auto[:, keep], none[:, keep])  # the wires' fill as the network gave it, not rounded to 8 bits
    assert not torch.equal(auto[:, torch.from_numpy(blob)], none[:, torch.from_numpy(blob)])
    fill = none[:, torch.from_numpy(wires)]
    assert ((fill * 255 - (fill * 255).round()).abs() > 1e-3).any()  # the fill really is off the 8-bit levels
