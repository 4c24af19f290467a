"""Several models on one server (glcic.server.models): the ``model`` field, /api/v1/models, the schema."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

from glcic import InpaintPipeline
from glcic.server import ServerSettings, create_app
from glcic.server.models import ModelSet, describe_model, load_models
from tests.server.conftest import (
    INPAINT,
    SETTINGS,
    assert_completed,
    assert_error,
    decode,
    encode,
    files,
    random_image,
    rect_mask,
    tiny_bundle,
)

FIRST, SECOND = "faces-tiny", "scenes-tiny"  # the names on the server, not the bundles' own


@pytest.fixture(scope="module")
def duo(pipe, other_pipe):
    """A server with two models; the first given is the default."""
    app = create_app(
        pipelines={FIRST: pipe, SECOND: other_pipe}, settings=ServerSettings(**SETTINGS)
    )
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def expected(pipe, other_pipe):
    """What each model makes of one image and mask (no blend), as the server should answer it."""
    image, mask = random_image(seed=5), rect_mask()
    out = {
        name: np.asarray(p.run(image, mask > 0, postprocess="none").image)
        for name, p in ((FIRST, pipe), (SECOND, other_pipe))
    }
    hole = mask > 0
    assert (out[FIRST][hole] != out[SECOND][hole]).any(), "the two test models must differ"
    return image, mask, out


def post(client, image, mask, form: str = "multipart", **fields):
    if form == "multipart":
        return client.post(INPAINT, files=files(encode(image), encode(mask)), data=fields)
    body = {"image": base64.b64encode(encode(image)).decode(), **fields}
    body["mask"] = base64.b64encode(encode(mask)).decode()
    return client.post(INPAINT, json=body)


@pytest.mark.parametrize("form", ["multipart", "json"])
@pytest.mark.parametrize("name", [FIRST, SECOND])
def test_the_request_picks_the_model(duo, expected, form, name):
    image, mask, out = expected
    r = post(duo, image, mask, form, model=name, postprocess="none")
    result = assert_completed(r, image, mask, seam=0)
    assert r.headers["x-glcic-model"] == name
    np.testing.assert_array_equal(result, out[name])


@pytest.mark.parametrize("form", ["multipart", "json"])
def test_the_default_runs_when_the_field_is_absent_or_default(duo, expected, form):
    image, mask, out = expected
    for fields in ({}, {"model": "default"}):
        r = post(duo, image, mask, form, postprocess="none", **fields)
        assert r.headers["x-glcic-model"] == FIRST, fields
        np.testing.assert_array_equal(decode(r.content), out[FIRST])


def test_default_can_be_any_of_the_pipelines(pipe, other_pipe, expected):
    image, mask, out = expected
    app = create_app(pipelines={FIRST: pipe, SECOND: other_pipe}, default=SECOND)
    assert (app.state.default_model, list(app.state.pipelines)) == (SECOND, [FIRST, SECOND])
    with TestClient(app) as c:
        r = post(c, image, mask, postprocess="none")
        assert r.headers["x-glcic-model"] == SECOND
        np.testing.assert_array_equal(decode(r.content), out[SECOND])
        assert c.get("/api/v1/model").json()["name"] == SECOND


def test_a_classical_method_names_itself_whatever_the_model(duo, expected):
    image, mask, _ = expected
    r = post(duo, image, mask, model=SECOND, method="telea")
    assert r.status_code == 200, r.text
    assert r.headers["x-glcic-model"] == "telea"


@pytest.mark.parametrize("form", ["multipart", "json"])
@pytest.mark.parametrize("value", ["places2", "", "FACES-TINY", "tiny-test"])
def test_an_unknown_model_is_422_listing_the_loaded_ones(duo, form, value):
    r = post(duo, random_image(), rect_mask(), form, model=value)
    body = assert_error(r, 422, "unknown_model", "model must name one of")
    for name in (FIRST, SECOND, "default"):
        assert repr(name) in body["detail"], body
    assert f"got {value!r}" in body["detail"]


def test_a_model_that_is_not_text_or_too_long_is_422(duo):
    image, mask = random_image(), rect_mask()
    assert_error(post(duo, image, mask, "json", model=5), 422, "unknown_model", "got 5")
    body = assert_error(post(duo, image, mask, "json", model=None), 422, "unknown_model")
    assert "got None" in body["detail"]
    body = assert_error(post(duo, image, mask, model="x" * 10_000), 422, "unknown_model")
    assert len(body["detail"]) < 300


def test_models_lists_every_loaded_model(duo, pipe, other_pipe):
    body = duo.get("/api/v1/models").json()
    assert body["default"] == FIRST
    assert [m["name"] for m in body["models"]] == [FIRST, SECOND]
    assert [m["default"] for m in body["models"]] == [True, False]
    first, second = body["models"]
    assert first["bundle_name"] == "tiny-test" and second["bundle_name"] == "tiny-other"
    assert second["description"] == "The other tiny test model."
    assert (second["license"], second["resolution"]) == ("CC0", 64)
    assert second["training_data"] == "none (random weights)"


def test_model_answers_the_default_or_the_one_named(duo):
    assert duo.get("/api/v1/model").json()["name"] == FIRST
    assert duo.get("/api/v1/model", params={"name": "default"}).json()["name"] == FIRST
    body = duo.get("/api/v1/model", params={"name": SECOND}).json()
    assert (body["name"], body["default"], body["license"]) == (SECOND, False, "CC0")
    r = duo.get("/api/v1/model", params={"name": "places2"})
    body = assert_error(r, 404, "unknown_model", "got 'places2'")
    assert repr(FIRST) in body["detail"] and repr(SECOND) in body["detail"]


def test_openapi_lists_each_apps_own_models(duo, client):
    def model_fields(c):
        content = c.get("/openapi.json").json()["paths"][INPAINT]["post"]["requestBody"]["content"]
        return [form["schema"]["properties"]["model"] for form in content.values()]

    for field in model_fields(duo):
        assert field["enum"] == [FIRST, SECOND, "default"]
        assert field["default"] == "default"
    for field in model_fields(client):  # another app: its own list, the shared schema untouched
        assert field["enum"] == ["tiny-test", "default"]
    assert duo.get("/api/v1/health").status_code == 200


# --------------------------------------------------------------------------- the model line

SCENES_TEXT = dict(  # how the shipped scene bundle's config.json words it
    description="Completes holes of any shape in photographs of scenes; trained at 128 px.",
    training_data="../shared/data/scenes/images (train split)",
    license="Weights trained on ../shared/data/scenes (the Kaggle photos, ImageNet): "
    "non-commercial research use only.",
)


def test_model_line_says_each_thing_once_and_no_folder(tmp_path):
    """Issue 23: the page said "trained at 128 px (trained at 128 px)" and "Weights trained
    on ../shared/data/scenes"; the training data is described by what it is."""
    pipe = InpaintPipeline.from_pretrained(tiny_bundle(tmp_path, "scenes-like", **SCENES_TEXT))
    with TestClient(create_app(pipeline=pipe, settings=ServerSettings(**SETTINGS))) as c:
        entry = c.get("/api/v1/models").json()["models"][0]
    line = entry["summary"]
    assert line.lower().count("trained at 64 px") == 1 and "trained at 128 px" not in line.lower()
    assert "natural-scene photographs" in entry["training_data"]
    assert "natural-scene photographs" in line
    for text in (line, entry["training_data"], entry["license"], entry["description"]):
        assert "../" not in text and "shared/data" not in text, text
    assert entry["license"].startswith("Weights trained on natural-scene photographs (the Kaggle")
    assert line.endswith("Licence: non-commercial research use only.")
    assert line.count("Weights trained on") == 0  # the data is said once, in "Trained at ... on"


