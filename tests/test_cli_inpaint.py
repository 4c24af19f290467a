"""`glcic inpaint`: single image and folder mode, exit codes, one-line errors, same pixels as Python."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.bundle import BundleInfo, save_bundle
from glcic.cli import main
from glcic.config import ModelConfig
from glcic.io import load_image
from glcic.models.completion import CompletionNetwork
from glcic.pipeline import InpaintPipeline

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125))
    info = BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5, 0.4, 0.3], name="tiny")
    return save_bundle(tmp_path_factory.mktemp("bundle"), net, info)


def _write(tmp_path: Path, name: str, h: int = 45, w: int = 58, seed: int = 0, hole=(10, 12, 14, 16)) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    m = np.zeros((h, w), np.uint8)
    y, x, bh, bw = hole
    m[y : y + bh, x : x + bw] = 255
    Image.fromarray(img).save(tmp_path / f"{name}.png")
    Image.fromarray(m).save(tmp_path / f"{name}_mask.png")
    return tmp_path / f"{name}.png", tmp_path / f"{name}_mask.png"


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main(["inpaint", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- single image


def test_cli_and_python_give_identical_pixels(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a")
    for extra in ([], ["--postprocess", "blend"], ["--strategy", "crop"]):
        out = tmp_path / "out.png"
        code, stdout, _ = _cli(capsys, image, "--mask", mask, "--output", out, "--model", bundle, "--precision", "fp32", *extra)
        assert code == 0 and "wrote" in stdout
        pipe = InpaintPipeline.from_pretrained(bundle, precision="fp32")
        kw = {"postprocess": extra[1]} if extra[:1] == ["--postprocess"] else {"strategy": extra[1]} if extra else {}
        ref = pipe(np.asarray(Image.open(image)), np.asarray(Image.open(mask)), **kw)
        np.testing.assert_array_equal(load_image(out).rgb, ref)


def test_rgba_keeps_alpha_and_gray_stays_gray(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a")
    rgb = np.asarray(Image.open(image))
    alpha = np.random.default_rng(2).integers(0, 256, rgb.shape[:2], dtype=np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "rgba.png")
    code, _, _ = _cli(capsys, tmp_path / "rgba.png", "--mask", mask, "--output", tmp_path / "o.png", "--model", bundle)
    assert code == 0
    np.testing.assert_array_equal(load_image(tmp_path / "o.png").alpha, alpha)
    code, _, err = _cli(capsys, tmp_path / "rgba.png", "--mask", mask, "--output", tmp_path / "o.jpg", "--model", bundle)
    assert code == 2 and "JPEG cannot store the image's transparency" in err
    Image.fromarray(rgb).convert("L").save(tmp_path / "g.png")
    code, _, _ = _cli(capsys, tmp_path / "g.png", "--mask", mask, "--output", tmp_path / "og.png", "--model", bundle)
    assert code == 0 and Image.open(tmp_path / "og.png").mode == "L"
    # The pipeline's gray rule is the only one: the CLI writes what Python returns.
    ref = InpaintPipeline.from_pretrained(bundle)(tmp_path / "g.png", mask)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "og.png")), np.asarray(ref))


def test_image_decoded_and_mask_parsed_once(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import glcic.inputs
    import glcic.io

    calls: list[str] = []
    for module in (glcic.io, glcic.inputs):
        for name in ("load_image", "load_mask"):
            real = getattr(glcic.io, name)
            monkeypatch.setattr(module, name, lambda *a, _n=name, _f=real, **k: calls.append(_n) or _f(*a, **k))
    image, mask = _write(tmp_path, "a")
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "o.png", "--model", bundle)
    assert code == 0, err
    assert sorted(calls) == ["load_image", "load_mask"]


def test_classical_method_needs_no_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a")
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "t.png", "--method", "telea", "--model", tmp_path / "nothing")
    assert code == 0, err
    ref = InpaintPipeline.classical("telea")(np.asarray(Image.open(image)), np.asarray(Image.open(mask)))
    np.testing.assert_array_equal(load_image(tmp_path / "t.png").rgb, ref)


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", r"image file .*missing\.png does not exist"),
        ("truncated", r"cut\.png is truncated or corrupt"),
        ("not_image", r"text\.png is not an image glcic can read"),
        ("directory", r"is a folder, not an image file"),
        ("mismatch", r"mask is 29x22 but image is 58x45; pass --resize-mask"),
        ("full", r"the mask covers the whole 58x45 image"),
        ("not_bundle", r"is not a glcic bundle: config.json, model.safetensors missing"),
        ("suffix", r"cannot tell the output format from 'out\.tga'"),
        ("limit", r"is 58x45 = 0\.00261 MP, which is over the limit of 0\.001 MP .*--max-pixels N"),
        ("both_modes", r"give either IMAGE --mask MASK --output OUT or --input-dir"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str], case: str, message: str) -> None:
    image, mask = _write(tmp_path, "a")
    out, model, extra = tmp_path / "out.png", bundle, []
    if case == "missing":
        image = tmp_path / "missing.png"
    elif case == "truncated":
        data = image.read_bytes()
        image = tmp_path / "cut.png"
        image.write_bytes(data[: len(data) // 2])
    elif case == "not_image":
        image = tmp_path / "text.png"
        image.write_text("hello")
    elif case == "directory":
        image = tmp_path
    elif case == "mismatch":
        Image.open(mask).resize((29, 22)).save(mask)
    elif case == "full":
        Image.new("L", (58, 45), 255).save(mask)
    elif case == "not_bundle":
        model = tmp_path
    elif case == "suffix":
        out = tmp_path / "out.tga"
    elif case == "limit":
        extra = ["--max-pixels", "1000"]
    elif case == "both_modes":
        extra = ["--input-dir", tmp_path]
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", out, "--model", model, *extra)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glcic inpaint: error: "), err
    assert re.search(message, lines[0]), lines[0]
    assert not out.exists()


def test_resize_mask_flag_fixes_a_size_mismatch(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a", hole=(0, 0, 20, 24))
    Image.open(mask).resize((29, 22), Image.Resampling.NEAREST).save(mask)
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "o.png", "--model", bundle, "--resize-mask")
    assert code == 0, err
    out, img = load_image(tmp_path / "o.png").rgb, np.asarray(Image.open(image))
    assert (out[:18, :20] != img[:18, :20]).any() and np.array_equal(out[25:], img[25:])


def test_empty_mask_warns_and_writes_input(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a")
    Image.new("L", (58, 45), 0).save(mask)
    code, out, err = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "o.png", "--model", bundle)
    assert code == 0 and "warning:" in err and "mask is empty" in err
    np.testing.assert_array_equal(load_image(tmp_path / "o.png").rgb, np.asarray(Image.open(image)))
    # Issue 23: the report claimed "postprocess blend" although nothing ran.
    assert "postprocess" not in out and "nothing done: the mask is empty" in out


def test_real_entry_point_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(
        [sys.executable, "-m", "glcic.cli", "inpaint", str(tmp_path / "no.png"), "--mask", str(tmp_path / "m.png"),
         "--output", str(tmp_path / "o.png")],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "no.png does not exist" in r.stderr


# ----------------------------------------------------------------------------- folder mode


def test_folder_mode_one_bad_file_does_not_stop_the_rest(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    images.mkdir()
    masks.mkdir()
    # a: mask "a.png" (same stem); b: mask "b_mask.jpg" (stem + _mask, another ending);
    # c: a JPEG image; d: corrupt; e: no mask.
    for i, name in enumerate("abcde"):
        img, m = _write(tmp_path, name, seed=i)
        if name == "c":
            Image.open(img).save(images / "c.jpg")
        else:
            img.rename(images / f"{name}.png")
        if name == "a":
            m.rename(masks / "a.png")
        elif name == "b":
            Image.open(m).save(masks / "b_mask.jpg", quality=100)
        elif name != "e":
            m.rename(masks / f"{name}_mask.png")
    data = (images / "d.png").read_bytes()
    (images / "d.png").write_bytes(data[: len(data) // 3])
    (images / "notes.txt").write_text("not an image, not listed")
    code, stdout, stderr = _cli(capsys, "--input-dir", images, "--mask-dir", masks, "--output-dir", out, "--model", bundle)
    assert code == 1
    assert stdout.strip().splitlines()[-1] == "3 done, 1 skipped (no mask), 1 failed"
    assert "failed: " in stderr and "d.png is truncated or corrupt" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.jpg"]  # no temp files, nothing for d
    pipe = InpaintPipeline.from_pretrained(bundle)
    ref = pipe(np.asarray(Image.open(images / "a.png")), np.asarray(Image.open(masks / "a.png")))
    np.testing.assert_array_equal(load_image(out / "a.png").rgb, ref)


def test_folder_mode_all_good_and_masks_beside_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i, name in enumerate("xy"):
        _write(tmp_path, name, seed=i)  # x.png + x_mask.png in the same folder
    code, stdout, _ = _cli(capsys, "--input-dir", tmp_path, "--mask-dir", tmp_path, "--output-dir", tmp_path / "o", "--method", "ns")
    assert code == 0
    assert stdout.strip() == "2 done, 0 skipped (no mask), 0 failed"
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["x.png", "y.png"]
    # x.gif would also be written as x.png: refused, not overwritten.
    Image.open(tmp_path / "x.png").save(tmp_path / "x.gif")
    code, stdout, err = _cli(capsys, "--input-dir", tmp_path, "--mask-dir", tmp_path, "--output-dir", tmp_path / "o2", "--method", "ns")
    assert code == 1 and stdout.strip() == "2 done, 0 skipped (no mask), 1 failed"
    assert "x.gif already wrote x.png; rename one of the two images" in err


def test_folder_mode_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "--input-dir", tmp_path, "--output-dir", tmp_path / "o")
    assert code == 2 and "missing --mask-dir" in err
    code, _, err = _cli(capsys, "--input-dir", tmp_path / "nope", "--mask-dir", tmp_path, "--output-dir", tmp_path / "o")
    assert code == 2 and "is not a folder" in err
    code, _, err = _cli(capsys, "--input-dir", tmp_path, "--mask-dir", tmp_path, "--output-dir", tmp_path / "o")
    assert code == 2 and "no images in" in err


# ----------------------------------------------------------------------------- never over an input (issue 12)


def test_single_refuses_to_write_over_the_image_or_the_mask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a")
    before = image.read_bytes(), mask.read_bytes()
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", image, "--method", "telea")
    assert code == 2 and "would be written over the image itself" in err and "--overwrite-inputs" in err
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", mask, "--method", "telea", "--overwrite-inputs")
    assert code == 2 and "which is the input" in err and "never writes over a mask" in err
    assert (image.read_bytes(), mask.read_bytes()) == before
    code, _, _ = _cli(capsys, image, "--mask", mask, "--output", image, "--method", "telea", "--overwrite-inputs")
    assert code == 0 and image.read_bytes() != before[0] and mask.read_bytes() == before[1]


def test_folder_refuses_output_dir_equal_to_input_dir_and_case_clashes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = tmp_path / "in", tmp_path / "m"
    images.mkdir()
    masks.mkdir()
    img, m = _write(tmp_path, "b")
    Image.open(img).save(images / "b.JPG")  # its result would be b.jpg ...
    Image.open(img).save(images / "b.jpg")  # ... a different photo
    Image.open(m).save(masks / "b.png")
    before = {p.name: p.read_bytes() for p in images.iterdir()}
    code, _, err = _cli(capsys, "--input-dir", images, "--mask-dir", masks, "--output-dir", images, "--method", "telea")
    assert code == 2 and "which is the input" in err
    code, _, err = _cli(capsys, "--input-dir", images, "--mask-dir", masks, "--output-dir", images, "--method", "telea",
                        "--overwrite-inputs")
    assert code == 2 and "which is the input" in err  # b.JPG's result over b.jpg: never
    assert {p.name: p.read_bytes() for p in images.iterdir()} == before


def test_folder_where_every_mask_is_missing_fails_and_names_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = tmp_path / "in", tmp_path / "m"
    images.mkdir()
    masks.mkdir()
    for name in "pq":
        img, _ = _write(tmp_path, name)
        img.rename(images / f"{name}.png")
    code, stdout, err = _cli(capsys, "--input-dir", images, "--mask-dir", masks, "--output-dir", tmp_path / "o", "--method", "telea")
    assert code == 1 and stdout.strip() == "0 done, 2 skipped (no mask), 0 failed"
    assert f"skipped: {images / 'p.png'}: no mask p.* or p_mask.*" in err and f"skipped: {images / 'q.png'}" in err
    assert "no image in" in err and not (tmp_path / "o").exists()


def test_read_only_output_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import glcic.io.save as save

    image, mask = _write(tmp_path, "a")
    real_access = os.access
    monkeypatch.setattr(save.os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "out.png", "--method", "telea")
    assert code == 2 and f"the folder {tmp_path} is read-only for this user" in err
    monkeypatch.setattr(save.os, "access", real_access)

    # The folder turns read-only between the check and the write: still one line, no traceback
    # from the clean-up (which cannot delete a file it could not make either).
    def refuse(*a: object, **k: object) -> None:
        raise PermissionError(13, "Permission denied")

    import glcic.atomic

    monkeypatch.setattr(glcic.atomic, "_open", refuse)
    monkeypatch.setattr(Path, "unlink", refuse)
    code, _, err = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "out.png", "--method", "telea")
    assert code == 2 and "cannot write" in err and "Permission denied" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- what ran, no torch (issue 13)


def test_cli_says_which_model_strategy_and_scale_ran(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a", h=60, w=200, hole=(30, 10, 2, 180))  # a thin stroke
    code, stdout, _ = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "o.png", "--model", bundle)
    assert code == 0
    assert stdout.strip() == f"glcic inpaint: wrote {tmp_path / 'o.png'} (model tiny, strategy tiles, scale 1, postprocess blend)"
    code, stdout, _ = _cli(capsys, image, "--mask", mask, "--output", tmp_path / "o.png", "--method", "ns", "--postprocess", "none")
    assert code == 0 and stdout.strip().endswith("(model ns, strategy none, scale 1, postprocess none)")


def test_classical_methods_do_not_import_torch(tmp_path: Path) -> None:
    image, mask = _write(tmp_path, "a")
    code = (
        "import sys\n"
        "from glcic.cli import main\n"
        f"rc = main(['inpaint', {str(image)!r}, '--mask', {str(mask)!r}, '--output', {str(tmp_path / 'o.png')!r},"
        " '--method', 'telea'])\n"
        "assert rc == 0, rc\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.png").exists()


def test_jpeg_mask_noise_does_not_grow_the_hole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = _write(tmp_path, "a", h=64, w=64, hole=(20, 20, 20, 20))
    Image.open(mask).save(tmp_path / "m.jpg", quality=60)
    code, _, _ = _cli(capsys, image, "--mask", tmp_path / "m.jpg", "--output", tmp_path / "o.png", "--method", "telea",
                      "--postprocess", "none")
    changed = (np.asarray(Image.open(tmp_path / "o.png")) != np.asarray(Image.open(image))).any(axis=2)
    assert code == 0 and not changed[:19].any() and not changed[41:].any()  # nothing beyond the 20 px box
    code, _, _ = _cli(capsys, image, "--mask", tmp_path / "m.jpg", "--output", tmp_path / "o0.png", "--method", "telea",
                      "--postprocess", "none", "--mask-threshold", "0")
    changed0 = (np.asarray(Image.open(tmp_path / "o0.png")) != np.asarray(Image.open(image))).any(axis=2)
    assert code == 0 and changed0.sum() > changed.sum()  # every noisy pixel counted: the old behaviour


# ----------------------------------------------------------------------------- the user's own file back (issue 23)


def _camera_jpeg(path: Path, orientation: int = 1, h: int = 45, w: int = 58) -> tuple[bytes, bytes]:
    """A quality-75 JPEG as a camera writes it (ICC profile, EXIF with make, date and orientation)."""
    from PIL import ImageCms

    from tests.io.conftest import camera_exif, photo

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = camera_exif(orientation)
    Image.fromarray(photo(h, w)).save(path, quality=75, icc_profile=icc, exif=exif)
    return icc, exif


@pytest.mark.parametrize("method", ["telea", "glcic"])
def test_jpeg_keeps_icc_exif_and_its_quality(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str], method: str) -> None:
    """Rows 1 and 2: ICC and every EXIF tag were dropped; a q75 JPEG came back at q95, 1.9x its size."""
    icc, _ = _camera_jpeg(tmp_path / "cam.jpg", h=240, w=320)
    _, mask = _write(tmp_path, "m", h=240, w=320, hole=(60, 80, 40, 60))
    code, _, err = _cli(capsys, tmp_path / "cam.jpg", "--mask", mask, "--output", tmp_path / "o.jpg", "--method", method,
                        "--model", bundle)
    assert code == 0, err
    with Image.open(tmp_path / "o.jpg") as out, Image.open(tmp_path / "cam.jpg") as src:
        assert out.info["icc_profile"] == icc
        exif = out.getexif()
        assert exif[0x010F] == "Glcic Camera" and exif.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
        assert out.quantization == src.quantization
    ratio = (tmp_path / "o.jpg").stat().st_size / (tmp_path / "cam.jpg").stat().st_size
    assert 0.85 < ratio < 1.15, ratio
    code, _, _ = _cli(capsys, tmp_path / "cam.jpg", "--mask", mask, "--output", tmp_path / "s.jpg", "--method", method,
                      "--model", bundle, "--strip-metadata", "--quality", "50")
    with Image.open(tmp_path / "s.jpg") as out:
        assert code == 0 and "icc_profile" not in out.info and not out.getexif()
    assert (tmp_path / "s.jpg").stat().st_size < 0.8 * (tmp_path / "o.jpg").stat().st_size


def test_lossy_webp_stays_lossy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Row 3: a lossy WebP came back lossless, 4.5x its size."""
    from tests.io.conftest import photo

    Image.fromarray(photo(240, 320)).save(tmp_path / "a.webp", quality=80)
    _, mask = _write(tmp_path, "m", h=240, w=320, hole=(60, 80, 40, 60))
    code, _, err = _cli(capsys, tmp_path / "a.webp", "--mask", mask, "--output", tmp_path / "o.webp", "--method", "telea")
    assert code == 0, err
    assert (tmp_path / "o.webp").read_bytes()[12:16] == b"VP8 "  # the lossy bitstream
    assert (tmp_path / "o.webp").stat().st_size < 1.3 * (tmp_path / "a.webp").stat().st_size


