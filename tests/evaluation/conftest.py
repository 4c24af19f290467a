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
