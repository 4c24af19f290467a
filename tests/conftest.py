"""Shared fixtures. Tests that need ../shared/data skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GLCIC_SHARED_DATA", REPO.parent / "shared" / "data"))

# Tests are tiny; one thread each keeps parallel runs (and a background training job)
# from oversubscribing a small machine. GLCIC_TEST_THREADS overrides.
torch.set_num_threads(int(os.environ.get("GLCIC_TEST_THREADS", "1")))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data folder); not present here")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder (skips the test when absent)."""
    return _need(SHARED_DATA)


@pytest.fixture(scope="session")
def celeba_root() -> Path:
    """CelebA root in the official layout: img_align_celeba/, list_attr_celeba.txt, ..."""
    return _need(SHARED_DATA / "celeba")


@pytest.fixture(scope="session")
def celeba_halfres_root() -> Path:
    return _need(SHARED_DATA / "celeba_halfres_89x109")


@pytest.fixture(scope="session")
def scenes_root() -> Path:
    """The natural-scene photos the scenes model trains on (a plain folder, short side 256)."""
    return _need(SHARED_DATA / "scenes" / "images")


@pytest.fixture(scope="session")
def nvidia_masks_dir() -> Path:
    return _need(SHARED_DATA / "masks" / "nvidia_irregular_test")


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(0)
