"""The app as a whole (glcic.server.app): service endpoints, the page, docs, and JSON for every error."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from glcic.server import ServerSettings, create_app
from glcic.server.app import STATIC_DIR
from tests.server.conftest import (
    INPAINT,
    assert_error,
    encode,
    files,
    random_image,
    rect_mask,
)


def test_unknown_path_and_method_are_json(client):
    assert_error(client.get("/api/v1/nothing"), 404, "not_found")
    assert_error(client.get(INPAINT), 405, "method_not_allowed")


def test_static_files_cannot_escape_their_folder(client):
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert b"create_app" not in r.content


def test_server_bug_is_json_500_without_traceback(pipe):
    class Broken:
        info = pipe.info

        def run(self, *args, **kwargs):
            raise RuntimeError("secret internal state /home/model")

    app = create_app(pipeline=Broken(), settings=ServerSettings())
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post(INPAINT, files=files(encode(random_image()), encode(rect_mask())))
        assert_error(r, 500, "internal_error")
        assert "secret" not in r.text and "Traceback" not in r.text


def test_health(client):
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["limits"]["max_pixels"] == 128 * 128
    assert body["limits"]["max_upload_bytes"] == int(0.25 * 2**20)
    assert body["running"] == 0 and body["waiting"] == 0


def test_model(client, pipe):
    body = client.get("/api/v1/model").json()
    info = dict(pipe.info)
    summary = "Trained at 64 px on none (random weights). Licence: MIT."
    expected = {**info, "name": "tiny-test", "default": True, "bundle_name": info["name"]}
    assert body == {**expected, "summary": summary}
    assert body["name"] == "tiny-test"
    assert body["resolution"] == 64
    for key in ("training_data", "value_range", "license"):
        assert key in body


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert '<script type="module" src="/static/app.js">' in r.text
    assert "https://" not in r.text  # no CDN
    types = {"style.css": "text/css", "index.html": "text/html"}
    # app.js and every module it imports: a module script needs a JavaScript content type.
    types.update({name: "javascript" for name in page_modules()})
    assert {"app.js", "api.js", "mask_editor.js"} <= set(types)
    for name, kind in types.items():
        r = client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert kind in r.headers["content-type"], (name, r.headers["content-type"])
        assert r.headers["x-content-type-options"] == "nosniff"


def page_modules(name: str = "app.js") -> set[str]:
    """``name`` and the static modules it imports, directly or not; each import is ``./FILE.js``."""
    seen = set()
    todo = [name]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = (STATIC_DIR / name).read_text(encoding="utf-8")
        for spec in re.findall(r'^import .* from "([^"]+)";$', source, flags=re.M):
            assert re.fullmatch(r"\./\w+\.js", spec), f"{name} imports {spec}: expected ./FILE.js"
            todo.append(spec[2:])
    return seen


def test_openapi_documents_both_request_forms(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"][INPAINT]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    assert body["multipart/form-data"]["schema"]["required"] == ["image", "mask"]
    assert client.get("/docs").status_code == 200


def test_openapi_docs_work_offline(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/_swagger/swagger-ui-bundle.js" in r.text
    assert "cdn" not in r.text.lower() and "https://" not in r.text.replace(
        "https://fastapi.tiangolo.com", ""
    )
    js = client.get("/_swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "glcic"


def test_page_offers_every_strategy_and_postprocess(client):
    """The page's fixed menus hold every value the API takes (the methods come from the server)."""
    import re

    from glcic.options import POSTPROCESS, STRATEGIES

    html = client.get("/").text
    for select, values in (("strategy", STRATEGIES), ("postprocess", POSTPROCESS)):
        block = re.search(rf'<select id="{select}".*?</select>', html, re.DOTALL).group(0)
        assert sorted(re.findall(r'<option value="([^"]+)"', block)) == sorted(values), select
