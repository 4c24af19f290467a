"""experiments/sharp_grid.py: the picture is cut from the evaluation grids, cell for cell."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.evaluation.grid import write_grid

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "sharp_grid.py"
CLASSICAL = ["telea", "ns", "biharmonic", "patchmatch"]


def _cell(value: int, cell: int = 128) -> np.ndarray:
    """A cell whose every pixel encodes ``value`` (distinct per row and column)."""
    return np.full((cell, cell, 3), value, np.uint8)


def _ablation(tmp_path: Path, variants: list[str], rows: int = 3) -> Path:
    """An ablate.py --out folder holding only grids: the reference with the classical columns."""
    out = tmp_path / "sharp"
    ref = out / "ft-control"
    ref.mkdir(parents=True)
    grid = [(_cell(10 * r), _cell(10 * r + 9), [_cell(10 * r + 1 + k) for k in range(1 + len(CLASSICAL))])
            for r in range(rows)]
    write_grid(ref / "grid_blobs.png", grid, ["glcic", *CLASSICAL])
    for i, v in enumerate(variants):
        (out / v).mkdir()
        write_grid(out / v / "grid_blobs.png",
                   [(_cell(10 * r), _cell(10 * r + 9), [_cell(100 + 10 * i + r)]) for r in range(rows)], ["glcic"])
    return out


def _load():
    spec = importlib.util.spec_from_file_location("glcic_experiments_sharp_grid", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_columns_are_the_variants_fills_then_patchmatch_and_the_photo(tmp_path: Path) -> None:
    out = _ablation(tmp_path, ["ft-a", "ft-b"])
    picture = tmp_path / "pic.png"
    assert _load().main(["--out", str(out), "--variants", "ft-control,ft-a,ft-b", "--rows", "2",
                         "--scale", "1", "--output", str(picture)]) == 0
    got = _load().cells(picture, 6, 2)  # input, 3 fills, PatchMatch, the photo
    for r in range(2):
        want = [10 * r, 10 * r + 1, 100 + r, 110 + r, 10 * r + 1 + 1 + CLASSICAL.index("patchmatch"), 10 * r + 9]
        assert [int(c[64, 64, 0]) for c in got[r]] == want


def test_scale_enlarges_without_interpolation(tmp_path: Path) -> None:
    out = _ablation(tmp_path, ["ft-a"], rows=1)
    picture = tmp_path / "pic.png"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--variants", "ft-a", "--rows", "1",
                    "--scale", "2", "--output", str(picture)], check=True, capture_output=True)
    img = np.asarray(Image.open(picture))
    np.testing.assert_array_equal(img[::2, ::2], img[1::2, 1::2])  # every pixel a 2x2 block
    assert img.shape[:2] == (2 * (14 + 128 + 2 * 2), 2 * (4 * 128 + 5 * 2))


def test_a_grid_of_another_photo_or_shape_is_refused(tmp_path: Path) -> None:
    out = _ablation(tmp_path, ["ft-a"])
    write_grid(out / "ft-a" / "grid_blobs.png", [(_cell(77), _cell(9), [_cell(1)])] * 3, ["glcic"])
    with pytest.raises(SystemExit, match="row 0 of ft-a's grid is not the reference's photo and hole"):
        _load().main(["--out", str(out), "--variants", "ft-a", "--output", str(tmp_path / "p.png"), "--rows", "1"])
    with pytest.raises(SystemExit, match="not a grid of 8 columns"):
        _load().main(["--out", str(out), "--variants", "ft-a", "--output", str(tmp_path / "p.png"),
                      "--classical-columns", "telea,ns,patchmatch,biharmonic,fsr"])


def test_a_variant_may_be_a_run_folder_elsewhere(tmp_path: Path) -> None:
    out = _ablation(tmp_path, ["ft-a"], rows=1)
    longer = tmp_path / "long" / "ft-a"
    longer.mkdir(parents=True)
    write_grid(longer / "grid_blobs.png", [(_cell(0), _cell(9), [_cell(55)])], ["glcic"])
    picture = tmp_path / "pic.png"
    assert _load().main(["--out", str(out), "--variants", f"ft-a,ft-a-long={longer}", "--rows", "1",
                         "--scale", "1", "--output", str(picture)]) == 0
    got = _load().cells(picture, 5, 1)[0]  # input, ft-a, ft-a-long, PatchMatch, the photo
    assert [int(c[64, 64, 0]) for c in got] == [0, 100, 55, 5, 9]


def test_the_classical_columns_may_come_from_another_grid_of_the_same_holes(tmp_path: Path) -> None:
    """--reference: a model report's folder (its model column named by --reference-label)."""
    out = _ablation(tmp_path, ["ft-a"], rows=1)
    (out / "ft-control").rename(tmp_path / "report")  # no reference variant in --out any more
    picture = tmp_path / "pic.png"
    argv = ["--out", str(out), "--variants", "shipped,ft-a", "--rows", "1", "--scale", "1", "--output", str(picture)]
    with pytest.raises(SystemExit, match="no grid_blobs.png with the classical columns in .*; evaluate the reference"):
        _load().main(argv)
    assert _load().main([*argv, "--reference", str(tmp_path / "report"), "--reference-label", "shipped"]) == 0
    got = _load().cells(picture, 5, 1)[0]  # input, the report's model, ft-a, PatchMatch, the photo
    assert [int(c[64, 64, 0]) for c in got] == [0, 1, 100, 1 + 1 + CLASSICAL.index("patchmatch"), 9]
