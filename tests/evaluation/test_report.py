"""glcic.evaluation.report: averages, hole-area bins, the report's schema, Markdown."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glcic.errors import InputError
from glcic.evaluation import METRICS, aggregate, area_bin, family_scores, format_markdown
from glcic.options import TEXTURE_METRICS
from tests.evaluation.conftest import run_eval


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
    assert "detail_median" not in a  # rows scored before the texture measures: no texture keys


def test_aggregate_texture_median_and_mean_leave_out_undefined():
    base = {"psnr": 20.0, "ssim": 0.5, "hole_psnr": 10.0, "hole_l1": 0.2}
    details = [0.2, math.nan, 0.3, 1.0]  # NaN: a hole without an interior
    rows = [base | {"detail": d, "grid_peak_4": 2.0 + i, "grid_peak_2": math.nan} for i, d in enumerate(details)]
    rows[1]["grid_peak_4"] = None  # as read back from a JSON report
    a = aggregate(rows)
    assert a["detail_median"] == pytest.approx(0.3) and a["detail_mean"] == pytest.approx(0.5)
    assert a["detail_n"] == 3 and a["n_images"] == 4
    assert (a["grid_peak_4_median"], a["grid_peak_4_mean"], a["grid_peak_4_n"]) == (pytest.approx(4.0), pytest.approx(11 / 3), 3)
    assert (a["grid_peak_2_median"], a["grid_peak_2_mean"], a["grid_peak_2_n"]) == (None, None, 0)


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
    assert "detail (median / mean)" in md and "| original (the photo) |" in md
    assert "| colour detail (median / mean) |" in md and "| stripes (median / mean) |" in md
    # Every row of each table has as many cells as its header (one column per texture measure).
    for table in md.split("\n\n"):
        rows = [line for line in table.splitlines() if line.startswith("|")]
        assert len({line.count("|") for line in rows}) <= 1, table


def test_report_texture_measures(bundle, image_dir):
    """Per image, per method and for the photo itself; medians and means of the per-image values."""
    r = run_eval(bundle, image_dir, size=64, masks="center", limit=3)
    s = r["methods"]["telea"]
    for k in TEXTURE_METRICS:
        vals = [p["telea"][k] for p in r["per_image"] if p["telea"][k] is not None]
        assert s[f"{k}_n"] == len(vals) == 3  # a 32x32 hole has a 26x26 interior
        assert s[f"{k}_median"] == pytest.approx(float(np.median(vals)))
        assert s[f"{k}_mean"] == pytest.approx(float(np.mean(vals)))
    flat = r["methods"]["mean"]
    assert (flat["detail_median"], flat["detail_n"]) == (0.0, 3)  # a flat fill has no detail ...
    assert (flat["colour_detail_median"], flat["colour_detail_n"]) == (0.0, 3)  # ... nor colour ...
    assert (flat["grid_peak_4_median"], flat["grid_peak_4_n"]) == (None, 0)  # ... and no pattern
    assert all(p["mean"]["grid_peak_2"] is None for p in r["per_image"])
    assert (flat["stripe_peak_median"], flat["stripe_peak_n"]) == (None, 0)
    assert 0 < r["methods"]["telea"]["detail_median"] < 1
    assert r["original"]["detail_median"] == 1.0 and r["original"]["detail_n"] == 3
    assert r["original"]["colour_detail_median"] == 1.0 and r["original"]["colour_detail_n"] == 3
    assert r["original"]["stripe_peak_n"] == 3 and r["original"]["stripe_peak_median"] > 1.0  # biased up
    assert [p["original"]["detail"] for p in r["per_image"]] == [1.0] * 3
    assert set(r["original_bins"]) == set(r["bins"])
    # family_scores: the old keys and the new ones; "original" for the photo's own.
    fam = family_scores(r, "telea")["center"]
    assert {"hole_psnr", "hole_l1", "ssim", "n_images", "detail_median", "colour_detail_median", "colour_detail_n",
            "grid_peak_4_mean", "grid_peak_2_median", "stripe_peak_median"} <= set(fam)  # fmt: skip
    assert family_scores(r, "original") == {"center": r["original"]}
    old = {k: v for k, v in r.items() if k not in ("original", "original_bins")}  # a report of before
    assert family_scores(old, "original") == {} and family_scores(old, "telea")["center"]["hole_psnr"] == fam["hole_psnr"]
