"""InpaintPipeline: types in = types out, known pixels exact, strategies, precision, errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from glcic.bundle import DEFAULT_BUNDLE, BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.errors import BundleError, InputError
from glcic.models.completion import CompletionNetwork
from glcic.pipeline import InpaintPipeline

RES = 32  # the tiny bundle's "training resolution"


def make_bundle(directory: Path, output: str = "sigmoid", seed: int = 0) -> Path:
    """A tiny random bundle (width 0.125) with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    net = CompletionNetwork(ModelConfig(width=0.125, output=output))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    info = BundleInfo(model=net.cfg, resolution=RES, mean_pixel=[0.5, 0.4, 0.3], name="tiny", license="test only")
    return save_bundle(directory, net, info)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def pipe(bundle: Path) -> InpaintPipeline:
    return InpaintPipeline.from_pretrained(bundle, precision="fp32")


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    # Smooth colours plus noise, so resizing is not a no-op and not pure noise.
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], axis=2)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def _mask(h: int, w: int, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    m = np.zeros((h, w), bool)
    for y, x, bh, bw in boxes:
        m[y : y + bh, x : x + bw] = True
    return m


# ----------------------------------------------------------------------------- the network path


def test_matches_the_paper_pass_done_by_hand(bundle: Path, pipe: InpaintPipeline) -> None:
    """64x64 needs no padding: fill with the mean, run, composite; nothing else."""
    from glcic.bundle import load_bundle

    img = _image(64, 64)
    hole = _mask(64, 64, [(20, 10, 20, 30)])
    out = pipe(img, hole, strategy="original", postprocess="none")
    net, info = load_bundle(bundle)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    m = torch.from_numpy(hole)[None, None].float()
    mean = torch.tensor(info.mean_pixel)
    with torch.no_grad():
        y = net(x * (1 - m) + mean.view(1, 3, 1, 1) * m, m)
    ref = torch.where(m.bool(), y, x)[0].permute(1, 2, 0).mul(255).round().byte().numpy()
    np.testing.assert_array_equal(out, ref)


def test_tanh_bundle_value_range(tmp_path: Path) -> None:
    p = InpaintPipeline.from_pretrained(make_bundle(tmp_path, output="tanh"), precision="fp32")
    assert p.info["value_range"] == [-1.0, 1.0]
    img, hole = _image(32, 36), _mask(32, 36, [(8, 8, 12, 12)])
    out = p(img, hole, postprocess="none")
    np.testing.assert_array_equal(out[~hole], img[~hole])


@pytest.mark.parametrize("strategy", ["original", "resize", "crop", "auto"])
@pytest.mark.parametrize("hw", [(61, 83), (97, 130)])
def test_known_pixels_exact_for_every_strategy_and_odd_size(pipe: InpaintPipeline, strategy: str, hw: tuple[int, int]) -> None:
    h, w = hw
    img = _image(h, w)
    hole = _mask(h, w, [(5, 7, 9, 11), (h - 6, 0, 6, 10), (20, w - 13, 25, 13)])  # two touch the border
    out = pipe(img, hole, strategy=strategy, postprocess="none")
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~hole], img[~hole])
    assert (out[hole] != img[hole]).any()


def test_strategies_really_rescale(pipe: InpaintPipeline) -> None:
    img, hole = _image(96, 128), _mask(96, 128, [(40, 50, 8, 8)])
    outs = {s: pipe(img, hole, strategy=s, postprocess="none") for s in ("original", "resize", "crop")}
    assert not np.array_equal(outs["original"], outs["resize"])
    assert not np.array_equal(outs["resize"], outs["crop"])


def test_resize_does_not_leak_hole_content(pipe: InpaintPipeline) -> None:
    """Whatever the original shows inside the hole must not influence the result."""
    img, hole = _image(96, 128), _mask(96, 128, [(30, 41, 17, 23)])
    other = img.copy()
    other[hole] = 255 - other[hole]
    for strategy in ("original", "resize", "crop"):
        a, b = pipe(img, hole, strategy=strategy, postprocess="none"), pipe(other, hole, strategy=strategy, postprocess="none")
        np.testing.assert_array_equal(a[hole], b[hole])


