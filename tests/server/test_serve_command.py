"""`glcic serve`'s models (glcic.commands.serve): --model repeated or comma-separated, the
installed shipped models by default, clear start-up errors. The shipped models are tiny
random bundles in a temporary weights folder, so the tests hold whichever models are installed."""

from __future__ import annotations

import pytest

from glcic import bundle
from glcic.bundle import installed_models
from glcic.cli import build_parser, main
from glcic.commands.serve import build_app
from glcic.errors import BundleError
from glcic.options import DEFAULT_MODEL_TARGET, SHIPPED_MODELS
from glcic.server import create_app
from glcic.server.models import split_models
from tests.server.conftest import tiny_bundle

DEFAULT = DEFAULT_MODEL_TARGET
"""The shipped model ``default`` names (``scenes``)."""
OTHER = next(n for n in SHIPPED_MODELS if n != DEFAULT)
"""The other shipped model (``faces``)."""


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """A weights folder holding a tiny ``OTHER`` only (add ``DEFAULT`` with tiny_bundle)."""
    folder = tmp_path / "weights"
    tiny_bundle(folder / OTHER, f"tiny-{OTHER}")
    monkeypatch.setattr(bundle, "WEIGHTS_DIR", folder)
    return folder


def serve_args(*argv: str):
    return build_parser().parse_args(["serve", *argv])


def loaded(*argv: str) -> tuple[tuple[str, ...], str]:
    app = build_app(serve_args(*argv))
    return app.state.models.names, app.state.default_model


def test_model_is_repeatable_and_comma_separated():
    args = serve_args("--model", "faces", "--model", "scenes, runs/a")
    assert args.model == ["faces", "scenes, runs/a"]
    assert split_models(args.model) == ["faces", "scenes", "runs/a"]
    assert serve_args().model is None


def test_a_path_with_a_comma_is_one_model(tmp_path):
    folder = tmp_path / "a,b"
    folder.mkdir()
    assert split_models([str(folder), "faces,scenes"]) == [str(folder), "faces", "scenes"]


@pytest.mark.parametrize("value", ["faces,", ",", "faces,,scenes"])
def test_an_empty_entry_is_refused(value):
    with pytest.raises(BundleError, match=f"--model '{value}' has an empty entry"):
        split_models([value])


def test_without_model_every_installed_shipped_model_the_default_first(weights):
    assert installed_models() == [OTHER]
    assert loaded() == ((OTHER,), OTHER)  # the default target is not installed: the one that is
    tiny_bundle(weights / DEFAULT, f"tiny-{DEFAULT}", seed=1)
    assert installed_models() == [DEFAULT, OTHER]
    assert loaded() == ((DEFAULT, OTHER), DEFAULT)


def test_the_first_model_given_is_the_default(weights):
    tiny_bundle(weights / DEFAULT, f"tiny-{DEFAULT}", seed=1)
    assert loaded("--model", OTHER, "--model", DEFAULT) == ((OTHER, DEFAULT), OTHER)
    assert loaded("--model", f"{OTHER},{DEFAULT}") == ((OTHER, DEFAULT), OTHER)
    assert loaded("--model", "default") == ((DEFAULT,), DEFAULT)


def test_a_bundle_folder_goes_by_its_folder_name(weights, tmp_path):
    folder = tiny_bundle(tmp_path / "runs" / "celebahq", "whatever-it-calls-itself")
    assert loaded("--model", folder, "--model", OTHER) == (("celebahq", OTHER), "celebahq")
    # its config.json names the folder too
    assert loaded("--model", f"{folder}/config.json") == (("celebahq",), "celebahq")


def test_two_models_of_one_name_are_refused(weights, tmp_path):
    tiny_bundle(weights / DEFAULT, f"tiny-{DEFAULT}", seed=1)
    mine = tiny_bundle(tmp_path / "mine" / OTHER, f"my-{OTHER}")
    with pytest.raises(BundleError, match=f"--model '{OTHER}' and --model '{mine}' both go by the name '{OTHER}'"):
        loaded("--model", OTHER, "--model", mine)
    with pytest.raises(BundleError, match=f"both go by the name '{DEFAULT}'"):
        loaded("--model", f"default,{DEFAULT}")
    named_default = tiny_bundle(tmp_path / "default", "x")
    with pytest.raises(BundleError, match="is named 'default'.*rename the folder"):
        loaded("--model", named_default)


def test_a_missing_shipped_model_fails_at_start(weights, capsys):
    assert main(["serve", "--model", OTHER, "--model", DEFAULT]) == 2
    err = capsys.readouterr().err
    assert f"glcic serve: error: the shipped model '{DEFAULT}' is missing from" in err
    assert "pass --model PATH" in err


def test_no_shipped_model_installed_fails_at_start(weights, tmp_path, capsys):
    (weights / OTHER).rename(tmp_path / "elsewhere")
    assert main(["serve"]) == 2
    assert f"the shipped model '{DEFAULT}' is missing" in capsys.readouterr().err


def test_a_missing_bundle_folder_fails_at_start(weights, tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_help_says_how_to_serve_several(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--model faces,scenes" in help_text
    assert "the first given is the default" in help_text
    assert "every shipped model installed" in help_text


def test_create_app_loads_models_as_serve_does(weights):
    tiny_bundle(weights / DEFAULT, f"tiny-{DEFAULT}", seed=1)
    app = create_app(models=[OTHER, DEFAULT])
    assert (app.state.models.names, app.state.default_model) == ((OTHER, DEFAULT), OTHER)
    assert create_app(models=OTHER).state.models.names == (OTHER,)  # one name, not letters
    assert create_app().state.models.names == (DEFAULT, OTHER)
    with pytest.raises(ValueError, match="with models= the first is the default"):
        create_app(models=[OTHER], default=OTHER)
