"""The hole pre-fill (glcic/prefill.py): the same in training and at inference."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig, load_config
from glcic.convert import to_tensor, to_uint8
from glcic.data.masks import build_mask_generator
from glcic.errors import InputError
from glcic.models.completion import CompletionNetwork, fill_holes
from glcic.pipeline import InpaintPipeline
from glcic.prefill import TELEA_RADIUS, prefill
from glcic.training.batches import RandomStreams, TrainBatches


def _batch(seed: int = 0, b: int = 3, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, size, size, generator=g)  # (b, 3, H, W) in [0, 1]
    m = torch.zeros(b, 1, size, size)
    m[:, :, 8:20, 10:24] = 1
    return x, m


def test_mean_prefill_is_the_papers_fill() -> None:
    x, m = _batch()
    mean = torch.tensor([0.2, 0.4, 0.6])
    assert torch.equal(prefill(x, m, mean, "mean"), fill_holes(x, m, mean))


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_telea_prefill_is_opencvs_telea_inside_the_hole_only(value_range) -> None:
    x, m = _batch()
    lo, hi = value_range
    x = x * (hi - lo) + lo
    out = prefill(x, m, torch.zeros(3), "telea", value_range)
    assert out.shape == x.shape
    keep = m.expand_as(x) == 0
    assert torch.equal(out[keep], x[keep]), "known pixels must be untouched"
    for i in range(x.shape[0]):
        pixels = to_uint8(x[i], value_range)  # (H, W, 3)
        hole = m[i, 0].numpy().astype(np.uint8)
        ref = cv2.cvtColor(
            cv2.inpaint(cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), hole, TELEA_RADIUS, cv2.INPAINT_TELEA),
            cv2.COLOR_BGR2RGB,
        )
        expect = to_tensor(ref, value_range)
        assert torch.allclose(out[i][:, m[i, 0] > 0], expect[:, m[i, 0] > 0], atol=1e-6)


def test_biharmonic_prefill_is_the_biharmonic_baseline_inside_the_hole_only() -> None:
    from glcic.classical import inpaint_biharmonic

    x, m = _batch()
    out = prefill(x, m, torch.zeros(3), "biharmonic")
    keep = m.expand_as(x) == 0
    assert torch.equal(out[keep], x[keep]), "known pixels must be untouched"
    for i in range(x.shape[0]):
        hole = m[i, 0].numpy() > 0
        expect = to_tensor(inpaint_biharmonic(to_uint8(x[i]), hole))
        assert torch.allclose(out[i][:, m[i, 0] > 0], expect[:, m[i, 0] > 0], atol=1e-6)
    assert not torch.allclose(out, prefill(x, m, torch.zeros(3), "telea")), "a different fill than Telea"


def test_a_hole_too_big_to_solve_at_full_size_is_solved_smaller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past BIHARMONIC_MAX_HOLE the fill is solved on a smaller image: close to the full solve
    on a smooth image, the known pixels untouched, and never a system larger than the cap."""
    import glcic.classical as classical
    import glcic.prefill as prefill_module

    yy, xx = np.mgrid[0:96, 0:128] / 96.0
    pixels = (np.stack([np.sin(3 * xx), np.cos(2 * yy), xx * yy], -1) * 100 + 120).astype(np.uint8)  # (96, 128, 3)
    hole = np.zeros((96, 128), bool)
    hole[20:76, 30:100] = True  # 3,920 hole pixels
    full = classical.inpaint_biharmonic(pixels, hole)
    solved: list[int] = []
    real = classical.inpaint_biharmonic
    monkeypatch.setattr(classical, "inpaint_biharmonic", lambda p, h: solved.append(int(h.sum())) or real(p, h))
    monkeypatch.setattr(prefill_module, "BIHARMONIC_MAX_HOLE", 1000)
    out = prefill_module.biharmonic_fill(pixels, hole)
    assert solved and max(solved) <= 1000
    assert np.array_equal(out[~hole], pixels[~hole])
    err = np.abs(out[hole].astype(int) - full[hole].astype(int))
    assert err.mean() < 2.0, err.mean()  # 8-bit levels; the fill is smooth
    monkeypatch.setattr(prefill_module, "BIHARMONIC_MAX_HOLE", 10_000)  # under the cap: exactly the baseline
    solved.clear()
    assert np.array_equal(prefill_module.biharmonic_fill(pixels, hole), full) and solved == [3920]


def test_unknown_prefill_is_refused() -> None:
    x, m = _batch()
    with pytest.raises(InputError, match="model.prefill must be one of mean, telea, biharmonic; got 'zero'"):
        prefill(x, m, torch.zeros(3), "zero")


def test_training_batches_carry_the_configured_prefill(celeba_root: Path) -> None:
    from glcic.data.datasets import build_datasets

    cfg = load_config("cpu", [f"data.root={celeba_root}", "data.size=32", "data.max_images=16",
                              "mask.hole_min=8", "mask.hole_max=14", "mask.local_size=16",
                              "train.batch_size=4", "model.prefill=telea"])
    train_ds, _ = build_datasets(cfg.data, cfg.model.value_range)
    gen = build_mask_generator(cfg.mask, 32)
    mean = torch.tensor([0.5, 0.5, 0.5])
    batch = next(TrainBatches(train_ds, gen, cfg, 0, 4, RandomStreams.from_seed(0), torch.device("cpu"), mean))
    assert batch.filled is not None
    assert torch.equal(batch.filled, prefill(batch.x, batch.mask, mean, "telea", cfg.model.value_range))
    assert not torch.equal(batch.filled, fill_holes(batch.x, batch.mask, mean))


def test_a_telea_bundle_gets_the_training_prefill_at_inference(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, prefill="telea"))
    info = BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5, 0.4, 0.3], name="tiny")
    pipe = InpaintPipeline.from_pretrained(save_bundle(tmp_path / "b", net, info), precision="fp32")
    assert pipe.bundle_info.model.prefill == "telea"  # stored in and read back from config.json
    seen: list[torch.Tensor] = []
    pipe._inference_net().register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    x, m = _batch(b=1)
    pipe(x[0], m[0, 0].bool(), strategy="original")
    mean = torch.tensor([0.5, 0.4, 0.3])
    assert torch.allclose(seen[0], prefill(x, m, mean, "telea"), atol=1e-6)  # what training feeds
