"""Seeded batches: the global batch split across ranks, the fixed validation batch."""

import torch

from glcic.data.datasets import build_datasets
from glcic.data.masks import build_mask_generator
from glcic.training.batches import RandomStreams, TrainBatches, sample_holes, validation_batch
from tests.training.conftest import tiny_config


def _batches(cfg, rank: int, local_bs: int) -> TrainBatches:
    train_ds, _ = build_datasets(cfg.data, cfg.model.value_range)
    mask_gen = build_mask_generator(cfg.mask, cfg.data.size)
    return TrainBatches(train_ds, mask_gen, cfg, rank, local_bs, RandomStreams.from_seed(0), torch.device("cpu"))


def test_two_ranks_see_the_halves_of_one_process_batch(image_folder):
    cfg = tiny_config(image_folder)
    whole = next(_batches(cfg, 0, 8))
    halves = [next(_batches(cfg, r, 4)) for r in (0, 1)]
    for field in ("x", "attrs", "mask", "win_c", "win_d"):
        assert torch.equal(getattr(whole, field), torch.cat([getattr(h, field) for h in halves])), field
    assert whole.x.shape == (8, 3, 32, 32) and whole.mask.shape == (8, 1, 32, 32)
    assert whole.win_c.shape == whole.win_d.shape == (8, 2)


def test_resumed_streams_continue_the_same_batches(image_folder):
    cfg = tiny_config(image_folder)
    a = _batches(cfg, 0, 8)
    next(a)
    saved = a.streams.state()
    expected = next(a)
    b = _batches(cfg, 0, 8)
    b.streams.load_state(saved)
    got = next(b)
    assert torch.equal(expected.x, got.x) and torch.equal(expected.mask, got.mask)


def test_validation_batch_does_not_depend_on_the_training_seed(image_folder):
    grids = []
    for seed in ("0", "7"):
        cfg = tiny_config(image_folder, **{"train.seed": seed})
        _, val_ds = build_datasets(cfg.data, cfg.model.value_range)
        torch.manual_seed(int(seed))
        grids.append(validation_batch(val_ds, build_mask_generator(cfg.mask, 32), 4, torch.device("cpu")))
    assert torch.equal(grids[0][0], grids[1][0]) and torch.equal(grids[0][1], grids[1][1])
    assert grids[0][1].shape == (4, 1, 32, 32)


def test_sample_holes_keeps_every_hole_inside_its_window(image_folder):
    cfg = tiny_config(image_folder)
    masks, win_c, win_d = sample_holes(build_mask_generator(cfg.mask, 32), 6, 32, 16, torch.Generator().manual_seed(0))
    for m, (y, x) in zip(masks, win_c.tolist(), strict=True):
        assert m.sum() == m[:, y : y + 16, x : x + 16].sum() > 0
    assert ((win_d >= 0) & (win_d <= 16)).all()
