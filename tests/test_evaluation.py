"""glcic.evaluation: mask specs, deterministic masks, aggregation, bins, the report, the grid."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.errors import BundleError, InputError
from glcic.evaluation import (
    METRICS,
    aggregate,
    area_bin,
    build_masks,
    evaluate,
    format_markdown,
    grid_size,
    list_eval_images,
    parse_mask_spec,
    resolve_rect_params,
)
from glcic.metrics import all_metrics
from glcic.models.completion import CompletionNetwork

FAST = "telea,mean"


# ---- fixtures ------------------------------------------------------------------------


def _info(resolution: int = 64, **extra) -> BundleInfo:
    return BundleInfo(
        model=ModelConfig(width=0.125),
        resolution=resolution,
        mean_pixel=[0.5, 0.5, 0.5],
        extra=extra,
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    info = _info(32)
    return save_bundle(
        tmp_path_factory.mktemp("bundle"), CompletionNetwork(info.model).eval(), info
    )


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    """Seven smooth, non-square pictures (PNG and JPEG), so crop + resize and metrics are exercised."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:50, 0:40] / 50.0
    for i in range(7):
        base = np.stack([np.sin(3 * xx + i), np.cos(2 * yy - i), xx * yy], axis=-1)
        img = ((base - base.min()) / np.ptp(base) * 200 + rng.uniform(0, 40, base.shape)).astype(
            np.uint8
        )
        Image.fromarray(img).save(root / f"img_{i}.{'png' if i % 2 else 'jpg'}")
    (root / "notes.txt").write_text("not an image")
    return root


def run_eval(bundle: Path, image_dir: Path, **kw):
    args = dict(
        model=bundle, data=image_dir, masks="rect", limit=5, seed=0, methods=FAST, progress=False
    )
    args.update(kw)
    return evaluate(**args)


# ---- mask specs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("rect", "rect"), ("center", "center"), ("freeform", "freeform"), ("RECT", "rect")],
)
def test_parse_simple_specs(spec, kind):
    assert parse_mask_spec(spec).kind == kind


def test_parse_nvidia_spec(tmp_path):
    s = parse_mask_spec("nvidia:10-20")
    assert (s.kind, s.area, s.folder) == ("nvidia", (0.1, 0.2), None)
    s = parse_mask_spec(f"nvidia:0-5.5@{tmp_path}")
    assert s.area == (0.0, 0.055) and s.folder == tmp_path
    assert parse_mask_spec(str(tmp_path)).kind == "folder"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("bogus", r"unknown mask spec 'bogus': expected rect, center, freeform, nvidia:LO-HI"),
        ("nvidia:20-10", r"0 <= LO < HI <= 100 .*got 20-10"),
        ("nvidia:10-120", r"0 <= LO < HI <= 100"),
        ("nvidia:x", r"expected nvidia:LO-HI with the hole area in percent"),
        ("nvidia", r"expected nvidia:LO-HI"),
        ("nvidia:10-20@", r"nothing after '@'"),
        ("", r"mask spec must be one of"),
    ],
)
def test_bad_spec_raises(spec, match):
    with pytest.raises(InputError, match=match):
        parse_mask_spec(spec)


def test_spec_that_is_a_file_raises(tmp_path):
    f = tmp_path / "mask.png"
    f.write_bytes(b"")
    with pytest.raises(InputError, match="is a file; a mask spec is"):
        parse_mask_spec(str(f))


def test_missing_nvidia_folder_raises(tmp_path):
    with pytest.raises(InputError, match="NVIDIA mask folder .* does not exist"):
        build_masks(f"nvidia:10-20@{tmp_path / 'nope'}", 32, 2, 0)


# ---- masks ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["rect", "freeform", "center"])
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
    info = _info(64, train_config=tc)
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


# ---- aggregation and bins ------------------------------------------------------------


def test_aggregate_means_and_infinite_psnr():
    rows = [
        {"psnr": 20.0, "ssim": 0.5, "hole_psnr": 10.0, "hole_l1": 0.2},
        {"psnr": 30.0, "ssim": 0.7, "hole_psnr": math.inf, "hole_l1": 0.0},
        {"psnr": 40.0, "ssim": 0.9, "hole_psnr": 14.0, "hole_l1": 0.1},
    ]
    a = aggregate(rows)
    assert a["psnr"] == pytest.approx(30.0)
    assert a["ssim"] == pytest.approx(0.7)
    assert a["hole_psnr"] == pytest.approx(12.0)  # inf left out, counted
    assert a["hole_l1"] == pytest.approx(0.1)
    assert (a["n_images"], a["n_inf"]) == (3, 1)
    assert (
        aggregate([{"psnr": math.inf, "ssim": 1.0, "hole_psnr": math.inf, "hole_l1": 0.0}])["psnr"]
        is None
    )
    with pytest.raises(InputError, match="no image was evaluated"):
        aggregate([])


