"""The page at / in headless Debian chromium: open, paint, run, compare, download.

Needs Debian's chromium at /usr/bin/chromium and the ``playwright`` Python package (its
own browser download is not used); skips with the reason when either is missing.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.models.completion import CompletionNetwork
from glcic.postprocess import DEFAULT_SEAM
from glcic.server import ServerSettings, create_app, serve_in_thread
from tests.server.conftest import tiny_bundle

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright module is missing: pip install playwright"
)
pipeline_mod = pytest.importorskip("glcic.pipeline", reason="glcic.pipeline is not there yet")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IMG_H, IMG_W = 300, 400
BRUSH = 24  # image pixels
# The stroke, in image pixels: a horizontal line through the middle.
STROKE_Y = 150
STROKE_X = (100, 300)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    torch.manual_seed(0)
    cfg = ModelConfig(width=0.125)
    info = BundleInfo(model=cfg, resolution=64, mean_pixel=[0.5, 0.4, 0.3], name="tiny-test")
    folder = save_bundle(tmp_path_factory.mktemp("bundle"), CompletionNetwork(cfg).eval(), info)
    pipe = pipeline_mod.InpaintPipeline.from_pretrained(str(folder), device="cpu")
    app = create_app(pipeline=pipe, settings=ServerSettings(max_concurrent=1, queue=2, timeout=60))
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def duo_url(tmp_path_factory):
    """A server with two models, ``tiny-test`` the default."""
    pipes = {
        name: pipeline_mod.InpaintPipeline.from_pretrained(
            tiny_bundle(
                tmp_path_factory.mktemp(name), name, seed=seed, description=f"The {name} model."
            ),
            device="cpu",
        )
        for name, seed in (("tiny-test", 0), ("tiny-other", 1))
    }
    settings = ServerSettings(max_concurrent=1, queue=2, timeout=60)
    app = create_app(pipelines=pipes, settings=settings)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # A narrow window, so the 400 px wide canvas is scaled down by CSS and the
    # pointer -> image mapping is exercised.
    context = browser.new_context(viewport={"width": 360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.problems = problems
    yield page
    context.close()


def write_image(path: Path) -> np.ndarray:
    """A smooth colour ramp plus noise: every pixel differs from its neighbours."""
    y, x = np.mgrid[0:IMG_H, 0:IMG_W]
    rng = np.random.default_rng(0)
    rgb = np.stack([x * 255 // IMG_W, y * 255 // IMG_H, (x + y) % 256], axis=2)
    rgb = np.clip(rgb + rng.integers(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return rgb


def canvas_pixel(page, x: int, y: int) -> list[int]:
    return page.evaluate(
        "([x, y]) => Array.from(document.getElementById('view').getContext('2d').getImageData(x, y, 1, 1).data)",
        [x, y],
    )


def to_screen(box: dict, x: float, y: float) -> tuple[float, float]:
    return box["x"] + x * box["width"] / IMG_W, box["y"] + y * box["height"] / IMG_H


def open_image(page, path: Path) -> None:
    """Choose the file and wait until the page has decoded and drawn it (it loads asynchronously)."""
    page.set_input_files("#file", str(path))
    sync_api.expect(page.locator("#status")).to_contain_text(f"Opened {path.name} ({IMG_W}×{IMG_H})")


def test_paint_run_compare_download(page, server_url, tmp_path):
    original = write_image(tmp_path / "photo.png")
    page.goto(server_url + "/")
    sync_api.expect(page.locator("#model-info")).to_contain_text("tiny-test")
    # The only model: shown, not changeable.
    assert page.locator("#model").is_disabled()
    assert page.locator("#model").input_value() == "tiny-test"
    assert page.locator("#run").is_disabled()

    # Open the image.
    open_image(page, tmp_path / "photo.png")
    view = page.locator("#view")
    assert view.evaluate("c => [c.width, c.height]") == [IMG_W, IMG_H]  # full resolution
    box = view.bounding_box()
    assert box["width"] < IMG_W - 20, "the canvas should be scaled down by CSS in a narrow window"

    # Paint a stroke with the mouse.
    page.locator("#brush-size").fill(str(BRUSH))
    page.mouse.move(*to_screen(box, STROKE_X[0], STROKE_Y))
    page.mouse.down()
    for x in np.linspace(STROKE_X[0], STROKE_X[1], 12)[1:]:
        page.mouse.move(*to_screen(box, x, STROKE_Y))
    page.mouse.up()
    assert page.locator("#run").is_enabled()

    # Undo and redo, by keyboard.
    page.keyboard.press("Control+z")
    assert page.locator("#run").is_disabled()
    page.keyboard.press("Control+Shift+z")
    assert page.locator("#run").is_enabled()

    # Run, and read the result back through the download button.
    page.locator("#run").click()
    sync_api.expect(page.locator("#status")).to_contain_text("Done", timeout=60_000)
    with page.expect_download() as info:
        page.locator("#download").click()
    download = info.value
    assert download.suggested_filename == "photo-inpainted.png"
    result = np.asarray(Image.open(io.BytesIO(Path(download.path()).read_bytes())).convert("RGB"))
    assert result.shape == original.shape

    # Outside the stroke (with a margin for the scaled, anti-aliased edge and the seam
    # that the default blend may change): unchanged.
    yy, xx = np.mgrid[0:IMG_H, 0:IMG_W]
    dist = np.hypot(xx - np.clip(xx, *STROKE_X), yy - STROKE_Y)  # distance to the segment
    outside = dist > BRUSH / 2 + 4 + 1.5 * DEFAULT_SEAM  # the seam is Chebyshev: up to sqrt(2) x as far
    np.testing.assert_array_equal(result[outside], original[outside])
    # Inside the stroke: changed.
    inside = dist < BRUSH / 2 - 4
    changed = (result[inside] != original[inside]).any(axis=1).mean()
    assert changed > 0.9, f"only {changed:.0%} of the painted pixels changed"

    # Hold Space to see the original; release to see the result again.
    cx, cy = sum(STROKE_X) // 2, STROKE_Y
    assert canvas_pixel(page, cx, cy)[:3] == result[cy, cx].tolist()
    page.keyboard.down("Space")
    assert canvas_pixel(page, cx, cy)[:3] == original[cy, cx].tolist()
    page.keyboard.up("Space")
    assert canvas_pixel(page, cx, cy)[:3] == result[cy, cx].tolist()
    assert "Done" in page.locator("#status").inner_text()  # Space did not click the focused Run

    assert page.problems == []


def paint_a_dot(page, x: int = 200, y: int = 150) -> None:
    box = page.locator("#view").bounding_box()
    page.mouse.move(*to_screen(box, x, y))
    page.mouse.down()
    page.mouse.up()


def test_the_model_select_picks_the_model(page, duo_url, tmp_path):
    write_image(tmp_path / "photo.png")
    page.goto(duo_url + "/")
    select = page.locator("#model")
    sync_api.expect(page.locator("#model-info")).to_contain_text("The tiny-test model")
    assert select.is_enabled()
    assert select.input_value() == "tiny-test"  # the server's default
    options = select.locator("option")
    assert options.evaluate_all("os => os.map(o => [o.value, o.textContent])") == [
        ["tiny-test", "tiny-test (default)"],
        ["tiny-other", "tiny-other"],
    ]
    open_image(page, tmp_path / "photo.png")
    paint_a_dot(page)
    status = page.locator("#status")

    # The default first, then the other one: the server says which ran.
    page.locator("#run").click()
    sync_api.expect(status).to_contain_text("Done", timeout=60_000)
    sync_api.expect(status).to_contain_text("with tiny-test")
    select.select_option("tiny-other")
    sync_api.expect(page.locator("#model-info")).to_contain_text("The tiny-other model")
    page.locator("#run").click()
    # X-Glcic-Model: only a request whose model field says tiny-other gets it.
    sync_api.expect(status).to_contain_text("with tiny-other", timeout=60_000)
    assert page.problems == []


def test_server_errors_are_shown(page, server_url, tmp_path):
    write_image(tmp_path / "photo.png")
    page.goto(server_url + "/")
    open_image(page, tmp_path / "photo.png")
    paint_a_dot(page)
    # A value the page never offers, to get a 422 back from the server.
    page.evaluate(
        "() => { const s = document.getElementById('postprocess'); s.add(new Option('bogus', 'bogus')); s.value = 'bogus'; }"
    )
    page.locator("#run").click()
    status = page.locator("#status")
    sync_api.expect(status).to_contain_text("Error 422 (invalid_option)", timeout=30_000)
    sync_api.expect(status).to_contain_text("postprocess must be one of")
    assert page.locator("#download").get_attribute("aria-disabled") == "true"
    # the browser logs failed fetches as console errors; nothing else may appear
    assert [p for p in page.problems if "422" not in p] == []


def test_not_an_image_is_refused_in_the_page(page, server_url, tmp_path):
    (tmp_path / "notes.png").write_bytes(b"not a picture")
    page.goto(server_url + "/")
    page.set_input_files("#file", str(tmp_path / "notes.png"))
    sync_api.expect(page.locator("#status")).to_contain_text("could not be decoded")
    assert page.locator("#run").is_disabled()


def test_clear_tools_and_brush_keys(page, server_url, tmp_path):
    write_image(tmp_path / "photo.png")
    page.goto(server_url + "/")
    open_image(page, tmp_path / "photo.png")
    size = page.locator("#brush-size")
    assert size.input_value() == str(round(min(IMG_W, IMG_H) / 12))  # 1/12 of the short side
    sync_api.expect(page.locator("#brush-size-value")).to_have_text("25 px")

    # [ and ] resize the brush; E and B pick the tool.
    page.keyboard.press("[")
    assert size.input_value() == "20"
    page.keyboard.press("]")
    assert size.input_value() == "25"
    page.keyboard.press("e")
    assert page.locator("#tool-eraser").is_checked()
    page.keyboard.press("b")
    assert page.locator("#tool-brush").is_checked()

    # Clear mask is one step of the history: undo brings the paint back.
    paint_a_dot(page)
    assert page.locator("#clear").is_enabled() and page.locator("#run").is_enabled()
    page.locator("#clear").click()
    assert page.locator("#clear").is_disabled() and page.locator("#run").is_disabled()
    page.keyboard.press("Control+z")
    assert page.locator("#run").is_enabled()
    assert page.locator("#redo").is_enabled()
    assert page.problems == []
