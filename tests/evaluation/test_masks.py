"""glcic.evaluation.masks: deterministic masks, rect parameters, folders, shapes at any size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.errors import InputError
from glcic.evaluation import MaskMaker, build_masks, mask_bins, parse_mask_spec, resolve_rect_params
from tests.evaluation.conftest import make_info


def test_missing_nvidia_folder_raises(tmp_path):
    with pytest.raises(InputError, match="NVIDIA mask folder .* does not exist"):
        build_masks(f"nvidia:10-20@{tmp_path / 'nope'}", 32, 2, 0)


@pytest.mark.parametrize("spec", ["rect", "freeform", "center", "strokes", "blobs:10-30"])
def test_masks_are_deterministic(spec):
    a = build_masks(spec, 32, 6, seed=1).masks
    b = build_masks(spec, 32, 6, seed=1).masks
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(x.dtype == bool and x.shape == (32, 32) and x.any() and not x.all() for x in a)
    if spec != "center":
        c = build_masks(spec, 32, 6, seed=2).masks
        assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
        # Image i's mask does not depend on how many images are evaluated.
        assert all(
            np.array_equal(x, y)
            for x, y in zip(build_masks(spec, 32, 3, seed=1).masks, a[:3], strict=False)
        )
        assert not all(np.array_equal(a[0], x) for x in a[1:])


def test_center_mask_is_half_the_side():
    (m,) = build_masks("center", 40, 1, 0).masks
    ys, xs = np.nonzero(m)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (10, 29, 10, 29)
    assert m.sum() == 20 * 20


def test_rect_default_is_29_to_50_percent():
    p = resolve_rect_params(100, None)
    assert (p["hole_min"], p["hole_max"], p["local_size"]) == (29, 50, 50)
    for m in build_masks("rect", 100, 20, 0).masks:
        ys, xs = np.nonzero(m)
        for side in (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1):
            assert 29 <= side <= 50


def test_rect_reads_the_bundle_training_config_and_scales_it():
    tc = {
        "data": {"size": 64},
        "mask": {"hole_min": 18, "hole_max": 32, "local_size": 32, "num_holes": [1, 1]},
    }
    info = make_info(64, train_config=tc)
    assert resolve_rect_params(64, info)["hole_min"] == 18
    p = resolve_rect_params(128, info)
    assert (p["hole_min"], p["hole_max"], p["local_size"]) == (36, 64, 64)
    assert "train_config" in p["source"]


def test_folder_masks_are_used_in_sorted_order_and_cycled(tmp_path):
    for i, side in enumerate((4, 8)):
        m = np.zeros((64, 64), np.uint8)
        m[:side, :side] = 255
        Image.fromarray(m).save(tmp_path / f"m{i}.png")
    em = build_masks(str(tmp_path), 32, 3, seed=0)  # resized 64 -> 32 px
    assert em.sources == ["m0.png", "m1.png", "m0.png"]
    assert [int(m.sum()) for m in em.masks] == [4, 16, 4]


def test_empty_folder_mask_raises(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "empty.png")
    with pytest.raises(InputError, match="has no hole pixels"):
        build_masks(str(tmp_path), 32, 1, 0)


def test_nvidia_masks_in_range(nvidia_masks_dir):
    em = build_masks(f"nvidia:10-20@{nvidia_masks_dir}", 64, 4, seed=0)
    assert em.params["candidates"] > 100
    for m, name in zip(em.masks, em.sources, strict=True):
        assert 2000 <= int(Path(name).stem) <= 3999  # the 10-20 % bucket
        assert 0.05 < m.mean() < 0.3  # measured at 512 px; nearest resizing moves it a little
    assert em.sources == build_masks(f"nvidia:10-20@{nvidia_masks_dir}", 64, 4, seed=0).sources



def test_nvidia_bins_expand_to_the_literature_bins(tmp_path):
    spec = parse_mask_spec("nvidia-bins")
    assert (spec.kind, spec.folder) == ("nvidia-bins", None)
    bins = mask_bins(parse_mask_spec(f"nvidia-bins@{tmp_path}"))
    assert [label for label, _ in bins] == ["1-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%"]
    assert bins[0][1].area == (0.01, 0.1) and bins[-1][1].area == (0.5, 0.6)
    assert {s.folder for _, s in bins} == {tmp_path} and {s.kind for _, s in bins} == {"nvidia"}
    assert mask_bins(parse_mask_spec("rect"))[0][0] is None
    with pytest.raises(InputError, match="expand it with mask_bins"):
        MaskMaker("nvidia-bins", seed=0)


def test_native_masks_are_scaled_to_each_image():
    h, w = 40, 100
    # rect: the 29-50 % holes of the shorter side (12-20 px here), inside the image.
    for i in range(10):
        m, _ = MaskMaker("rect", seed=0)(i, (h, w))
        ys, xs = np.nonzero(m)
        assert m.shape == (h, w)
        assert 12 <= ys.max() - ys.min() + 1 <= 20 and 12 <= xs.max() - xs.min() + 1 <= 20
    # center: half the height and half the width, centred (a square on a square image).
    m, _ = MaskMaker("center", seed=0)(0, (h, w))
    ys, xs = np.nonzero(m)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (10, 29, 25, 74)
    m, _ = MaskMaker("freeform", seed=0)(3, (h, w))
    assert m.shape == (h, w) and m.any() and not m.all()


def test_native_folder_masks_are_stretched_to_the_image(tmp_path, fake_nvidia):
    mk = np.zeros((64, 64), np.uint8)
    mk[:32, :16] = 255  # the left quarter of the top half
    Image.fromarray(mk).save(tmp_path / "m.png")
    m, name = MaskMaker(str(tmp_path), seed=0)(0, (20, 80))
    assert name == "m.png" and m[:10, :20].all() and m.sum() == 10 * 20
    # NVIDIA masks: the same file at any size (the draw depends on (seed, i) only).
    nv = MaskMaker(f"nvidia:20-30@{fake_nvidia}", seed=0)
    for i in range(4):
        (a, fa), (b, fb) = nv(i, (64, 64)), nv(i, (30, 90))
        assert fa == fb and b.shape == (30, 90)
        assert abs(a.mean() - b.mean()) < 0.05


@pytest.mark.parametrize("kind", ["strokes", "blobs"])
def test_shapes_cover_their_area_at_any_size(kind):
    """Strokes and blobs are drawn by hole area, so a native-size photo and the model's square
    get the same fraction (within a stroke's overshoot / a blob's clipping)."""
    lo, hi = 0.10, 0.30
    maker = MaskMaker(f"{kind}:{lo * 100:g}-{hi * 100:g}", seed=3)
    for hw in [(64, 64), (256, 384), (300, 200)]:
        areas = [maker(i, hw)[0].mean() for i in range(12)]
        assert all(lo * 0.5 <= a <= hi * 1.6 for a in areas), (hw, areas)
        assert lo <= float(np.median(areas)) <= hi, (hw, areas)
    assert maker.params == {"kind": kind, "area": [lo, hi]}


def test_strokes_are_thin_and_blobs_solid():
    """What tells the two families apart: a stroke hole is mostly within a brush width of
    known pixels, a blob's interior is far from them."""
    import cv2

    def median_depth(spec):
        depths = []
        for i in range(8):
            m, _ = MaskMaker(spec, seed=0)(i, (128, 128))
            dist = cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3)
            depths.append(float(dist.max()))
        return float(np.median(depths))

    assert median_depth("strokes:20-30") < 0.6 * median_depth("blobs:20-30")
