"""No whole-photo float round trip (glcic/frame.py, issue 24): an 8-bit photo is converted
to float only in the windows the network reads, the fill comes back as the hole's values,
and the caller's type is restored at the changed pixels only. Each shortcut is pinned
against the whole-frame path it replaced (the same pixels, bit for bit), and the pipeline
is watched for whole-frame conversions creeping back (no timing here: see
docs/inference.md for the figures)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import glcic.convert
from glcic.convert import to_tensor, to_uint8
from glcic.frame import BLOCK, Frame
from glcic.inputs import prepare_image
from glcic.pipeline import InpaintPipeline
from glcic.pixels import HoleFill, as_uint8, gray_at, gray_uint8, uint8_at, unit_at, unit_pixels
from glcic.postprocess import blend
from glcic.rescale import any_below
from glcic.steps import _changed
from glcic.strategies import complete_with_strategy
from tests.tiny_pipes import RES, tiny_residual_pipe


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> InpaintPipeline:
    """A tiny random network pre-filled like the shipped ones (biharmonic, residual)."""
    return tiny_residual_pipe(tmp_path_factory.mktemp("bundle"))


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(40, 215, (h // 16 + 2, w // 16 + 2, 3), dtype=np.uint8), (w, h))
    return np.clip(base.astype(int) + rng.integers(-12, 13, (h, w, 3)), 0, 255).astype(np.uint8)


def _hole(kind: str, h: int, w: int) -> np.ndarray:
    """``wires`` (native windows), ``blob`` (resize), ``specks`` (crop), ``mix`` (windows + resize)."""
    m = np.zeros((h, w), np.uint8)
    if kind in ("wires", "mix"):
        cv2.line(m, (10, 40), (w - 30, 90), 1, 2)
        cv2.line(m, (w // 3, h - 5), (w // 2, 20), 1, 2)
    if kind in ("blob", "mix"):
        cv2.ellipse(m, (w // 2, h // 2), (w // 6, h // 6), 30, 0, 360, 1, -1)
    if kind == "specks":
        m[100:106, 50:57] = 1
        m[300:305, 500:509] = 1
    return m > 0


def _whole_frame(pipe: InpaintPipeline, img: np.ndarray, hole: np.ndarray, strategy: str, postprocess: str) -> np.ndarray:
    """The path before glcic/frame.py: the whole photo to float, completed, the whole back to 8 bits."""
    x = to_tensor(img)[None]  # (1, 3, H, W)
    out, _ = complete_with_strategy(pipe._forward, x, hole, strategy, RES, prefill=pipe._prefill_image)
    completed = to_uint8(out[0])  # (H, W, 3)
    if postprocess == "blend":
        blended = blend(completed, img, hole)
        changed = hole | (blended != img).any(axis=2)
        return np.where(changed[:, :, None], blended, img)
    return np.where(hole[:, :, None], completed, img)


# --------------------------------------------------------------------------- the frame


def test_a_frame_converts_like_to_tensor_and_only_the_blocks_read() -> None:
    img = _photo(200, 300)
    frame = Frame.from_pixels(img)
    whole = to_tensor(img)[None]
    assert torch.equal(frame.region(50, 90, 40, 50), whole[:, :, 50:90, 90:140])
    assert not frame.converted and frame._todo.sum() == frame._todo.size - 4  # 2 x 2 blocks of 64 px
    frame.ensure([(-3, 250, 5, 400)])  # clipped to the image
    assert torch.equal(frame.t[:, :, :5, 250:], whole[:, :, :5, 250:])
    assert torch.equal(frame.whole(), whole) and frame.converted
    unit = img.astype(np.float32) / 255  # a high-depth input's pixels: copied as they are
    assert torch.equal(Frame.from_pixels(unit).whole(), torch.from_numpy(unit).permute(2, 0, 1)[None])


def _watch(monkeypatch: pytest.MonkeyPatch, shape: tuple[int, int]) -> list[int]:
    """Record the pixels each Frame conversion covers, and fail on any whole-image
    to_tensor / to_uint8 (the conversions the frame replaced)."""
    converted: list[int] = []
    convert = Frame._convert

    def counted(self: Frame, top: int, left: int, bottom: int, right: int) -> None:
        H, W = self.shape
        converted.append((min(H, bottom) - top) * (min(W, right) - left))
        convert(self, top, left, bottom, right)

    def guard(real):
        def f(a, *args, **kwargs):
            hw = tuple(a.shape[:2]) if isinstance(a, np.ndarray) else tuple(a.shape[-2:])
            assert hw != shape, f"a whole-image {real.__name__} of {tuple(a.shape)}"
            return real(a, *args, **kwargs)

        return f

    monkeypatch.setattr(Frame, "_convert", counted)
    monkeypatch.setattr(glcic.convert, "to_tensor", guard(to_tensor))
    monkeypatch.setattr(glcic.convert, "to_uint8", guard(to_uint8))
    return converted


@pytest.mark.parametrize("postprocess", ["none", "blend"])
def test_thin_strokes_convert_only_their_windows(pipe: InpaintPipeline, monkeypatch: pytest.MonkeyPatch, postprocess: str) -> None:
    img = _photo(480, 640, seed=1)
    hole = _hole("wires", 480, 640)
    converted = _watch(monkeypatch, hole.shape)
    res = pipe.run(img, hole, postprocess=postprocess)
    assert res.strategy == "tiles"
    assert 0 < sum(converted) < 0.5 * hole.size  # the windows along the wires, not the photo
    monkeypatch.undo()
    assert np.array_equal(res.image, _whole_frame(pipe, img, hole, "auto", postprocess))


def test_crop_converts_only_its_windows(pipe: InpaintPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    img = _photo(480, 640, seed=2)
    hole = _hole("specks", 480, 640)
    converted = _watch(monkeypatch, hole.shape)
    res = pipe.run(img, hole, postprocess="none", strategy="crop")
    assert 0 < sum(converted) <= 2 * (RES + 2 * BLOCK) ** 2 < 0.5 * hole.size
    monkeypatch.undo()
    assert np.array_equal(res.image, _whole_frame(pipe, img, hole, "crop", "none"))


@pytest.mark.parametrize("kind", ["wires", "blob", "specks", "mix"])
@pytest.mark.parametrize("strategy", ["auto", "refine", "resize"])
def test_the_fill_is_the_whole_frame_paths_bit_for_bit(pipe: InpaintPipeline, kind: str, strategy: str) -> None:
    img = _photo(300, 451, seed=3)
    hole = _hole(kind, 300, 451)
    for postprocess in ("none", "blend"):
        out = pipe(img, hole, postprocess=postprocess, strategy=strategy)
        assert np.array_equal(out, _whole_frame(pipe, img, hole, strategy, postprocess)), (kind, strategy, postprocess)


# --------------------------------------------------------------------------- what comes back


def test_the_network_hands_on_the_holes_values_over_the_input_itself(pipe: InpaintPipeline) -> None:
    img = _photo(240, 320, seed=4)
    hole = _hole("wires", 240, 320)
    prepared = prepare_image(img)
    fill, _ = pipe._network_filler("auto")(prepared, 0, hole)
    assert isinstance(fill, HoleFill)
    assert fill.base is prepared.uint8 and fill.base.base is img  # the caller's pixels, not a copy
    assert fill.values.shape == (int(hole.sum()), 3) and fill.values.dtype == np.float32
    eight = as_uint8(fill)
    assert not np.shares_memory(eight, img) and np.array_equal(eight[~hole], img[~hole])
    assert np.array_equal(img, _photo(240, 320, seed=4))  # the input was not written


def test_alpha_and_known_pixels_keep_their_bytes(pipe: InpaintPipeline) -> None:
    rgb = _photo(240, 320, seed=5)
    alpha = np.random.default_rng(5).integers(0, 256, (240, 320, 1), dtype=np.uint8)
    rgba = np.concatenate([rgb, alpha], axis=2)
    hole = _hole("mix", 240, 320)
    out = pipe(Image.fromarray(rgba), hole, postprocess="blend")  # the hole and a seam change
    a = np.asarray(out)
    assert out.mode == "RGBA" and np.array_equal(a[:, :, 3], rgba[:, :, 3])
    seam = cv2.dilate(hole.view(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert np.array_equal(a[~seam], rgba[~seam])
    assert np.array_equal(a[:, :, :3], _whole_frame(pipe, rgb, hole, "auto", "blend"))


@pytest.mark.parametrize("postprocess", ["none", "blend"])
def test_16_bit_and_float_inputs_keep_their_depth(pipe: InpaintPipeline, postprocess: str) -> None:
    rng = np.random.default_rng(6)
    rgb = _photo(240, 320, seed=6)
    deep = (rgb.astype(np.uint16) * 257 + rng.integers(0, 257, rgb.shape)).astype(np.uint16)  # (H, W, 3)
    hole = _hole("mix", 240, 320)
    far = cv2.dilate(hole.view(np.uint8), np.ones((7, 7), np.uint8)) == 0  # beyond the blending seam
    out = pipe(deep, hole, postprocess=postprocess)
    assert out.dtype == np.uint16 and np.array_equal(out[far], deep[far])
    assert (out != deep).any(axis=2)[hole].mean() > 0.9
    if postprocess == "none":  # the fill straight from the float output, at 16 bits
        x = torch.from_numpy(deep.astype(np.float32) / np.float32(65535)).permute(2, 0, 1)[None].contiguous()
        filled, _ = complete_with_strategy(pipe._forward, x, hole, "auto", RES, prefill=pipe._prefill_image)
        v = np.round(filled[0].permute(1, 2, 0).numpy().astype(np.float64) * 65535)
        assert np.array_equal(out, np.where(hole[:, :, None], np.clip(v, 0, 65535).astype(np.uint16), deep))
    g = np.asarray(pipe(Image.fromarray(deep[:, :, 0].copy()), hole, postprocess=postprocess))  # I;16
    assert g.dtype == np.uint16 and np.array_equal(g[far], deep[:, :, 0][far])
    t = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255  # a tensor stays a tensor, as before
    y = pipe(t, hole, postprocess="none")
    filled, _ = complete_with_strategy(pipe._forward, t[None], hole, "auto", RES, prefill=pipe._prefill_image)
    assert torch.equal(y, filled[0])


# --------------------------------------------------------------------------- the pieces


def test_pixels_at_some_pixels_are_the_whole_conversions_there() -> None:
    rng = np.random.default_rng(7)
    H, W = 37, 53
    u8 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    fill_at = rng.random((H, W)) > 0.6
    ys, xs = np.nonzero(fill_at)
    values = rng.random((ys.size, 3)).astype(np.float32)
    unit = u8.astype(np.float32) / np.float32(255)
    t = to_tensor(u8)[None].clone()
    t[0, :, torch.from_numpy(ys), torch.from_numpy(xs)] = torch.from_numpy(values).T
    fills = [HoleFill(u8, ys, xs, values), HoleFill(unit, ys, xs, values), HoleFill(unit, ys, xs, values, u8)]
    qy, qx = np.nonzero(rng.random((H, W)) > 0.5)  # some fill pixels, some not
    for p in [t, u8, *fills]:
        assert np.array_equal(uint8_at(p, qy, qx), as_uint8(p)[qy, qx])
        assert np.array_equal(unit_at(p, qy, qx), unit_pixels(p)[qy, qx])
        assert np.array_equal(gray_at(p, qy, qx), gray_uint8(p)[qy, qx])
    for p in fills:  # a fill is the tensor it stands for, in every form
        assert np.array_equal(as_uint8(p), to_uint8(t[0])) and np.array_equal(gray_uint8(p), gray_uint8(t))
        assert np.array_equal(unit_pixels(p), unit_pixels(t))


def test_any_below_is_area_scaling_above_zero() -> None:
    g = torch.Generator().manual_seed(8)
    for (H, W), size in [((37, 53), (10, 17)), ((64, 96), (16, 24)), ((30, 41), (45, 50)), ((101, 67), (9, 66))]:
        m = torch.rand(1, 1, H, W, generator=g) > 0.97
        assert torch.equal(any_below(m, size), F.interpolate(m.float(), size=size, mode="area") > 0), ((H, W), size)


def test_the_changed_pixels_are_the_whole_comparisons() -> None:
    rng = np.random.default_rng(9)
    original = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    hole = np.zeros((90, 120), bool)
    hole[40:50, 0:30] = True  # on the border
    hole[5:7, 60:110] = True
    completed = original.copy()
    completed[hole] = 0
    blended = blend(completed, original, hole)
    assert np.array_equal(_changed(blended, original, hole), hole | (blended != original).any(axis=2))