@pytest.mark.parametrize(
    ("training_data", "data", "what"),
    [
        ("../shared/data/celeba (train split)", {}, "CelebA aligned face photos"),
        ("", {"format": "celeba", "root": "/mnt/x"}, "CelebA aligned face photos"),
        ("", {"root": "../shared/data/scenes/images"}, "natural-scene photographs"),
        ("/home/me/my_pictures (train split)", {}, "a folder the bundle does not describe"),
        ("1,000 drone photos of roofs", {"root": "/data/roofs"}, "1,000 drone photos of roofs"),
        # The bundle's own description wins over the known set its folder names.
        ("300 street scenes of Lyon", {"root": "../shared/data/scenes/images"}, "300 street scenes of Lyon"),
        ("CelebA faces, glasses only", {"format": "celeba"}, "CelebA faces, glasses only"),
        ("", {}, ""),
    ],
)
def test_training_data_is_described_by_what_it_is(training_data, data, what):
    info = {"description": "", "resolution": 128, "training_data": training_data, "license": "MIT"}
    out = describe_model(info, data)
    assert what in out["training_data"] and "/" not in out["summary"]
    assert (what in out["summary"]) if what else out["summary"] == "Trained at 128 px. Licence: MIT."


def test_shipped_models_lines():
    models = load_models()
    for name in models.names:
        entry = models.describe(name)
        line = entry["summary"]
        assert "/" not in line and "../" not in entry["license"], line
        assert line.lower().count("trained at") == 1, line
        what = {"faces": "CelebA aligned face photos", "scenes": "natural-scene photographs"}[name]
        assert what in entry["training_data"] and what in line


def test_openapi_states_the_mask_rule_and_the_runnable_methods(client):
    from glcic.io import MASK_RULE
    from glcic.server.methods import runnable_methods

    content = client.get("/openapi.json").json()["paths"][INPAINT]["post"]["requestBody"]["content"]
    for form in content.values():
        props = form["schema"]["properties"]
        assert MASK_RULE in props["mask"]["description"]
        assert props["method"]["enum"] == list(runnable_methods())
        assert {"format", "strip_metadata", "quality"} <= set(props)
    assert "transparent layer" in MASK_RULE


# --------------------------------------------------------------------------- create_app's arguments


def test_one_pipeline_is_named_after_its_bundle_or_default(pipe):
    assert ModelSet.single(pipe).names == ("tiny-test",)

    class Nameless:
        info: dict = {}

    models = ModelSet.single(Nameless())
    assert (models.names, models.default, models.resolve("default")) == (("default",), "default", "default")


def test_bad_model_sets_are_refused(pipe, other_pipe):
    with pytest.raises(ValueError, match="at least one model"):
        ModelSet({}, "x")
    with pytest.raises(ValueError, match=r"default model must be one of the loaded ones \('a'\); got 'b'"):
        ModelSet({"a": pipe}, "b")
    with pytest.raises(ValueError, match="non-empty text"):
        ModelSet({"": pipe}, "")
    with pytest.raises(ValueError, match="named 'default' must be the default"):
        ModelSet({"a": pipe, "default": other_pipe}, "a")
    with pytest.raises(ValueError, match="one of pipeline=, models= and pipelines="):
        create_app(pipeline=pipe, pipelines={"a": pipe})
    with pytest.raises(ValueError, match="default= names one of pipelines="):
        create_app(pipeline=pipe, default="tiny-test")
