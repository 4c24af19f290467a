"""What the ``method`` field takes on this server (glcic.server.methods): GET /api/v1/methods, the checks."""

from __future__ import annotations

import pytest

from glcic import classical
from glcic.options import CLASSICAL_METHODS, METHODS
from glcic.server import methods
from tests.server.conftest import INPAINT, assert_error, encode, files, random_image, rect_mask


@pytest.fixture
def without(monkeypatch):
    """Make the classical module say that ``name``'s library cannot load here."""

    def drop(name: str) -> None:
        monkeypatch.setattr(
            classical, "available_methods", lambda: tuple(m for m in CLASSICAL_METHODS if m != name)
        )
        monkeypatch.setattr(
            classical, "unavailable_methods", lambda: {name: "its library is missing (test)."}
        )
        methods.runnable_methods.cache_clear()

    yield drop
    methods.runnable_methods.cache_clear()


def test_methods_lists_every_method_the_api_takes(client):
    """Issue 23: the page's menu lacked fsr; it is built from this list now."""
    body = client.get("/api/v1/methods").json()
    names = [m["name"] for m in body["methods"]]
    assert names == list(methods.runnable_methods())
    assert body["default"] == "glcic" and names[0] == "glcic"
    assert "fsr" in names and set(names) <= set(METHODS)
    glcic = body["methods"][0]
    assert (glcic["kind"], glcic["default"]) == ("network", True)
    assert all(m["label"] for m in body["methods"])
    assert {m["kind"] for m in body["methods"][1:]} == {"classical"}


def test_every_listed_method_runs(client):
    image, mask = random_image(16, 16), rect_mask(16, 16, box=(4, 4, 10, 10))
    for name in methods.runnable_methods():
        r = client.post(INPAINT, files=files(encode(image), encode(mask)), data={"method": name})
        assert r.status_code == 200, (name, r.text)


def test_a_method_that_cannot_load_is_not_listed_and_is_refused(client, without):
    without("fsr")
    names = [m["name"] for m in client.get("/api/v1/methods").json()["methods"]]
    assert "fsr" not in names and "telea" in names
    r = client.post(
        INPAINT, files=files(encode(random_image()), encode(rect_mask())), data={"method": "fsr"}
    )
    body = assert_error(r, 422, "invalid_option", "method 'fsr' cannot run on this server")
    assert "(its library is missing (test)); pick one of 'glcic'" in body["detail"]


def test_an_unknown_method_lists_those_that_run(client):
    r = client.post(
        INPAINT, files=files(encode(random_image()), encode(rect_mask())), data={"method": "magic"}
    )
    body = assert_error(r, 422, "invalid_option", "method must be one of")
    assert "'fsr'" in body["detail"] and "got 'magic'" in body["detail"]
