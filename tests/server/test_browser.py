"""The page at / in headless Debian chromium: open, paint or load a mask, run, compare, download.

Needs Debian's chromium at /usr/bin/chromium and the ``playwright`` Python package (its
own browser download is not used); skips with the reason when either is missing.
"""

from __future__ import annotations

import base64
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


def write_image(path: Path, **save) -> np.ndarray:
    """A smooth colour ramp plus noise: every pixel differs from its neighbours (as saved:
    a JPEG's decoded pixels)."""
    y, x = np.mgrid[0:IMG_H, 0:IMG_W]
    rng = np.random.default_rng(0)
    rgb = np.stack([x * 255 // IMG_W, y * 255 // IMG_H, (x + y) % 256], axis=2)
    rgb = np.clip(rgb + rng.integers(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path, **save)
    return np.asarray(Image.open(path).convert("RGB"))


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
    assert download.suggested_filename == "photo_filled.png"  # PNG in, PNG out, the input's name
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


# --------------------------------------------------------------------------- mask files, formats, menus

MASK_BOX = (100, 120, 180, 260)  # top, left, bottom, right, in image pixels


def write_mask(path: Path, alpha: bool = False) -> np.ndarray:
    """A rectangle hole: white on black, or red on a transparent white layer (RGBA)."""
    hole = np.zeros((IMG_H, IMG_W), bool)
    t, left, b, r = MASK_BOX
    hole[t:b, left:r] = True
    if alpha:
        rgba = np.zeros((IMG_H, IMG_W, 4), np.uint8)
        rgba[..., :3] = 255
        rgba[hole] = (255, 0, 0, 255)
        Image.fromarray(rgba).save(path)
    else:
        Image.fromarray(hole.astype(np.uint8) * 255).save(path)
    return hole


def shown_mask(page, original: np.ndarray) -> np.ndarray:
    """The hole the page shows over the photo: (H, W) bool, where the view differs from
    ``original`` (the red overlay moves every hole pixel by 0.55 x its distance to the
    overlay colour, over 12 levels for the test images; a JPEG's decoders differ by 1-3)."""
    b64 = page.evaluate(
        """async () => {
            // The editor redraws on the next animation frame: wait for two.
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            const c = document.getElementById('view');
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let s = ''; for (let i = 0; i < px.length; i++) s += String.fromCharCode(px[i]);
            return btoa(s);
        }"""
    )
    view = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(IMG_H, IMG_W, 4)[..., :3]
    return (np.abs(view.astype(int) - original.astype(int)) > 12).any(axis=2)


def drop_files(page, selector: str, *paths: Path, zones_shown: bool | None = None) -> None:
    """Drop ``paths`` (PNG files) on ``selector`` as a browser does: dragover, then drop.
    ``zones_shown``: whether the dragover must have shown the image / mask halves."""
    data = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const [b64, name] of files) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], name, { type: "image/png" }));
            }
            return dt;
        }""",
        [[base64.b64encode(p.read_bytes()).decode(), p.name] for p in paths],
    )
    page.dispatch_event(selector, "dragover", {"dataTransfer": data})
    if zones_shown is not None:
        assert page.locator("#drop-zones").is_visible() == zones_shown
    page.dispatch_event(selector, "drop", {"dataTransfer": data})
    assert page.locator("#drop-zones").is_hidden()


def test_load_a_mask_edit_it_run_and_download_a_jpeg(page, server_url, tmp_path):
    """Issue 23: the page could not load a mask file, and downloaded PNG for a JPEG."""
    original = write_image(tmp_path / "photo.jpg", quality=90)
    hole = write_mask(tmp_path / "photo_mask.png")
    page.goto(server_url + "/")
    assert page.locator("#mask-file").is_disabled()  # no image yet
    open_image(page, tmp_path / "photo.jpg")
    assert page.locator("#run").is_disabled()

    # Load the mask file with the button's file input: shown over the photo, Run enabled.
    page.set_input_files("#mask-file", str(tmp_path / "photo_mask.png"))
    status = page.locator("#status")
    sync_api.expect(status).to_contain_text(f"Loaded mask photo_mask.png: its white pixels, {hole.sum()} pixels")
    assert page.locator("#run").is_enabled()
    t, left, b, r = MASK_BOX
    inside, outside = canvas_pixel(page, (left + r) // 2, (t + b) // 2), canvas_pixel(page, 20, 20)
    assert inside[0] > original[(t + b) // 2, (left + r) // 2, 0]  # tinted red by the overlay
    assert outside[:3] == original[20, 20].tolist()
    np.testing.assert_array_equal(shown_mask(page, original), hole)

    # Edit it: erase its left part with the eraser, paint a dot with the brush.
    page.keyboard.press("e")
    page.locator("#brush-size").fill("20")
    box = page.locator("#view").bounding_box()
    page.mouse.move(*to_screen(box, left + 10, t + 10))
    page.mouse.down()
    page.mouse.move(*to_screen(box, left + 10, b - 10))
    page.mouse.up()
    page.keyboard.press("b")
    paint_a_dot(page, 60, 240)
    edited = shown_mask(page, original)
    assert not edited[(t + b) // 2, left + 10] and edited[(t + b) // 2, r - 10]
    assert edited[240, 60] and edited.sum() < hole.sum() + 400
    page.keyboard.press("Control+z")  # the dot
    page.keyboard.press("Control+z")  # the erased stroke: the mask as loaded
    np.testing.assert_array_equal(shown_mask(page, original), hole)
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+Shift+z")
    np.testing.assert_array_equal(shown_mask(page, original), edited)

    # Run; the download is a JPEG named after the input.
    page.locator("#run").click()
    sync_api.expect(status).to_contain_text("Done", timeout=60_000)
    with page.expect_download() as info:
        page.locator("#download").click()
    download = info.value
    assert download.suggested_filename == "photo_filled.jpg"
    data = Path(download.path()).read_bytes()
    result = Image.open(io.BytesIO(data))
    assert result.format == "JPEG" and result.size == (IMG_W, IMG_H)
    # Far from the edited hole the JPEG holds the input's pixels, up to re-encoding.
    far = np.ones((IMG_H, IMG_W), bool)
    far[t - 20 : b + 20, left - 20 : r + 20] = False
    far[220:260, 40:80] = False
    diff = np.abs(np.asarray(result.convert("RGB")).astype(int) - original.astype(int))
    assert diff[far].mean() < 4
    assert page.problems == []


def test_drop_a_transparent_layer_mask_on_the_mask_half(page, server_url, tmp_path):
    """A mask painted on a transparent layer (red on transparent white) is read from its alpha."""
    original = write_image(tmp_path / "photo.png")
    hole = write_mask(tmp_path / "strokes.png", alpha=True)
    page.goto(server_url + "/")
    open_image(page, tmp_path / "photo.png")
    drop_files(page, "#drop-mask", tmp_path / "strokes.png", zones_shown=True)
    sync_api.expect(page.locator("#status")).to_contain_text(
        "Loaded mask strokes.png: what is painted on its transparent layer"
    )
    np.testing.assert_array_equal(shown_mask(page, original), hole)
    assert page.locator("#view").evaluate("c => [c.width, c.height]") == [IMG_W, IMG_H]  # still the photo

    # Dropping on the image half opens a new image, with an empty mask.
    write_image(tmp_path / "other.png")
    drop_files(page, "#drop-image", tmp_path / "other.png", zones_shown=True)
    open_status = f"Opened other.png ({IMG_W}×{IMG_H})"
    sync_api.expect(page.locator("#status")).to_contain_text(open_status)
    assert not shown_mask(page, original).any()
    assert page.problems == []


def test_drop_an_image_and_its_mask_together(page, server_url, tmp_path):
    original = write_image(tmp_path / "photo.png")
    hole = write_mask(tmp_path / "photo_mask.png")
    page.goto(server_url + "/")
    # Before an image is open the stage takes the drop whole; the file named "mask" is the mask.
    drop_files(page, "#stage", tmp_path / "photo_mask.png", tmp_path / "photo.png", zones_shown=False)
    sync_api.expect(page.locator("#status")).to_contain_text("Loaded mask photo_mask.png")
    assert page.locator("#view").get_attribute("aria-label").startswith("photo.png")
    np.testing.assert_array_equal(shown_mask(page, original), hole)
    assert page.problems == []


def test_a_wrong_size_or_empty_mask_is_explained(page, server_url, tmp_path):
    write_image(tmp_path / "photo.png")
    Image.new("L", (IMG_H, IMG_W), 255).save(tmp_path / "turned.png")  # 300x400: turned
    Image.new("L", (IMG_W, IMG_H), 0).save(tmp_path / "black.png")
    page.goto(server_url + "/")
    open_image(page, tmp_path / "photo.png")
    status = page.locator("#status")
    page.set_input_files("#mask-file", str(tmp_path / "turned.png"))
    sync_api.expect(status).to_contain_text(f"turned.png is {IMG_H}×{IMG_W} but the image is {IMG_W}×{IMG_H}")
    sync_api.expect(status).to_contain_text("EXIF rotation")
    page.set_input_files("#mask-file", str(tmp_path / "black.png"))
    sync_api.expect(status).to_contain_text("has no hole")
    assert page.locator("#run").is_disabled()
    assert page.problems == []


def test_model_line_says_each_thing_once(page, tmp_path):
    """Issue 23: the model line said "trained at 128 px (trained at 128 px)" and named a
    folder ("Weights trained on ../shared/data/scenes")."""
    from tests.server.test_models import SCENES_TEXT

    pipe = pipeline_mod.InpaintPipeline.from_pretrained(
        tiny_bundle(tmp_path / "b", "scenes", **SCENES_TEXT), device="cpu"
    )
    app = create_app(pipeline=pipe, settings=ServerSettings(max_concurrent=1, queue=2, timeout=60))
    with serve_in_thread(app) as url:
        page.goto(url + "/")
        line = page.locator("#model-info")
        sync_api.expect(line).to_contain_text("natural-scene photographs")
        text = line.inner_text()
    assert text.lower().count("trained at") == 1 and "../" not in text and "shared/data" not in text
    assert page.problems == []


def test_method_menu_is_what_the_server_runs(page, server_url, tmp_path):
    """Issue 23: the page's method menu lacked fsr; it is built from GET /api/v1/methods."""
    from glcic.server.methods import runnable_methods

    page.goto(server_url + "/")
    sync_api.expect(page.locator("#method option")).to_have_count(len(runnable_methods()))
    values = page.locator("#method option").evaluate_all("os => os.map(o => o.value)")
    assert values == list(runnable_methods()) and "fsr" in values
    assert page.locator("#method").input_value() == "glcic"

    # fsr runs from the menu.
    write_image(tmp_path / "photo.png")
    open_image(page, tmp_path / "photo.png")
    paint_a_dot(page)
    page.locator("details.advanced summary").click()
    page.locator("#method").select_option("fsr")
    page.locator("#run").click()
    sync_api.expect(page.locator("#status")).to_contain_text("with fsr", timeout=120_000)
    assert page.problems == []
