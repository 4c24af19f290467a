"""glcic.inputs: every image type in and back out, gray stays gray, parsed values are not parsed again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import glcic.inputs as inputs
from glcic.convert import to_uint8
from glcic.errors import InputError
from glcic.inputs import as_float, as_uint8, prepare_image, prepare_mask, to_pil
from glcic.io import load_image

H, W = 20, 24


def _rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _hole() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[5:12, 6:15] = True
    return m


def _fill(image: Any, result: Any) -> Any:
    """Prepare ``image``, replace its hole by ``result``, restore it."""
    prep = prepare_image(image)
    hole = _hole()
    return prep.restore([result], hole[None])


# ----------------------------------------------------------------------------- types in = types out

WHITE_FLOAT = torch.ones(1, 3, H, W)  # what the network would answer
WHITE_UINT8 = np.full((H, W, 3), 255, np.uint8)  # what a classical method or blending would


@pytest.mark.parametrize("result", [WHITE_FLOAT, WHITE_UINT8], ids=["float", "uint8"])
@pytest.mark.parametrize(
    "make, mode",
    [
        (lambda a, al: Image.fromarray(a), "RGB"),
        (lambda a, al: Image.fromarray(np.dstack([a, al])), "RGBA"),
        (lambda a, al: Image.fromarray(a).convert("L"), "L"),
        (lambda a, al: Image.fromarray(np.dstack([np.asarray(Image.fromarray(a).convert("L")), al])), "LA"),
        (lambda a, al: Image.fromarray(a).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "RGB"),
        (lambda a, al: Image.fromarray(a).convert("CMYK"), "RGB"),
        (lambda a, al: Image.fromarray(a).convert("1"), "L"),
    ],
    ids=["RGB", "RGBA", "L", "LA", "P", "CMYK", "1"],
)
def test_pil_in_pil_out(make: Any, mode: str, result: Any) -> None:
    alpha = np.random.default_rng(1).integers(0, 256, (H, W), dtype=np.uint8)
    im = make(_rgb(), alpha)
    out = _fill(im, result)
    assert isinstance(out, Image.Image) and out.mode == mode and out.size == (W, H)
    o, hole = np.asarray(out), _hole()
    family = "RGBA" if mode == "RGBA" else "LA" if mode == "LA" else mode
    np.testing.assert_array_equal(o[~hole], np.asarray(im.convert(family))[~hole])  # known pixels exact
    colour = o[..., 0] if o.ndim == 3 else o
    assert (colour[hole] == 255).all()
    if "A" in mode:
        np.testing.assert_array_equal(o[:, :, -1], alpha)  # alpha untouched, hole included


@pytest.mark.parametrize("shape", [(H, W, 3), (H, W, 4), (H, W), (H, W, 1)])
def test_array_in_array_out(shape: tuple[int, ...]) -> None:
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = _fill(a, WHITE_FLOAT)
    assert isinstance(out, np.ndarray) and out.shape == a.shape and out.dtype == np.uint8
    hole = _hole()
    np.testing.assert_array_equal(out[~hole], a[~hole])
    if len(shape) == 3 and shape[2] == 4:
        np.testing.assert_array_equal(out[:, :, 3], a[:, :, 3])


def test_tensor_in_tensor_out_batch_and_dtype() -> None:
    t = torch.rand(2, 3, H, W, dtype=torch.float64)
    prep = prepare_image(t)
    assert prep.x.shape == (2, 3, H, W) and prep.x.dtype == torch.float32
    hole = _hole()
    changed = np.stack([hole, np.zeros_like(hole)])  # only the first image has a hole
    out = prep.restore([WHITE_UINT8, prep.x[1:2]], changed)
    assert out.dtype == torch.float64 and out.shape == t.shape
    h = torch.from_numpy(hole)
    assert torch.equal(out[0][:, ~h], t[0][:, ~h]) and (out[0][:, h] == 1).all()
    assert torch.equal(out[1], t[1])


def test_high_depth_gray_keeps_its_depth() -> None:
    g16 = np.random.default_rng(0).integers(0, 65536, (H, W), dtype=np.uint16)
    out = _fill(Image.fromarray(g16), WHITE_FLOAT)
    assert out.mode == "I;16"
    o, hole = np.asarray(out), _hole()
    np.testing.assert_array_equal(o[~hole], g16[~hole])
    assert (o[hole] == 65535).all()


@pytest.mark.parametrize("shape", [(H, W), (H, W, 1), (H, W, 3), (H, W, 4)])
def test_uint16_array_in_uint16_array_out(shape: tuple[int, ...]) -> None:
    a = np.random.default_rng(0).integers(0, 65536, shape, dtype=np.uint16)
    prep = prepare_image(a)
    assert prep.unit is not None and prep.unit.shape == (H, W, 3)  # for blending at full depth
    np.testing.assert_array_equal(prep.pixels(0)[:, :, 0], np.round((a if a.ndim == 2 else a[:, :, 0]) / 257))
    out = prep.restore([torch.full((1, 3, H, W), 0.25)], _hole()[None])
    assert out.dtype == np.uint16 and out.shape == a.shape
    hole = _hole()
    np.testing.assert_array_equal(out[~hole], a[~hole])
    assert (out[hole][..., 0] == round(0.25 * 65535)).all()  # from the float, not round(0.25 * 255) * 257
    if len(shape) == 3 and shape[2] == 4:
        np.testing.assert_array_equal(out[:, :, 3], a[:, :, 3])


def test_gray_is_the_luma_of_the_result() -> None:
    """Gray in, gray out: the result's colours are mixed with PIL's convert("L") weights."""
    colour = torch.tensor([0.9, 0.2, 0.4]).view(1, 3, 1, 1).expand(1, 3, H, W)
    out = _fill(Image.fromarray(_rgb()).convert("L"), colour)
    expected = round((0.299 * 0.9 + 0.587 * 0.2 + 0.114 * 0.4) * 255)
    assert (np.asarray(out)[_hole()] == expected).all()


def test_path_and_loaded_image_give_pil(tmp_path: Path) -> None:
    Image.fromarray(_rgb()).convert("L").save(tmp_path / "g.png")
    for source in (tmp_path / "g.png", load_image(tmp_path / "g.png")):
        out = _fill(source, WHITE_FLOAT)
        assert isinstance(out, Image.Image) and out.mode == "L"
        assert prepare_image(source).unchanged().mode == "L"


def test_to_pil_keeps_the_mode_family() -> None:
    rgba = np.dstack([_rgb(), np.full((H, W), 9, np.uint8)])
    assert to_pil(load_image(rgba)).mode == "RGBA"
    assert to_pil(load_image(Image.fromarray(_rgb()).convert("LA"))).mode == "LA"
    assert to_pil(load_image(Image.fromarray(_rgb()).convert("L"))).mode == "L"


# ----------------------------------------------------------------------------- parsed once


def test_a_loaded_image_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_image(_rgb())

    def no_reading(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("load_image called again")

    monkeypatch.setattr(inputs, "load_image", no_reading)
    prep = prepare_image(loaded)
    assert np.shares_memory(prep.pixels(0), loaded.rgb)  # the decoded pixels themselves, not a copy


def test_a_parsed_mask_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = inputs.load_mask
    monkeypatch.setattr(inputs, "load_mask", lambda *a, **k: calls.append(a) or real(*a, **k))
    hole = _hole()
    np.testing.assert_array_equal(prepare_mask(hole, 1, H, W)[0], hole)
    assert calls == []
    np.testing.assert_array_equal(prepare_mask(hole.astype(np.uint8) * 255, 1, H, W)[0], hole)
    assert len(calls) == 1  # anything else is read by load_mask
    with pytest.raises(InputError, match="mask is 24x20 but image is 25x20"):
        prepare_mask(hole, 1, H, W + 1)


def test_mask_batches() -> None:
    hole = torch.from_numpy(_hole())
    masks = torch.stack([hole, ~hole])[:, None]  # (2, 1, H, W)
    got = prepare_mask(masks, 2, H, W)
    assert got.shape == (2, H, W) and np.array_equal(got[1], ~_hole())
    with pytest.raises(InputError, match=r"a batch of masks must be \(B, 1, H, W\) with B = 3"):
        prepare_mask(masks, 3, H, W)


# ----------------------------------------------------------------------------- conversions


def test_uint8_float_round_trip_is_exact() -> None:
    a = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    np.testing.assert_array_equal(as_uint8(as_float(a)), a)
    x = torch.rand(1, 3, 5, 7) * 1.2 - 0.1  # network outputs can overshoot
    np.testing.assert_array_equal(as_uint8(x), to_uint8(x[0]))


def test_pixels_are_the_input_for_8_bit_and_rounded_for_floats() -> None:
    a = _rgb()
    assert np.array_equal(prepare_image(a).pixels(0), a)
    t = torch.rand(3, H, W)
    np.testing.assert_array_equal(prepare_image(t).pixels(0), to_uint8(t))


def test_errors_say_what_to_pass() -> None:
    with pytest.raises(InputError, match=r"image arrays must be uint8 .* pass a torch tensor"):
        prepare_image(_rgb().astype(np.float32))
    with pytest.raises(InputError, match=r"channels-first arrays need x.transpose\(1, 2, 0\)"):
        prepare_image(np.zeros((3, H, W), np.uint8))
    with pytest.raises(InputError, match="image tensors must be float in"):
        prepare_image(torch.zeros(3, H, W, dtype=torch.uint8))
    with pytest.raises(InputError, match="image must be a PIL image"):
        prepare_image([1, 2, 3])


def test_pil_images_and_masks_are_turned_upright_by_their_exif_tag(tmp_path: Path) -> None:
    """Image.open keeps a phone photo's sensor orientation; the mask was drawn on the upright
    photo (as every viewer shows it): both are turned upright, the result is upright."""
    import io

    upright = _rgb()  # (H, W, 3) as the user sees it
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # what the sensor wrote; EXIF 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, "PNG", exif=exif)
    photo = Image.open(io.BytesIO(buf.getvalue()))
    assert photo.size == (stored.shape[1], stored.shape[0])
    prep = prepare_image(photo)
    np.testing.assert_array_equal(prep.uint8, upright)
    hole = _hole()  # drawn on the upright picture
    assert prepare_mask(Image.fromarray(hole.astype(np.uint8) * 255), 1, *upright.shape[:2]).shape == (1, *hole.shape)
    out = prep.restore([WHITE_UINT8], hole[None])
    assert isinstance(out, Image.Image) and out.size == (W, H)
    np.testing.assert_array_equal(np.asarray(out)[~hole], upright[~hole])
    assert (np.asarray(out)[hole] == 255).all()
