"""The network skipped where the photo is flat (glcic/thin.py, issue 24): a window along a thin
hole whose photo is flat, and whose pre-fill meets it smoothly, keeps the pre-fill and is not
shown to the network (:func:`glcic.thin.flat_windows`). Pinned here: which windows count as
flat (a pre-fill that does not continue the photo never does), that a skipped window's
pixels get the pre-fill and the others what the network gives with no skipping, and that
nothing is skipped without a shared pre-fill. No timing: docs/inference.md has the figures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import glcic.thin
from glcic.frame import Frame
from glcic.pipeline import InpaintPipeline
from glcic.prefill import solve_biharmonic
from glcic.thin import FLAT_STEP, flat_windows, windowed_forward
from tests.tiny_pipes import RES, tiny_residual_pipe


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> InpaintPipeline:
    """A tiny random network pre-filled like the shipped ones (biharmonic, residual), its last
    layer not zero (as initialised: the output would be the pre-fill everywhere)."""
    return tiny_residual_pipe(tmp_path_factory.mktemp("bundle"), last_std=0.05)


def _ramp(h: int, w: int) -> np.ndarray:
    """A smooth photo: colour ramps of under half a level a pixel, ``uint8`` (h, w, 3)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([60 + 0.4 * xx, 90 + 0.3 * yy, 150 - 0.2 * xx + 0.1 * yy], axis=-1)
    return np.round(img).astype(np.uint8)


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Blotches and grain of +-12 levels: nothing like flat, ``uint8`` (h, w, 3)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(40, 215, (h // 16 + 2, w // 16 + 2, 3), dtype=np.uint8), (w, h))
    return np.clip(base.astype(int) + rng.integers(-12, 13, (h, w, 3)), 0, 255).astype(np.uint8)


def _wires(h: int, w: int) -> np.ndarray:
    """Two 2 px wires across the photo (native windows at RES 32), ``bool`` (h, w)."""
    m = np.zeros((h, w), np.uint8)
    cv2.line(m, (4, 20), (w - 5, h - 30), 1, 2)
    cv2.line(m, (4, h - 15), (w - 5, 25), 1, 2)
    return m > 0


def _tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255  # (1, 3, H, W)


def _prefilled(img: np.ndarray, hole: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """One window of the whole image, its hole biharmonic-filled: ``(1, 3, h, w)``, ``(1, 1, h, w)``."""
    return _tensor(solve_biharmonic(img, hole)), torch.from_numpy(hole)[None, None]


class _Counted:
    """A forward that counts the windows it is shown."""

    def __init__(self, pipe: InpaintPipeline) -> None:
        self.pipe, self.windows = pipe, 0

    def __call__(self, xb: torch.Tensor, hb: torch.Tensor, **kw) -> torch.Tensor:
        self.windows += xb.shape[0]
        return self.pipe._forward(xb, hb, **kw)


# --------------------------------------------------------------------------- which windows


def test_a_flat_photo_with_a_smooth_prefill_is_flat_and_a_textured_one_is_not() -> None:
    hole = _wires(64, 64)
    flat = flat_windows(*_prefilled(_ramp(64, 64), hole), FLAT_STEP)
    textured = flat_windows(*_prefilled(_texture(64, 64), hole), FLAT_STEP)
    assert flat.tolist() == [True] and textured.tolist() == [False]


def test_a_prefill_that_does_not_continue_the_photo_is_never_flat() -> None:
    """A mean-colour pre-fill (the paper's) on a flat photo: its edge along the hole counts."""
    img, hole = _ramp(64, 64), _wires(64, 64)
    x, h = _prefilled(img, hole)
    off = x.clone()
    off[:, :, torch.from_numpy(hole)] = torch.tensor([0.5, 0.4, 0.3])[:, None]  # (1, 3, n)
    assert flat_windows(x, h, FLAT_STEP).tolist() == [True]
    assert flat_windows(off, h, FLAT_STEP).tolist() == [False]


def test_windows_are_judged_one_by_one_and_need_known_pixels_beside_the_hole() -> None:
    hole = _wires(64, 64)
    x = torch.cat([_prefilled(_ramp(64, 64), hole)[0], _prefilled(_texture(64, 64), hole)[0], _tensor(_ramp(64, 64))])
    h = torch.from_numpy(hole)[None, None].repeat(3, 1, 1, 1)
    h[2] = True  # all hole: no known pixel to judge by
    assert flat_windows(x, h, FLAT_STEP).tolist() == [True, False, False]
    assert flat_windows(x[:1], torch.zeros_like(h[:1]), FLAT_STEP).tolist() == [False]  # no hole: nothing to meet


# --------------------------------------------------------------------------- the thin pass


def _half_and_half(h: int, w: int) -> np.ndarray:
    """Flat on the left half, textured on the right: ``uint8`` (h, w, 3)."""
    img = _ramp(h, w)
    img[:, w // 2 :] = _texture(h, w - w // 2)
    return img


def test_flat_windows_keep_the_prefill_and_the_others_get_the_network(pipe: InpaintPipeline, monkeypatch) -> None:
    """Against the same pass with no skipping: fewer windows shown to the network; where a
    window was skipped the pre-fill, elsewhere the network's fill; known pixels exact."""
    img = _half_and_half(96, 320)
    hole = _wires(96, 320)
    x, h = _tensor(img), torch.from_numpy(hole)[None, None]
    skipping, every = _Counted(pipe), _Counted(pipe)
    out, kind = windowed_forward(skipping, x, h, h, RES, prefill=pipe._prefill_image)
    monkeypatch.setattr(glcic.thin, "FLAT_STEP", None)
    ref, _ = windowed_forward(every, x, h, h, RES, prefill=pipe._prefill_image)
    assert kind == "tiles" and 0 < skipping.windows < every.windows
    assert torch.equal(out[:, :, ~h[0, 0]], x[:, :, ~h[0, 0]])
    # The pre-fill the windows were cut from, at every hole pixel.
    ys, xs, pre = pipe._prefill_image(Frame.from_tensor(x), hole, hole)
    prefill = torch.zeros_like(x)
    prefill[0, :, torch.from_numpy(ys), torch.from_numpy(xs)] = pre
    got, net, kept = out[0][:, hole], ref[0][:, hole], prefill[0][:, hole]  # (3, n) each
    as_prefill = (got == kept).all(dim=0)  # (n,)
    as_network = (got - net).abs().amax(dim=0) < 1e-5
    assert (as_prefill | as_network).all()
    left = torch.from_numpy(np.nonzero(hole)[1] < 100)  # hole pixels in the flat part, away from the texture
    assert as_prefill[left].all() and not (net[:, left] == kept[:, left]).all()  # the network would have changed them
    right = torch.from_numpy(np.nonzero(hole)[1] >= 220)
    assert as_network[right].all() and not as_prefill[right].all()


def test_a_prefill_unlike_the_photo_runs_every_window(pipe: InpaintPipeline) -> None:
    """A pre-fill that leaves a step where it meets the photo (a mean colour) is never taken for the network's answer."""
    img, hole = _ramp(96, 320), _wires(96, 320)
    x, h = _tensor(img), torch.from_numpy(hole)[None, None]

    def mean_colour(frame: Frame, holes: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
        ys, xs = np.nonzero(near)
        return ys, xs, torch.tensor([0.5, 0.4, 0.3])[:, None].expand(3, ys.size)

    smooth, stepped = _Counted(pipe), _Counted(pipe)
    windowed_forward(smooth, x, h, h, RES, prefill=pipe._prefill_image)
    windowed_forward(stepped, x, h, h, RES, prefill=mean_colour)
    assert smooth.windows == 0  # a flat photo: every window keeps the biharmonic pre-fill
    assert stepped.windows > 0 and stepped.windows == _every_window(pipe, x, h, mean_colour)


def _every_window(pipe: InpaintPipeline, x: torch.Tensor, h: torch.Tensor, prefill) -> int:
    every = _Counted(pipe)
    old = glcic.thin.FLAT_STEP
    glcic.thin.FLAT_STEP = None
    try:
        windowed_forward(every, x, h, h, RES, prefill=prefill)
    finally:
        glcic.thin.FLAT_STEP = old
    return every.windows


def test_without_a_shared_prefill_every_window_runs(pipe: InpaintPipeline) -> None:
    """Each window pre-filled by the network pass itself: nothing to judge a window by beforehand."""
    img, hole = _ramp(96, 320), _wires(96, 320)
    x, h = _tensor(img), torch.from_numpy(hole)[None, None]
    alone = _Counted(pipe)
    out, _ = windowed_forward(alone, x, h, h, RES)
    assert alone.windows == _every_window(pipe, x, h, pipe._prefill_image) > 0
    assert torch.equal(out[:, :, ~h[0, 0]], x[:, :, ~h[0, 0]])