# ----------------------------------------------------------------------------- types in = types out


def test_pil_modes_keep_their_family(pipe: InpaintPipeline) -> None:
    img, hole = _image(40, 44), _mask(40, 44, [(10, 10, 12, 14)])
    mask_im = Image.fromarray(hole)
    alpha = np.random.default_rng(1).integers(0, 256, (40, 44), dtype=np.uint8)

    rgba = Image.fromarray(np.dstack([img, alpha]))
    out = pipe(rgba, mask_im, postprocess="none")
    assert isinstance(out, Image.Image) and out.mode == "RGBA" and out.size == (44, 40)
    o = np.asarray(out)
    np.testing.assert_array_equal(o[:, :, 3], alpha)  # alpha untouched, hole included
    np.testing.assert_array_equal(o[~hole], np.dstack([img, alpha])[~hole])

    gray = Image.fromarray(img).convert("L")
    out = pipe(gray, mask_im, postprocess="none")
    assert out.mode == "L"
    np.testing.assert_array_equal(np.asarray(out)[~hole], np.asarray(gray)[~hole])

    la = Image.fromarray(np.dstack([np.asarray(gray), alpha]))
    out = pipe(la, hole.astype(np.uint8) * 255, postprocess="none")
    assert out.mode == "LA"
    np.testing.assert_array_equal(np.asarray(out)[:, :, 1], alpha)

    pal = Image.fromarray(img).convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    out = pipe(pal, mask_im, postprocess="none")
    assert out.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(out)[~hole], np.asarray(pal.convert("RGB"))[~hole])

    cmyk = Image.fromarray(img).convert("CMYK")
    out = pipe(cmyk, mask_im, postprocess="none")
    assert out.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(out)[~hole], np.asarray(cmyk.convert("RGB"))[~hole])


def test_16_bit_pil_keeps_every_bit_outside_the_hole(pipe: InpaintPipeline) -> None:
    g16 = np.random.default_rng(0).integers(0, 65536, (36, 40), dtype=np.uint16)
    hole = _mask(36, 40, [(8, 8, 10, 10)])
    out = pipe(Image.fromarray(g16), hole, postprocess="none")
    assert out.mode == "I;16"
    o = np.asarray(out)
    assert o.dtype == np.uint16
    np.testing.assert_array_equal(o[~hole], g16[~hole])
    assert (o[hole] != g16[hole]).any()


