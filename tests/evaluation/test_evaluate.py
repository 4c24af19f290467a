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



def test_nvidia_bins_one_entry_per_bin_same_holes_as_each_spec(bundle, image_dir, fake_nvidia):
    from glcic.evaluation import family_scores, format_markdown
    from glcic.options import NVIDIA_AREA_BINS

    r = run_eval(bundle, image_dir, masks=f"nvidia-bins@{fake_nvidia}", limit=2, methods="telea,mean")
    labels = [f"{lo}-{hi}%" for lo, hi in NVIDIA_AREA_BINS]
    assert r["bins_by"] == "mask_bin" and list(r["bins"]) == labels
    assert list(r["mask_params"]["bins"]) == labels
    assert all(b[m]["n_images"] == 2 for b in r["bins"].values() for m in ("telea", "mean"))
    assert r["n_images"] == 2 and len(r["per_image"]) == 2 * len(labels)
    for (lo, hi), label in zip(NVIDIA_AREA_BINS, labels, strict=True):
        rows = [p for p in r["per_image"] if p["bin"] == label]
        assert all(lo / 100 - 0.03 < p["hole_fraction"] < hi / 100 + 0.03 for p in rows)
        # Each bin is exactly the nvidia:LO-HI evaluation: same holes for every method.
        one = run_eval(bundle, image_dir, masks=f"nvidia:{lo}-{hi}@{fake_nvidia}", limit=2,
                       methods="telea,mean")  # fmt: skip
        assert [p["mask"] for p in one["per_image"]] == [p["mask"] for p in rows]
        for a, b in zip(one["per_image"], rows, strict=True):
            assert {k: a["telea"][k] for k in METRICS} == {k: b["telea"][k] for k in METRICS}
        assert r["bins"][label]["telea"]["hole_psnr"] == pytest.approx(one["methods"]["telea"]["hole_psnr"])
    md = format_markdown(r)
    assert "| hole area | images | telea | mean |" in md
    assert "| 1-10% | 2 | " in md and "| 50-60% | 2 | " in md and "| s / image | |" in md
    assert "| hole area | telea | mean | original |" in md  # the texture medians by bin
    assert list(family_scores(r, "original")) == [f"nvidia {label}" for label in labels]
    assert family_scores(r, "mean")["nvidia 50-60%"]["detail_median"] in (0.0, None)


def test_unreadable_images_are_skipped_named_and_counted(bundle, image_dir, tmp_path):
    import shutil

    for p in sorted(image_dir.glob("img_*"))[:3]:
        shutil.copy(p, tmp_path / p.name)
    good = (tmp_path / "img_0.jpg").read_bytes()
    (tmp_path / "img_0b.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (tmp_path / "img_1b.png").write_bytes(b"")  # empty
    with pytest.warns(UserWarning) as rec:
        r = run_eval(bundle, tmp_path, methods="telea")
    for name in ("img_0b.jpg", "img_1b.png"):  # one warning naming each
        assert sum(f"skipped unreadable image {tmp_path / name}: " in str(w.message) for w in rec) == 1
    assert (r["n_images"], r["n_skipped"]) == (3, 2)
    assert [s["image"] for s in r["skipped"]] == ["img_0b.jpg", "img_1b.png"]
    assert "Truncated" in r["skipped"][0]["error"] and "empty" in r["skipped"][1]["error"]
    # The others keep their masks (image i's from (seed, i), i counted over the listing).
    assert [(p["index"], p["image"]) for p in r["per_image"]] == [
        (0, "img_0.jpg"), (2, "img_1.png"), (4, "img_2.jpg"),
    ]  # fmt: skip
    from glcic.evaluation import format_markdown

    assert "skipped 2 unreadable image(s): img_0b.jpg, img_1b.png" in format_markdown(r)


def test_no_readable_image_is_an_error(bundle, tmp_path):
    (tmp_path / "a.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning), pytest.raises(InputError, match="none of the 1 images could be read"):
        run_eval(bundle, tmp_path, methods="telea")


def test_folder_val_split_is_the_training_hold_out(bundle, image_dir):
    from glcic.config import DataConfig
    from glcic.data import build_datasets

    cfg = DataConfig(root=str(image_dir), format="folder", val_fraction=0.3, cache=False, size=32)
    train_ds, val_ds = build_datasets(cfg, (0.0, 1.0))
    for split, ds in (("val", val_ds), ("train", train_ds)):
        r = run_eval(bundle, image_dir, split=split, val_fraction=0.3, limit=0, methods="mean")
        assert r["split"] == split
        assert [p["image"] for p in r["per_image"]] == sorted(p.name for p in ds.paths)
    assert len(val_ds.paths) == 2


def test_folder_val_split_defaults_to_the_bundles_training_share(image_dir, tmp_path):
    """A bundle trained with data.val_fraction=0.3 is evaluated on that hold-out unasked;
    with the library default (0.05) a different, smaller set would come out."""
    from glcic.bundle import save_bundle
    from glcic.config import DataConfig
    from glcic.data import build_datasets
    from glcic.models import CompletionNetwork
    from tests.evaluation.conftest import make_info

    info = make_info(32, train_config={"data": {"val_fraction": 0.3}})
    trained = save_bundle(tmp_path / "b", CompletionNetwork(info.model).eval(), info)
    cfg = DataConfig(root=str(image_dir), format="folder", val_fraction=0.3, cache=False, size=32)
    _, val_ds = build_datasets(cfg, (0.0, 1.0))
    r = run_eval(trained, image_dir, split="val", limit=0, methods="mean")
    assert [p["image"] for p in r["per_image"]] == sorted(p.name for p in val_ds.paths)
    assert len(r["per_image"]) > len(run_eval(trained, image_dir, split="val", val_fraction=0.05, limit=0, methods="mean")["per_image"])


def test_strategy_scores_a_model_at_a_size_it_was_not_trained_for(bundle, image_dir):
    """At twice its resolution a model runs at twice its scale by default (``original``);
    ``strategy="resize"`` fills at its own scale and upscales, as a user would run it."""
    kw = dict(size=64, limit=3, methods="glcic", masks="center")
    default = run_eval(bundle, image_dir, **kw)
    resized = run_eval(bundle, image_dir, strategy="resize", **kw)
    assert default["inference"]["strategy"] == "original"
    assert resized["inference"] == {"strategy": "resize", "postprocess": "none"}
    assert default["methods"]["glcic"]["hole_l1"] != resized["methods"]["glcic"]["hole_l1"]
    with pytest.raises(InputError, match="strategy must be one of"):
        run_eval(bundle, image_dir, strategy="sideways", **kw)