@pytest.mark.parametrize(
    ("fraction", "label"),
    [
        (0.0, "0-10%"),
        (0.0999, "0-10%"),
        (0.1, "10-20%"),
        (0.25, "20-30%"),
        (0.3, "30-40%"),
        (0.99, "90-100%"),
        (1.0, "90-100%"),
    ],
)
def test_area_bin(fraction, label):
    assert area_bin(fraction) == label


# ---- images --------------------------------------------------------------------------


def test_folder_images_sorted_and_limited(image_dir):
    paths, split = list_eval_images(image_dir, None, 3)
    assert [p.name for p in paths] == ["img_0.jpg", "img_1.png", "img_2.jpg"] and split is None
    assert len(list_eval_images(image_dir, None, 0)[0]) == 7


def test_split_on_a_plain_folder_raises(image_dir):
    with pytest.raises(InputError, match="selects a CelebA partition.*drop --split"):
        list_eval_images(image_dir, "val", 3)


def test_celeba_limit_and_split(celeba_root):
    val, split = list_eval_images(celeba_root, None, 4)
    assert split == "val" and len(val) == 4 and val == sorted(val)
    part = dict(
        ln.split()
        for ln in (celeba_root / "list_eval_partition.txt").read_text().splitlines()
        if ln.strip()
    )
    assert {part[p.name] for p in val} == {"1"}
    train, _ = list_eval_images(celeba_root, "train", 4)
    assert {part[p.name] for p in train} == {"0"}
    with pytest.raises(InputError, match="unknown CelebA split"):
        list_eval_images(celeba_root, "nope", 4)


def test_evaluate_on_celeba_val(bundle, celeba_root):
    r = run_eval(bundle, celeba_root, limit=2, methods="mean", masks="center")
    assert (r["n_images"], r["split"], r["size"]) == (2, "val", 32)
    assert [p["image"] for p in r["per_image"]][0].startswith("img_align_celeba/")


# ---- the report ----------------------------------------------------------------------


def test_report_schema_and_aggregation(bundle, image_dir):
    r = run_eval(bundle, image_dir)
    assert set(r) >= {
        "n_images",
        "masks",
        "seed",
        "size",
        "data",
        "split",
        "model",
        "methods",
        "bins",
        "per_image",
    }
    assert (r["n_images"], r["masks"], r["seed"], r["size"], r["split"]) == (5, "rect", 0, 32, None)
    assert r["model"]["resolution"] == 32 and r["model"]["path"] == str(bundle)
    assert list(r["methods"]) == ["telea", "mean"]
    assert len(r["per_image"]) == 5
    for name, s in r["methods"].items():
        assert set(s) >= {*METRICS, "seconds_per_image"} and s["seconds_per_image"] > 0
        for k in METRICS:  # the averages are the means of the per-image values
            assert s[k] == pytest.approx(np.mean([p[name][k] for p in r["per_image"]]))
    # Bins partition the images, and each bin's average is over its own images.
    assert sum(b["telea"]["n_images"] for b in r["bins"].values()) == 5
    for label, b in r["bins"].items():
        rows = [p for p in r["per_image"] if p["bin"] == label]
        assert b["mean"]["hole_l1"] == pytest.approx(np.mean([p["mean"]["hole_l1"] for p in rows]))
        assert all(area_bin(p["hole_fraction"]) == label for p in rows)
    md = format_markdown(r)
    assert "| telea |" in md and "hole PSNR" in md


def test_per_image_metrics_match_a_direct_computation(bundle, image_dir):
    from glcic.classical import inpaint_classical
    from glcic.data import preprocess, read_rgb

    r = run_eval(bundle, image_dir, limit=2, methods="telea")
    em = build_masks("rect", 32, 2, 0, _info(32))
    for i, p in enumerate(r["per_image"]):
        target = preprocess(read_rgb(image_dir / p["image"]), 32)
        m = em.masks[i]
        out = inpaint_classical("telea", np.where(m[:, :, None], np.uint8(255), target), m)
        want = all_metrics(out, target, m)
        assert {k: p["telea"][k] for k in METRICS} == pytest.approx(want)
        assert p["hole_fraction"] == pytest.approx(m.mean())


def test_masks_do_not_depend_on_the_methods(bundle, image_dir):
    a = run_eval(bundle, image_dir, methods="telea")
    b = run_eval(bundle, image_dir, methods="mean,telea")
    c = run_eval(bundle, image_dir, methods="telea", seed=1)

    def col(r, key):
        return [p["telea"][key] if key == "psnr" else p[key] for p in r["per_image"]]

    assert col(a, "psnr") == col(b, "psnr")
    assert col(a, "hole_fraction") != col(c, "hole_fraction")


def test_save_masks_round_trip(bundle, image_dir, tmp_path):
    a = run_eval(bundle, image_dir, masks="freeform", save_masks_to=tmp_path / "masks")
    saved = sorted((tmp_path / "masks").glob("*.png"))
    assert [p.name for p in saved] == [f"{i:05d}.png" for i in range(5)]
    assert Image.open(saved[0]).size == (32, 32)
    b = run_eval(bundle, image_dir, masks=str(tmp_path / "masks"))
    for pa, pb in zip(a["per_image"], b["per_image"], strict=True):
        assert pa["hole_fraction"] == pb["hole_fraction"]
        for name in ("telea", "mean"):
            assert {k: pa[name][k] for k in METRICS} == {k: pb[name][k] for k in METRICS}