@pytest.mark.parametrize("channels", [0, 3, 4], ids=["gray", "rgb", "rgba"])
@pytest.mark.parametrize("postprocess", ["none", "blend"])
def test_16_bit_files_and_arrays_stay_16_bit(
    pipe: InpaintPipeline, tmp_path: Path, channels: int, postprocess: str
) -> None:
    """Issue 23, row 4: a 16-bit PNG came back 8-bit. The hole comes from the network's
    float output (not an 8-bit result times 257); outside the changed pixels every bit is kept."""
    shape = (36, 40, channels) if channels else (36, 40)
    a = (cv2.GaussianBlur(np.random.default_rng(0).random(shape), (0, 0), 2) * 65535).astype(np.uint16)
    hole = _mask(36, 40, [(8, 8, 10, 12)])
    path = tmp_path / "in16.png"
    if channels:
        cv2.imwrite(str(path), cv2.cvtColor(a, cv2.COLOR_RGBA2BGRA if channels == 4 else cv2.COLOR_RGB2BGR))
    else:
        Image.fromarray(a).save(path)
    for image in (path, a):
        res = pipe.run(image, hole, postprocess=postprocess)
        out = np.asarray(res.image)  # a path: PIL I;16 for gray, a uint16 array for colour
        assert out.dtype == np.uint16 and out.shape == a.shape
        if channels == 4:
            np.testing.assert_array_equal(out[:, :, 3], a[:, :, 3])  # 16-bit alpha untouched
        colour = out if not channels else out[:, :, :3]
        changed = (colour != (a if not channels else a[:, :, :3]))
        changed = changed if not channels else changed.any(axis=2)
        assert changed[hole].mean() > 0.9
        seam = cv2.dilate(hole.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        assert not changed[~(seam if postprocess == "blend" else hole)].any()  # known pixels, bit for bit
        assert (colour[hole] % 257 != 0).mean() > 0.9  # full depth, not 8 bits scaled up
    assert res.info is None and Image.open(path).mode in ("I;16", "RGB", "RGBA")


def test_pil_result_carries_the_input_metadata(pipe: InpaintPipeline, tmp_path: Path) -> None:
    """A PIL (or file) input's ICC profile and EXIF are in the PIL result's .info, the
    orientation reset once the pixels were turned; strip_metadata leaves them out."""
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Glcic Camera", 6
    Image.fromarray(_image(36, 44)).save(tmp_path / "p.jpg", icc_profile=icc, exif=exif.tobytes())
    hole = _mask(44, 36, [(8, 8, 10, 12)])  # upright: 36 wide, 44 high
    for image in (Image.open(tmp_path / "p.jpg"), tmp_path / "p.jpg"):
        res = pipe.run(image, hole)
        assert res.image.size == (36, 44) and res.image.info["icc_profile"] == icc
        tags = Image.Exif()
        tags.load(res.image.info["exif"])
        assert tags[0x010F] == "Glcic Camera" and tags[0x0112] == 1
        assert res.info.format == "JPEG" and res.info.orientation == 6
        stripped = pipe.run(image, hole, strip_metadata=True)
        assert stripped.info is None and not {"icc_profile", "exif", "xmp"} & set(stripped.image.info)
    out = res.save(tmp_path / "o.jpg")  # the way the input came: its tables, its metadata
    with Image.open(out) as o, Image.open(tmp_path / "p.jpg") as src:
        assert o.quantization == src.quantization and o.info["icc_profile"] == icc
        assert o.getexif()[0x0112] == 1


def test_empty_mask_reports_that_nothing_was_done(pipe: InpaintPipeline) -> None:
    """Issue 23: an all-black mask reported "postprocess blend" although nothing ran."""
    img = _image(36, 44)
    with pytest.warns(UserWarning, match="mask is empty"):
        res = pipe.run(img, np.zeros((36, 44), bool), postprocess="blend")
    assert (res.strategy, res.postprocess, res.did_nothing) == ("none", "none", True)
    assert "nothing was done" in res.note
    np.testing.assert_array_equal(res.image, img)
    ran = pipe.run(img, _mask(36, 44, [(4, 4, 8, 8)]), postprocess="blend")
    assert ran.postprocess == "blend" and ran.note == "" and not ran.did_nothing


def test_arrays_and_tensors(pipe: InpaintPipeline) -> None:
    img, hole = _image(36, 44), _mask(36, 44, [(4, 30, 10, 14)])
    gray = img[:, :, 0].copy()
    out = pipe(gray, hole, postprocess="none")
    assert out.shape == gray.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~hole], gray[~hole])
    rgba = np.dstack([img, np.full((36, 44), 7, np.uint8)])
    out = pipe(rgba, hole, postprocess="none")
    assert out.shape == rgba.shape and (out[:, :, 3] == 7).all()

    t = torch.rand(3, 36, 44, dtype=torch.float64)
    m = torch.from_numpy(hole)
    out = pipe(t, m, postprocess="none")
    assert out.shape == t.shape and out.dtype == torch.float64
    assert torch.equal(out[:, ~m], t[:, ~m])  # bit-exact, not just close
    tb = torch.rand(2, 3, 36, 44)
    out = pipe(tb, m[None, None].float(), postprocess="none")
    assert out.shape == tb.shape and torch.equal(out[:, :, ~m], tb[:, :, ~m])
    with pytest.raises(InputError, match=r"image tensors must hold values in \[0, 1\]; got \[0\.0\d*, 25\d\.\d+\]; divide by 255"):
        pipe(t * 255, m, postprocess="none")
    with pytest.raises(InputError, match=r"image arrays must be uint8 .* pass a torch tensor"):
        pipe(img.astype(np.float32), hole, postprocess="none")


