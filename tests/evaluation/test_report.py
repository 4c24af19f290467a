"""glcic.evaluation.report: averages, hole-area bins, the report's schema, Markdown."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glcic.errors import InputError
from glcic.evaluation import METRICS, aggregate, area_bin, format_markdown
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

