"""glcic.evaluation.evaluate: the whole run on CelebA and folders, masks, sizes."""

from __future__ import annotations

import pytest
from PIL import Image

from glcic.errors import InputError
from glcic.evaluation import METRICS
from tests.evaluation.conftest import run_eval


def test_evaluate_on_celeba_val(bundle, celeba_root):
    r = run_eval(bundle, celeba_root, limit=2, methods="mean", masks="center")
    assert (r["n_images"], r["split"], r["size"]) == (2, "val", 32)
    assert [p["image"] for p in r["per_image"]][0].startswith("img_align_celeba/")


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