def test_path_input_gives_pil(pipe: InpaintPipeline, tmp_path: Path) -> None:
    img, hole = _image(32, 40), _mask(32, 40, [(4, 4, 8, 8)])
    Image.fromarray(img).save(tmp_path / "i.png")
    Image.fromarray(hole).save(tmp_path / "m.png")
    out = pipe(tmp_path / "i.png", tmp_path / "m.png", postprocess="none")
    assert isinstance(out, Image.Image)
    np.testing.assert_array_equal(np.asarray(out), pipe(img, hole, postprocess="none"))
    # An image glcic.io.load_image already decoded (what the CLI and the server hold) is used as is.
    from glcic.io import load_image, load_mask

    loaded = load_image(tmp_path / "i.png")
    out2 = pipe(loaded, load_mask(tmp_path / "m.png", size=loaded.size), postprocess="none")
    assert isinstance(out2, Image.Image) and np.array_equal(np.asarray(out2), np.asarray(out))


# ----------------------------------------------------------------------------- masks and errors


def test_empty_mask_returns_input_with_warning(pipe: InpaintPipeline) -> None:
    img = _image(32, 32)
    with pytest.warns(UserWarning, match="the mask is empty .* returning the input unchanged"):
        out = pipe(img, np.zeros((32, 32), bool), postprocess="none")
    np.testing.assert_array_equal(out, img)
    assert out is not img


def test_full_mask_and_size_mismatch_are_errors(pipe: InpaintPipeline) -> None:
    img = _image(61, 83)
    with pytest.raises(InputError, match="the mask covers the whole 83x61 image, so there is nothing to condition on"):
        pipe(img, np.ones((61, 83), bool), postprocess="none")
    with pytest.raises(InputError, match="mask is 80x60 but image is 83x61; pass --resize-mask"):
        pipe(img, np.ones((60, 80), bool), postprocess="none")


def test_bad_options(pipe: InpaintPipeline, bundle: Path) -> None:
    img, hole = _image(32, 32), _mask(32, 32, [(4, 4, 8, 8)])
    with pytest.raises(InputError, match=r"strategy must be one of auto, refine, original, resize, crop; got 'zoom'"):
        pipe(img, hole, strategy="zoom", postprocess="none")
    with pytest.raises(InputError, match=r"postprocess must be one of auto, blend, none; got 'poisson'"):
        pipe(img, hole, postprocess="poisson")
    with pytest.raises(InputError, match="fp16 is for CUDA only"):
        InpaintPipeline.from_pretrained(bundle, precision="fp16")
    if not torch.cuda.is_available():
        # Python wording first; the CLI flag only as a labelled aside (issue 13).
        with pytest.raises(InputError, match=r"torch.cuda.is_available\(\) is False; use device='cpu' \(CLI: --device cpu\)$"):
            InpaintPipeline.from_pretrained(bundle, device="cuda")
        with pytest.raises(InputError, match=r"use device='cpu' \(CLI"):
            InpaintPipeline(device="cuda")
    with pytest.raises(InputError, match="image must be a PIL image"):
        pipe([1, 2, 3], hole, postprocess="none")


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="is not a glcic bundle: config.json, model.safetensors missing"):
        InpaintPipeline.from_pretrained(tmp_path)
    with pytest.raises(BundleError, match="does not exist"):
        InpaintPipeline.from_pretrained(tmp_path / "nope")
    if not (DEFAULT_BUNDLE / "config.json").is_file():
        with pytest.raises(BundleError, match=f"the shipped model '{DEFAULT_BUNDLE.name}' is missing"):
            InpaintPipeline.from_pretrained("default")


def test_info(pipe: InpaintPipeline) -> None:
    info = pipe.info
    assert info["name"] == "tiny" and info["resolution"] == RES and info["license"] == "test only"
    assert info["value_range"] == [0.0, 1.0] and "training_data" in info


# ----------------------------------------------------------------------------- classical, blend, precision


