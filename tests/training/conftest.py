"""Tiny configs and a generated image folder, so training tests run anywhere in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.config import load_config


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """40 smooth random 48x48 images (gradients plus blobs), seeded."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48] / 47.0
    for i in range(40):
        c = rng.random((3, 3))
        img = c[:, 0, None, None] + c[:, 1, None, None] * yy + c[:, 2, None, None] * xx
        cy, cx, r = rng.random(3) * [48, 48, 12] + [0, 0, 4]
        img += 0.5 * (((yy * 47 - cy) ** 2 + (xx * 47 - cx) ** 2) < r * r)
        arr = (np.clip(img.transpose(1, 2, 0) / img.max(), 0, 1) * 255).astype(np.uint8)
        Image.fromarray(arr).save(root / f"{i:03d}.png")
    return root


def tiny_overrides(root: Path, **extra: str) -> list[str]:
    """A training config small enough for a few seconds on one CPU thread."""
    base = {
        "data.root": str(root),
        "data.size": "32",
        "data.hflip": "true",
        "data.val_fraction": "0.2",
        "model.width": "0.0625",
        "model.disc_width": "0.0625",
        "model.dilations": "[1,2,2,4]",
        "mask.hole_min": "8",
        "mask.hole_max": "16",
        "mask.local_size": "16",
        "train.batch_size": "8",
        "train.optimizer": "adam",
        "train.lr_c": "0.003",
        "train.lr_joint": "0.001",
        "train.lr_d": "0.001",
        "train.precision": "fp32",
        "train.channels_last": "false",
        "train.log_every": "5",
        "train.sample_every": "10",
        "train.ckpt_every": "10",
        "train.keep_ckpts": "0",
        "train.val_images": "4",
    }
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def tiny_config(root: Path, **extra: str):
    return load_config(None, tiny_overrides(root, **extra))
