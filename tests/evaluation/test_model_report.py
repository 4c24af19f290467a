"""experiments/model_report.py: the table of a model's evidence, with PatchMatch and the texture
measures, from fresh and from cached (older) reports."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_report():
    spec = importlib.util.spec_from_file_location("model_report", REPO / "experiments" / "model_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_table_has_patchmatch_and_texture(model_report, bundle, image_dir, tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["--model", str(bundle), "--data", str(image_dir), "--out", str(out), "--specs", "center",
            "--fsr-limit", "0", "--size", "64", "--markdown", str(tmp_path / "t.md")]  # fmt: skip
    assert model_report.main(argv) == 0
    report = json.loads((out / "center.json").read_text())
    assert list(report["methods"]) == ["glcic", "telea", "ns", "biharmonic", "patchmatch"]
    md = (tmp_path / "t.md").read_text()
    assert "| vs patchmatch (dB / L1) | detail: model / patchmatch | grid peaks 4 / 2 px: model (photo) |" in md
    row = next(line for line in md.splitlines() if line.startswith("| center |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    g, pm = report["methods"]["glcic"], report["methods"]["patchmatch"]
    assert cells[8] == f"{g['hole_psnr'] - pm['hole_psnr']:+.2f} / {pm['hole_l1'] - g['hole_l1']:+.4f}"
    assert cells[9] == f"{g['detail_median']:.2f} / {pm['detail_median']:.2f}"
    o, num = report["original"], model_report._num  # the untrained network's flat fill has no grid peaks: —
    assert cells[10] == (f"{num(g['grid_peak_4_median'])} / {num(g['grid_peak_2_median'])} "
                         f"({o['grid_peak_4_median']:.2f} / {o['grid_peak_2_median']:.2f})")  # fmt: skip
    assert "Detail: the fill's mean gradient" in capsys.readouterr().out


def test_cached_report_from_before_patchmatch_and_texture(model_report, bundle, image_dir, tmp_path):
    """A report cached by the earlier script (no patchmatch, no texture keys) still makes a table."""
    from tests.evaluation.conftest import run_eval

    r = run_eval(bundle, image_dir, masks="center", size=64, limit=2, methods="glcic,telea,ns,biharmonic")
    for s in r["methods"].values():
        for k in [k for k in s if k.startswith(("detail", "grid_peak"))]:
            del s[k]
    del r["original"], r["original_bins"]
    table = model_report.rows({"main": {"center": r}, "fsr": {}, "against": {}})
    assert "patchmatch" not in table[0] and table[0]["texture"] == (None, None, None)
    md = model_report.markdown(table, "t")
    row = next(line for line in md.splitlines() if line.startswith("| center |"))
    assert "| — | — / — | — / — (— / —) |" in row