def test_classical_without_a_model() -> None:
    p = InpaintPipeline.classical("telea")
    img, hole = _image(40, 40), _mask(40, 40, [(10, 10, 10, 10)])
    for method in ("telea", "ns", "mean"):
        out = p(img, hole, method=method, postprocess="none")
        np.testing.assert_array_equal(out[~hole], img[~hole])
    assert p.info["name"] == "telea (classical)"
    with pytest.raises(InputError, match="this pipeline has no network"):
        p(img, hole, method="glcic", postprocess="none")


def test_blend_changes_only_hole_and_seam(pipe: InpaintPipeline) -> None:
    from glcic.postprocess import DEFAULT_SEAM

    h, w = 61, 83
    img = _image(h, w)
    hole = _mask(h, w, [(0, 0, 10, 12), (30, 40, 12, 9), (h - 8, w - 15, 8, 15), (20, 75, 9, 8)])
    out = pipe(img, hole, postprocess="blend")
    seam = cv2.dilate(hole.astype(np.uint8), np.ones((2 * DEFAULT_SEAM + 1,) * 2, np.uint8)) > 0
    np.testing.assert_array_equal(out[~seam], img[~seam])
    plain = pipe(img, hole, postprocess="none")
    assert not np.array_equal(out[hole], plain[hole])  # blending did something


def test_bf16_close_to_fp32_and_known_pixels_exact(bundle: Path, pipe: InpaintPipeline) -> None:
    bf = InpaintPipeline.from_pretrained(bundle, precision="bf16")
    assert bf.precision == "bf16"
    t = torch.rand(3, 48, 52, generator=torch.Generator().manual_seed(0))
    m = torch.from_numpy(_mask(48, 52, [(10, 10, 20, 20)]))
    a, b = pipe(t, m, postprocess="none"), bf(t, m, postprocess="none")
    assert torch.equal(b[:, ~m], t[:, ~m])
    assert (a - b).abs().max() < 0.05


# ----------------------------------------------------------------------------- what ran (issue 13)


def test_run_says_what_ran_and_call_returns_its_image(pipe: InpaintPipeline) -> None:
    from glcic.pipeline import InpaintResult

    img = _image(100, 160)
    stroke = _mask(100, 160, [(50, 5, 2, 150)])  # thin: native windows along it
    res = pipe.run(img, stroke, postprocess="none")
    assert isinstance(res, InpaintResult)
    assert (res.strategy, res.scale, res.model) == ("tiles", 1.0, "tiny")
    np.testing.assert_array_equal(res.image, pipe(img, stroke, postprocess="none"))
    deep = _mask(100, 160, [(10, 20, 80, 120)])  # 40 px deep: at the training scale
    res = pipe.run(img, deep, postprocess="none")
    assert res.strategy == "resize" and res.scale == pytest.approx(0.32)
    res = pipe.run(img, deep, method="telea")
    assert (res.strategy, res.scale, res.model) == ("none", 1.0, "telea")
    assert InpaintPipeline.classical("ns").run(img, deep).model == "ns"


def test_blend_is_the_default(pipe: InpaintPipeline) -> None:
    img, hole = _image(48, 48), _mask(48, 48, [(10, 10, 20, 20)])
    np.testing.assert_array_equal(pipe(img, hole), pipe(img, hole, postprocess="blend"))
    assert not np.array_equal(pipe(img, hole), pipe(img, hole, postprocess="none"))


def test_info_has_a_description(pipe: InpaintPipeline) -> None:
    assert isinstance(pipe.info["description"], str)
    assert "telea" in InpaintPipeline.classical("telea").info["description"]


def test_run_classical_is_the_classical_pipeline_without_torch() -> None:
    from glcic.steps import run_classical

    img, hole = _image(40, 48), _mask(40, 48, [(10, 10, 12, 20)])
    for post in ("none", "blend"):
        a = run_classical(Image.fromarray(img).convert("L"), hole, "ns", post)
        b = InpaintPipeline.classical("ns").run(Image.fromarray(img).convert("L"), hole, postprocess=post)
        np.testing.assert_array_equal(np.asarray(a.image), np.asarray(b.image))
        assert (a.strategy, a.scale, a.model) == (b.strategy, b.scale, b.model) == ("none", 1.0, "ns")