def test_size_overrides_the_model_resolution(bundle, image_dir):
    r = run_eval(bundle, image_dir, size=48, limit=2, methods="mean")
    assert r["size"] == 48 and r["mask_params"]["hole_max"] == 24
    with pytest.raises(InputError, match="--size must be an integer >= 16"):
        run_eval(bundle, image_dir, size=8)


def test_classical_only_runs_without_a_model(image_dir, tmp_path):
    r = run_eval(tmp_path / "no_model", image_dir, size=32, limit=2, methods="mean")
    assert r["model"] is None and r["n_images"] == 2
    # Without --size there is nothing to take the resolution from.
    with pytest.raises(BundleError, match="does not exist"):
        run_eval(tmp_path / "no_model", image_dir, limit=2, methods="mean")


def test_glcic_method(bundle, image_dir):
    r = run_eval(bundle, image_dir, limit=2, methods="glcic,mean")
    s = r["methods"]["glcic"]
    assert 0 <= s["hole_l1"] <= 1 and -1 <= s["ssim"] <= 1 and s["seconds_per_image"] > 0


@pytest.mark.parametrize(
    ("methods", "match"),
    [
        ("telea,foo", r"unknown method\(s\) foo; choose from glcic, telea"),
        ("", "no method given"),
        ("mean,mean", "listed twice"),
    ],
)
def test_bad_methods(bundle, image_dir, methods, match):
    with pytest.raises(InputError, match=match):
        run_eval(bundle, image_dir, methods=methods)


def test_lpips_and_fid_need_local_weights(bundle, image_dir, tmp_path):
    with pytest.raises(InputError, match="--lpips-weights .*no such file.*never downloads"):
        run_eval(bundle, image_dir, lpips_weights=tmp_path / "alex.pth")
    w = tmp_path / "inception.pth"
    w.write_bytes(b"x")
    with pytest.raises(InputError, match="--fid-weights .*inception.pth is not a readable state dict"):
        run_eval(bundle, image_dir, fid_weights=w)
    torch.save({"conv.weight": torch.zeros(1)}, w)
    with pytest.raises(InputError, match=r"--fid-weights: the file is not FID Inception weights: \d+ key\(s\) missing"):
        run_eval(bundle, image_dir, fid_weights=w)


@pytest.mark.slow
def test_lpips_and_fid_from_local_weights(bundle, image_dir, tmp_path):
    from glcic.feature_metrics import LPIPS, FIDInception

    torch.manual_seed(0)
    lp = LPIPS()
    for k in range(5):  # the real lin layers are non-negative
        getattr(lp, f"lin{k}").model[1].weight.data.uniform_(0.0, 0.1)
    # As the lpips package saves it: the scaling layer's buffers under scaling_layer.*
    state = {("scaling_layer." + k if k in ("shift", "scale") else k): v for k, v in lp.state_dict().items()}
    torch.save(state, tmp_path / "alex.pth")
    from safetensors.torch import save_file

    save_file(FIDInception().state_dict(), str(tmp_path / "inception.safetensors"))

    r = run_eval(bundle, image_dir, limit=3, lpips_weights=tmp_path / "alex.pth",
                 fid_weights=tmp_path / "inception.safetensors")
    for name, m in r["methods"].items():
        assert m["lpips"] > 0 and m["fid"] >= 0, name
    assert all("lpips" in row[name] for row in r["per_image"] for name in r["methods"])
    assert "| LPIPS | FID |" in format_markdown(r)


def test_lpips_is_zero_for_identical_images_and_symmetric():
    from glcic.feature_metrics import LPIPS

    torch.manual_seed(0)
    lp = LPIPS()
    for k in range(5):
        getattr(lp, f"lin{k}").model[1].weight.data.uniform_(0.0, 0.1)
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    assert torch.equal(lp(a, a), torch.zeros(2))
    torch.testing.assert_close(lp(a, b), lp(b, a))
    assert (lp(a, b) > lp(a, a * 0.98 + b * 0.02)).all()  # farther images, larger distance


def test_frechet_distance_matches_the_closed_form():
    from glcic.feature_metrics import frechet_distance

    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (4000, 3))
    b = rng.normal(0.5, 2.0, (4000, 3))
    # Gaussians with diagonal covariance: |mu|^2 + sum (s_a - s_b)^2 per dimension.
    expected = 3 * 0.5**2 + 3 * (1.0 - 2.0) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


# ---- the grid ------------------------------------------------------------------------


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


def test_fid_network_has_the_reference_parameter_count():
    from glcic.feature_metrics import FIDInception

    # pytorch-fid's pt_inception-2015-12-05: torchvision's Inception-v3 without the aux head
    # (23,834,568 parameters) with a 1008-way fc instead of 1000-way (+8 x 2049).
    assert sum(p.numel() for p in FIDInception().parameters()) == 23_850_960
