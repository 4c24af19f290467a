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
from glcic.server import create_app
from glcic.server.models import split_models
from tests.server.conftest import tiny_bundle


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """A weights folder holding a tiny ``faces`` only (add ``scenes`` with tiny_bundle)."""
    folder = tmp_path / "weights"
    tiny_bundle(folder / "faces", "tiny-faces")
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


def test_without_model_every_installed_shipped_model_faces_the_default(weights):
    assert installed_models() == ["faces"]
    assert loaded() == (("faces",), "faces")
    tiny_bundle(weights / "scenes", "tiny-scenes", seed=1)
    assert installed_models() == ["faces", "scenes"]
    assert loaded() == (("faces", "scenes"), "faces")


def test_without_model_or_faces_the_installed_one_is_the_default(weights):
    (weights / "faces").rename(weights / "scenes")
    assert loaded() == (("scenes",), "scenes")


def test_the_first_model_given_is_the_default(weights):
    tiny_bundle(weights / "scenes", "tiny-scenes", seed=1)
    assert loaded("--model", "scenes", "--model", "faces") == (("scenes", "faces"), "scenes")
    assert loaded("--model", "scenes,faces") == (("scenes", "faces"), "scenes")
    assert loaded("--model", "default") == (("faces",), "faces")


def test_a_bundle_folder_goes_by_its_folder_name(weights, tmp_path):
    folder = tiny_bundle(tmp_path / "runs" / "celebahq", "whatever-it-calls-itself")
    assert loaded("--model", folder, "--model", "faces") == (("celebahq", "faces"), "celebahq")
    # its config.json names the folder too
    assert loaded("--model", f"{folder}/config.json") == (("celebahq",), "celebahq")


def test_two_models_of_one_name_are_refused(weights, tmp_path):
    other = tiny_bundle(tmp_path / "mine" / "faces", "my-faces")
    with pytest.raises(BundleError, match=f"--model 'faces' and --model '{other}' both go by the name 'faces'"):
        loaded("--model", "faces", "--model", other)
    with pytest.raises(BundleError, match="both go by the name 'faces'"):
        loaded("--model", "default,faces")
    named_default = tiny_bundle(tmp_path / "default", "x")
    with pytest.raises(BundleError, match="is named 'default'.*rename the folder"):
        loaded("--model", named_default)


def test_a_missing_shipped_model_fails_at_start(weights, capsys):
    assert main(["serve", "--model", "faces", "--model", "scenes"]) == 2
    err = capsys.readouterr().err
    assert "glcic serve: error: the shipped model 'scenes' is missing from" in err
    assert "pass --model PATH" in err


def test_no_shipped_model_installed_fails_at_start(weights, tmp_path, capsys):
    (weights / "faces").rename(tmp_path / "elsewhere")
    assert main(["serve"]) == 2
    assert "the shipped model 'faces' is missing" in capsys.readouterr().err


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
    tiny_bundle(weights / "scenes", "tiny-scenes", seed=1)
    app = create_app(models=["scenes", "faces"])
    assert (app.state.models.names, app.state.default_model) == (("scenes", "faces"), "scenes")
    assert create_app(models="scenes").state.models.names == ("scenes",)  # one name, not letters
    assert create_app().state.models.names == ("faces", "scenes")
    with pytest.raises(ValueError, match="with models= the first is the default"):
        create_app(models=["faces"], default="faces")
