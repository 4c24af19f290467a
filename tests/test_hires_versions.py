"""experiments/hires_versions.py: models side by side on benchmarks/hires.py's holes, 1:1 crops."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.evaluation.grid import grid_size

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "hires_versions.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("hires_versions", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["hires_versions"] = module
    spec.loader.exec_module(module)
    return module


def _photos(folder: Path, names: list[str]) -> Path:
    g = np.random.default_rng(0)
    folder.mkdir()
    for name in names:
        base = np.linspace(40, 200, 240, dtype=np.float32)[None, :, None] + g.normal(0, 8, (160, 240, 3))
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(folder / f"{name}.jpg", quality=95)
    return folder


def test_the_window_puts_the_blob_edge_a_quarter_down(script):
    hole = np.zeros((400, 600), bool)
    hole[150:350, 200:420] = True
    rows, cols = script.crop_window(hole, 128, "blobs")  # benchmarks/hires.py's
    assert rows.stop - rows.start == 128 and cols.stop - cols.start == 128
    assert rows.start == 150 + 32 - 64  # the hole's top edge 32 px (a quarter) into the crop
    assert not hole[rows, cols][:32].any() and hole[rows, cols][32:].all()


def test_two_models_side_by_side(script, tmp_path):
    data = _photos(tmp_path / "hires", ["a", "b"])
    out = tmp_path / "versions.png"
    assert script.main(["--models", "scenes,faces", "--labels", "scenes,faces", "--photos", "b,a", "--crop", "96",
                        "--data", str(data), "--output", str(out)]) == 0
    picture = Image.open(out)
    assert picture.size == grid_size(2, 4, 96)  # two photos; input, two models, the photo


def test_an_unknown_photo_is_named(script, tmp_path):
    data = _photos(tmp_path / "hires", ["a"])
    with pytest.raises(SystemExit, match="--photos: nope not in"):
        script.main(["--models", "scenes", "--photos", "nope", "--data", str(data), "--output", str(tmp_path / "x.png")])
