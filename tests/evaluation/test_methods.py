"""glcic.evaluation.methods: method names, the network, a model only when needed."""

from __future__ import annotations

import pytest

from glcic.errors import BundleError, InputError
from tests.evaluation.conftest import run_eval


def test_classical_only_runs_without_a_model(image_dir, tmp_path):
    r = run_eval(tmp_path / "no_model", image_dir, size=32, limit=2, methods="mean")
    assert r["model"] is None and r["n_images"] == 2
    # Without --size there is nothing to take the resolution from.
    with pytest.raises(BundleError, match="does not exist"):
        run_eval(tmp_path / "no_model", image_dir, limit=2, methods="mean")


def test_glcic_method(bundle, image_dir):
    r = run_eval(bundle, image_dir, limit=2, methods="glcic,mean")
    s = r["methods"]["glcic"]
    assert 0 <= s["hole_l1"] <= 1 and -1 <= s["ssim"] <= 1 and s["seconds_per_image"] > 0


@pytest.mark.parametrize(
    ("methods", "match"),
    [
        ("telea,foo", r"unknown method\(s\) foo; choose from glcic, telea"),
        ("", "no method given"),
        ("mean,mean", "listed twice"),
    ],
)
def test_bad_methods(bundle, image_dir, methods, match):
    with pytest.raises(InputError, match=match):
        run_eval(bundle, image_dir, methods=methods)

