"""Fixtures and helpers for the data tests: a tiny fake CelebA root, images, masks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

FAKE_ATTR_NAMES = [f"Attr_{i}" for i in range(39)] + ["Young"]


def fake_attr_row(i: int) -> list[int]:
    """The 40 attribute values (1 / -1) written for image id ``i``."""
    return [1 if (i + k) % 3 == 0 else -1 for k in range(40)]


def _make_fake_celeba(root: Path, size: tuple[int, int] = (12, 10), crlf: bool = True) -> Path:
    (root / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in (1, 2, 3):
        img = rng.integers(0, 255, (size[1], size[0], 3), np.uint8)
        Image.fromarray(img).save(root / "img_align_celeba" / f"{i:06d}.jpg")
    nl = "\r\n" if crlf else "\n"
    rows = [f"{i:06d}.jpg " + "  ".join(f"{v:2d}" for v in fake_attr_row(i)) for i in (1, 2, 3, 4)]
    header = ["4", " ".join(FAKE_ATTR_NAMES) + " "]  # trailing space, like the official file
    (root / "list_attr_celeba.txt").write_text(nl.join(header + rows) + nl)
    part = {1: 0, 2: 0, 3: 1, 4: 2}
    (root / "list_eval_partition.txt").write_text(
        nl.join(f"{i:06d}.jpg {v}" for i, v in part.items()) + nl
    )
    (root / "identity_CelebA.txt").write_text(nl.join(f"{i:06d}.jpg {100 + i}" for i in part) + nl)
    return root


@pytest.fixture
def make_fake_celeba() -> Callable[..., Path]:
    """Factory ``make_fake_celeba(root, size=(12, 10), crlf=True) -> root``.

    Three generated JPEGs on disk (000001, 000002: train; 000003: val), CRLF annotation
    files with extra spaces, and a partition file that also lists 000004.jpg (test),
    which is not on disk, like the shared copy.
    """
    return _make_fake_celeba


def seeded(seed: int) -> torch.Generator:
    """A torch generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def random_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A random ``uint8`` RGB array (h, w, 3), different along both axes."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def folder_of_images(root: Path, n: int, size: tuple[int, int] = (20, 16)) -> list[Path]:
    """``n`` random PNGs ``img00.png``... of ``size`` (H, W) in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = root / f"img{i:02d}.png"
        Image.fromarray(random_rgb(size[0], size[1], i)).save(p)
        paths.append(p)
    return paths


def write_masks(folder: Path) -> dict[str, float]:
    """Four masks of 29x37 in different modes; returns their true hole fractions."""
    folder.mkdir(parents=True, exist_ok=True)
    base = np.zeros((29, 37), bool)
    base[5:20, 3:30] = True
    base[0, 0] = True
    fractions = {}
    Image.fromarray(base).convert("1").save(folder / "a_bilevel.png")
    Image.fromarray(base.astype(np.uint8) * 255).save(folder / "b_gray.png")
    rgb = np.zeros((29, 37, 3), np.uint8)
    rgb[base] = (0, 0, 255)
    Image.fromarray(rgb).save(folder / "c_rgb.png")
    small = np.zeros((29, 37), np.uint8)
    small[10:12, 10:12] = 1  # value 1 (not 255) still counts as a hole
    Image.fromarray(small).save(folder / "d_ones.png")
    for name in ("a_bilevel.png", "b_gray.png", "c_rgb.png"):
        fractions[name] = float(base.mean())
    fractions["d_ones.png"] = 4 / (29 * 37)
    return fractions