@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
def test_16_bit_png_stays_16_bit(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    """Row 4 (and a 16-bit image with alpha): written 8-bit, no word said."""
    import cv2

    channels = {"gray": 0, "rgb": 3, "rgba": 4}[kind]
    shape = (45, 58, channels) if channels else (45, 58)
    a = (cv2.GaussianBlur(np.random.default_rng(0).random(shape), (0, 0), 2) * 65535).astype(np.uint16)
    if channels:
        cv2.imwrite(str(tmp_path / "a16.png"), cv2.cvtColor(a, cv2.COLOR_RGBA2BGRA if channels == 4 else cv2.COLOR_RGB2BGR))
    else:
        Image.fromarray(a).save(tmp_path / "a16.png")
    _, mask = _write(tmp_path, "m")
    hole = np.asarray(Image.open(mask)) > 0
    code, _, err = _cli(capsys, tmp_path / "a16.png", "--mask", mask, "--output", tmp_path / "o16.png", "--model", bundle,
                        "--postprocess", "none")
    assert code == 0, err
    out = cv2.imread(str(tmp_path / "o16.png"), cv2.IMREAD_UNCHANGED)  # as other programs read it
    if channels:
        out = cv2.cvtColor(out, cv2.COLOR_BGRA2RGBA if channels == 4 else cv2.COLOR_BGR2RGB)
    assert out.dtype == np.uint16 and out.shape == a.shape
    np.testing.assert_array_equal(out[~hole], a[~hole])  # every bit of the known pixels
    assert (out[hole] % 257 != 0).mean() > 0.9  # the hole at 16 bits too
    if channels == 4:
        np.testing.assert_array_equal(out[:, :, 3], a[:, :, 3])


def test_mask_painted_on_a_transparent_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Row 5: red strokes on a transparent white layer gave "the mask covers the whole image", exit 2."""
    image, _ = _write(tmp_path, "a")
    layer = np.zeros((45, 58, 4), np.uint8)
    layer[:, :, :3] = 255
    layer[10:24, 12:28] = (230, 0, 0, 255)
    Image.fromarray(layer).save(tmp_path / "layer.png")
    code, _, err = _cli(capsys, image, "--mask", tmp_path / "layer.png", "--output", tmp_path / "o.png", "--method", "telea",
                        "--postprocess", "none")
    assert code == 0, err
    changed = (np.asarray(Image.open(tmp_path / "o.png")) != np.asarray(Image.open(image))).any(axis=2)
    assert changed[10:24, 12:28].mean() > 0.9 and not changed[:10].any() and not changed[24:].any()
    layer[:, :, 3] = 0  # nothing painted
    Image.fromarray(layer).save(tmp_path / "empty_layer.png")
    code, _, err = _cli(capsys, image, "--mask", tmp_path / "empty_layer.png", "--output", tmp_path / "e.png", "--method", "telea")
    assert code == 2 and "is transparent everywhere (alpha 0): nothing is painted on it" in err
    assert not (tmp_path / "e.png").exists()


def test_mask_drawn_on_the_stored_pixels_of_a_rotated_photo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Row 6: the size error did not mention the EXIF rotation."""
    _camera_jpeg(tmp_path / "phone.jpg", orientation=6)  # stored 58x45, shown upright 45x58
    _, mask = _write(tmp_path, "m")  # 58x45: drawn on the stored pixels
    code, _, err = _cli(capsys, tmp_path / "phone.jpg", "--mask", mask, "--output", tmp_path / "o.png", "--method", "telea")
    assert code == 2 and "mask is 58x45 but image is 45x58 as viewers show it" in err and "EXIF rotation" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_metadata_is_reported_and_the_result_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.io.conftest import photo

    Image.fromarray(photo(45, 58)).save(tmp_path / "bad.jpg", icc_profile=b"junk" * 40, exif=b"Exif\x00\x00junk" * 3)
    _, mask = _write(tmp_path, "m")
    code, out, err = _cli(capsys, tmp_path / "bad.jpg", "--mask", mask, "--output", tmp_path / "o.jpg", "--method", "telea")
    assert code == 0 and "wrote" in out
    assert "its ICC colour profile is corrupt" in err and "its EXIF block" in err and "could not be read" in err
    assert Image.open(tmp_path / "o.jpg").size == (58, 45)


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_shows_on_a_terminal_only_after_the_delay(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    import time

    from glcic.commands import inpaint

    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(inpaint, "PROGRESS_DELAY", 0.2)
    bar = inpaint._ProgressBar()
    bar("network", 0, 4)
    assert err.getvalue() == ""  # nothing before the delay: a quick image prints one line only
    time.sleep(0.3)
    bar("network", 1, 4)
    shown = err.getvalue()
    bar.close()
    assert ("glcic inpaint: network 1/4" in shown) is terminal
