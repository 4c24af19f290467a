"""experiments/ablate.py: every variant of every suite is a valid config; the table reads the evaluations.

A typo in a variant's override would otherwise surface only when its training starts, hours
into a suite.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from glcic.config import load_config
from glcic.evaluation.mask_specs import parse_mask_spec
from glcic.options import CLASSICAL_METHODS

ABLATE = Path(__file__).resolve().parents[1] / "experiments" / "ablate.py"


@pytest.fixture(scope="module")
def ablate():
    """The script as a module (experiments/ is not a package); registered while the tests run,
    as its dataclasses need their module in sys.modules."""
    spec = importlib.util.spec_from_file_location("glcic_experiments_ablate", ABLATE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _variant_config(suite, name: str):
    # As train_variant composes it; no warm start, so that the shipped weights are not needed here.
    return load_config(suite.preset, ["train.t_train=10", *suite.budget, *suite.variants[name], "train.init_from="])


def test_every_variant_of_every_suite_is_a_valid_config(ablate):
    assert {"faces", "scenes"} <= set(ablate.SUITES)
    for suite_name, suite in ablate.SUITES.items():
        configs = {}
        for name in suite.variants:
            configs[name] = _variant_config(suite, name).to_dict()
        assert suite.reference in suite.variants, suite_name
        # No two variants train the same thing (a copy-paste slip would waste a whole run).
        seen = [json.dumps(c, sort_keys=True) for c in configs.values()]
        assert len(set(seen)) == len(seen), suite_name


@pytest.mark.parametrize(("suite_name", "preset", "model"), [("scenes", "scenes128", "scenes"),
                                                             ("faces-sharp", "faces128", "faces")])
def test_the_sharp_fill_suites_measure_each_option(ablate, suite_name, preset, model):
    """Each variant sets what its name says, on the shipped model's preset, warm-started from it."""
    if suite_name not in ablate.SUITES:
        pytest.skip(f"no {suite_name} suite")
    suite = ablate.SUITES[suite_name]
    assert suite.preset == preset and f"train.init_from={model}" in suite.budget
    want = {
        "ft-control": ("deconv", "context", "bce", 0.0),
        "ft-fm": ("deconv", "context", "bce", 1.0),
        "ft-resize": ("resize", "context", "bce", 0.0),
        "ft-resize+fm": ("resize", "context", "bce", 1.0),
        "ft-patch": ("deconv", "patch", "hinge", 0.0),
        "ft-resize+patch+fm": ("resize", "patch", "hinge", 1.0),
    }
    for name, (upsample, discriminator, gan_loss, fm_weight) in want.items():
        cfg = _variant_config(suite, name)
        assert (cfg.model.upsample, cfg.model.discriminator, cfg.train.gan_loss, cfg.train.fm_weight) == (
            upsample, discriminator, gan_loss, fm_weight), name
        assert cfg.train.t_c == 300 and cfg.train.t_d == 100 and cfg.train.batch_size == 16, name  # one budget
    assert _variant_config(suite, "ft-alpha0").train.alpha == 0.0
    assert _variant_config(suite, "ft-control").train.alpha == load_config(preset).train.alpha


def test_each_suite_names_mask_sets_and_methods_that_exist(ablate):
    for suite in ablate.SUITES.values():
        for spec in suite.masks:
            parse_mask_spec(spec)
        assert set(suite.classical.split(",")) <= set(CLASSICAL_METHODS), suite.classical


# --------------------------------------------------------------------------- the table


def _summary(hole_psnr: float, texture: bool = False) -> dict:
    """One method's averages over a family, as glcic evaluate writes them."""
    s = {"hole_psnr": hole_psnr, "hole_l1": 0.05, "ssim": 0.8, "psnr": 30.0, "n_images": 4}
    if texture:  # glcic.options.TEXTURE_METRICS, summarised by the median and the mean
        s.update({"detail_median": 0.61, "detail_mean": 0.6, "grid_peak_4_median": 1.1, "grid_peak_4_mean": 1.2,
                  "grid_peak_2_median": 1.05, "grid_peak_2_mean": 1.1})
    return s


def _variant(out: Path, name: str, evals: dict[str, dict[str, dict]], minutes: float = 12.5) -> None:
    run = out / name
    run.mkdir(parents=True)
    (run / "trained.json").write_text(json.dumps({"minutes": minutes, "steps": 900, "cpu": "test",
                                                  "images_per_s": 30.0}))
    for spec, methods in evals.items():
        report = {"masks": spec, "bins_by": "hole_area", "bins": {}, "methods": methods}
        (run / f"eval_{spec}.json").write_text(json.dumps(report))


def test_the_scenes_table_has_a_row_per_trained_variant_and_the_classical_methods(ablate, tmp_path):
    suite = ablate.SUITES["scenes"]
    _variant(tmp_path, "ft-control", {
        "blobs": {"glcic": _summary(20.0), "telea": _summary(15.0), "patchmatch": _summary(14.5)},
        "rect": {"glcic": _summary(18.0), "telea": _summary(13.0), "patchmatch": _summary(12.5)},
    })
    _variant(tmp_path, "ft-fm", {"blobs": {"glcic": _summary(20.5)}}, minutes=14.0)  # rect not evaluated yet
    md = ablate.table(suite, tmp_path, ["ft-control", "ft-fm", "ft-resize"])  # ft-resize not trained
    lines = md.splitlines()
    assert lines[0] == "| variant | blobs | rect | images/s | minutes |"
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:] if line.startswith("| ")}
    assert list(rows) == ["ft-control", "ft-fm", "telea (classical)", "patchmatch (classical)"]
    assert "| 20.00 / 0.050 / 0.800 | 18.00 / 0.050 / 0.800 | 30.0 (log) | 12.5 |" in rows["ft-control"]
    assert "| 20.50 / 0.050 / 0.800 | — | 30.0 (log) | 14.0 |" in rows["ft-fm"]
    assert "| 15.00 / 0.050 / 0.800 | 13.00 / 0.050 / 0.800 | — | — |" in rows["telea (classical)"]
    assert suite.what in md


def test_the_table_shows_the_detail_and_grid_peaks_of_reports_that_have_them(ablate, tmp_path):
    """Issue 25: the ablation table carries the detail column for every row (medians, as the report's)."""
    suite = ablate.SUITES["scenes"]
    _variant(tmp_path, "ft-control", {"blobs": {"glcic": _summary(20.0, texture=True),
                                                "patchmatch": _summary(14.5, texture=True)}})
    md = ablate.table(suite, tmp_path, ["ft-control"])
    # Reports written before the stripe peak existed: a dash in its place.
    assert "| 20.00 / 0.050 / 0.800 / 0.61 / 1.10, 1.05 / — |" in md
    assert "| 14.50 / 0.050 / 0.800 / 0.61 / 1.10, 1.05 / — |" in md


def test_the_table_shows_colour_detail_and_the_stripe_peak(ablate, tmp_path):
    """The cells follow glcic.options.TEXTURE_METRICS: detail / colour detail / grid 4, 2 / stripes."""
    suite = ablate.SUITES["scenes"]
    s = _summary(20.0, texture=True) | {"colour_detail_median": 0.93, "stripe_peak_median": 12.5}
    _variant(tmp_path, "ft-control", {"blobs": {"glcic": s}})
    md = ablate.table(suite, tmp_path, ["ft-control"])
    assert "| 20.00 / 0.050 / 0.800 / 0.61 / 0.93 / 1.10, 1.05 / 12.50 |" in md
    assert "grid peaks at 4 px, 2 px / stripe peak" in md
