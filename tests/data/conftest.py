"""Fixtures for the data tests: a tiny fake CelebA root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
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
