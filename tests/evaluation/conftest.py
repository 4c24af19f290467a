"""Fixtures for the evaluation tests: a tiny bundle and a folder of seven pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.evaluation import evaluate
from glcic.models.completion import CompletionNetwork

FAST = "telea,mean"


def scores(row: dict, method: str) -> dict[str, float]:
    """A method's per-image scores from a report row, as ``all_metrics`` returns them
    (the report writes a NaN texture measure and an infinite PSNR as None)."""
    from glcic.metrics import METRIC_NAMES

    nan_for_none = {"psnr": float("inf"), "hole_psnr": float("inf")}
    return {k: nan_for_none.get(k, float("nan")) if row[method][k] is None else row[method][k]
            for k in METRIC_NAMES}  # fmt: skip


def make_info(resolution: int = 64, **extra) -> BundleInfo:
    return BundleInfo(
        model=ModelConfig(width=0.125),
        resolution=resolution,
        mean_pixel=[0.5, 0.5, 0.5],
        extra=extra,
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    info = make_info(32)
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


@pytest.fixture(scope="module")
def two_size_dir(tmp_path_factory) -> Path:
    """Two photos of different sizes and aspect ratios (56x40 and 48x72, H x W)."""
    root = tmp_path_factory.mktemp("two_sizes")
    rng = np.random.default_rng(2)
    for name, (h, w) in (("a.png", (56, 40)), ("b.png", (48, 72))):
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        base = np.stack([np.sin(4 * xx), np.cos(3 * yy), xx * yy], axis=-1)
        img = (base - base.min()) / np.ptp(base) * 200 + rng.uniform(0, 40, base.shape)
        Image.fromarray(img.astype(np.uint8)).save(root / name)
    return root


@pytest.fixture(scope="module")
def fake_nvidia(tmp_path_factory) -> Path:
    """An NVIDIA-style mask folder: two 64 px masks per bin (a square of the bin's middle
    area), with its ``<folder>_index.csv`` of hole fractions beside it."""
    from glcic.options import NVIDIA_AREA_BINS

    folder = tmp_path_factory.mktemp("nv") / "masks"
    folder.mkdir()
    rows = ["filename,hole_fraction_white,bucket"]
    k = 0
    for b, (lo, hi) in enumerate(NVIDIA_AREA_BINS):
        for j in range(2):
            side = round(64 * ((lo + hi) / 200) ** 0.5)
            m = np.zeros((64, 64), np.uint8)
            m[j : j + side, 3 * j : 3 * j + side] = 255
            Image.fromarray(m).save(folder / f"{k:05d}.png")
            rows.append(f"{k:05d}.png,{(m > 0).mean():.4f},{b}")
            k += 1
    (folder.parent / "masks_index.csv").write_text("\n".join(rows) + "\n")
    return folder
