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



def test_default_methods_are_those_that_can_run_here(monkeypatch):
    import glcic.classical.patchmatch as patchmatch_module
    from glcic.evaluation.methods import parse_methods
    from glcic.options import METHODS

    assert parse_methods(None) == list(METHODS)  # PyPatchMatch and xphoto are installed here
    monkeypatch.setattr(patchmatch_module, "_library", lambda: (None, "its native library did not load (test)"))
    assert parse_methods(None) == [m for m in METHODS if m != "patchmatch"]
    with pytest.raises(InputError, match="^method patchmatch cannot run here: its native library did not load"):
        parse_methods("glcic,patchmatch")


def test_patchmatch_is_a_method(bundle, image_dir):
    r = run_eval(bundle, image_dir, limit=2, size=64, methods="telea,patchmatch")
    assert list(r["methods"]) == ["telea", "patchmatch"]
    assert r["methods"]["patchmatch"]["n_images"] == 2
