"""Where each training step's batch comes from: seeded streams, this rank's slice, the fixed val batch.

Two random streams drive training: one for data indices and augmentation, one for
masks and windows. They are seeded identically on every rank and draw the *global*
batch, of which each rank keeps its slice, so N processes see exactly what one
process would, and a resumed run continues the same streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from glcic.config import Config
from glcic.data.masks import MaskGenerator, random_window, sample_batch
from glcic.prefill import prefill
from glcic.training.step import Batch, memory_format

VAL_MASK_SEED = 12345
"""Seed of the fixed validation batch's holes. It is fixed, and separate from
``train.seed``, so that the sample grids and ``val/C_mse`` of every run (and of a run
after ``--resume``) show the same holes and can be compared with each other."""


@dataclass
class RandomStreams:
    """The data stream (indices, augmentation) and the mask stream (holes, windows)."""

    data: torch.Generator
    mask: torch.Generator

    @classmethod
    def from_seed(cls, seed: int) -> RandomStreams:
        return cls(torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1))

    def state(self) -> dict[str, torch.Tensor]:
        """Both streams and torch's global RNG, for a checkpoint."""
        return {"data": self.data.get_state(), "mask": self.mask.get_state(), "torch": torch.get_rng_state()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.data.set_state(state["data"])
        self.mask.set_state(state["mask"])
        torch.set_rng_state(state["torch"])


def sample_holes(
    mask_gen: MaskGenerator, n: int, size: int, local: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` holes with their windows, then ``n`` random windows for the real images.

    Returns:
        ``(masks, win_c, win_d)``: float (n, 1, size, size) with 1 = hole, and long
        (n, 2) top-left corners ``(y, x)`` of the local windows.
    """
    masks, win_c = sample_batch(mask_gen, n, generator)  # (n, 1, H, W), (n, 2)
    win_d = torch.stack([torch.tensor(random_window(size, local, generator)) for _ in range(n)])  # (n, 2)
    return masks, win_c, win_d


class GlobalBatchSampler:
    """Draws the global batch's indices from one seeded stream; yields this rank's slice."""

    def __init__(self, n: int, batch_size: int, rank: int, local_bs: int, generator: torch.Generator) -> None:
        self.n, self.batch_size, self.rank, self.local_bs, self.generator = n, batch_size, rank, local_bs, generator

    def __iter__(self):
        while True:
            idx = torch.randint(self.n, (self.batch_size,), generator=self.generator)
            yield idx[self.rank * self.local_bs : (self.rank + 1) * self.local_bs].tolist()


class TrainBatches:
    """This rank's slice of each global batch, on ``device``: ``next(batches)`` is a :class:`Batch`.

    With ``data.cache`` the whole global batch is sliced from memory and augmented
    here; otherwise worker processes decode this rank's slice (pinned memory on CUDA).
    The index stream still comes from ``streams.data`` in this process, but workers
    prefetch, so resuming is exact only for the in-memory path.
    """

    def __init__(
        self, dataset: Any, mask_gen: MaskGenerator, cfg: Config, rank: int, local_bs: int,
        streams: RandomStreams, device: torch.device, mean: torch.Tensor | None = None,
    ) -> None:
        self.dataset, self.mask_gen, self.cfg, self.streams, self.device = dataset, mask_gen, cfg, streams, device
        self.mean = mean  # (3,) in the model's range; None: the training step fills the holes
        self.slice = slice(rank * local_bs, (rank + 1) * local_bs)
        self.fmt = memory_format(cfg.train)
        self.loader = None
        if not cfg.data.cache:
            sampler = GlobalBatchSampler(len(dataset), cfg.train.batch_size, rank, local_bs, streams.data)
            self.loader = iter(
                torch.utils.data.DataLoader(
                    dataset,
                    batch_sampler=sampler,
                    num_workers=cfg.data.num_workers,
                    pin_memory=device.type == "cuda",
                    persistent_workers=cfg.data.num_workers > 0,
                )
            )

    def __iter__(self) -> TrainBatches:
        return self

    def __next__(self) -> Batch:
        bs, sl, dev = self.cfg.train.batch_size, self.slice, self.device
        if self.loader is None:  # in memory: augment the whole global batch here, keep our slice
            idx = torch.randint(len(self.dataset), (bs,), generator=self.streams.data)
            batch = self.dataset.get_batch(idx, self.streams.data)
            batch = {k: v[sl] for k, v in batch.items()}
        else:  # worker processes decode our slice
            batch = next(self.loader)
        size, local = self.cfg.data.size, self.cfg.mask.local_size
        masks, win_c, win_d = sample_holes(self.mask_gen, bs, size, local, self.streams.mask)
        x = batch["image"].to(dev, non_blocking=True).contiguous(memory_format=self.fmt)  # (b, 3, H, W)
        m = masks[sl].to(dev).contiguous(memory_format=self.fmt)  # (b, 1, H, W)
        # Pre-fill the holes here, with the masks, where a costly fill (telea) is cheapest.
        filled = None
        if self.mean is not None:
            filled = prefill(x, m, self.mean, self.cfg.model.prefill, self.cfg.model.value_range)
        return Batch(
            x=x,
            attrs=batch["attrs"].to(dev),  # (b, K)
            mask=m,
            win_c=win_c[sl],  # (b, 2)
            win_d=win_d[sl],  # (b, 2)
            filled=filled,  # (b, 3, H, W) or None
        )


def validation_batch(
    val_ds: Any, mask_gen: MaskGenerator, n: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed validation batch (the same on every rank and every run), for grids and val MSE.

    Returns:
        ``(x, mask)``: the first ``min(n, len(val_ds))`` validation images (not augmented),
        (n, 3, H, W) in the model's range, and their holes (n, 1, H, W), 1 = hole.
    """
    n = min(n, len(val_ds))
    x = val_ds.get_batch(torch.arange(n))["image"].to(device)  # (n, 3, H, W)
    mask, _ = sample_batch(mask_gen, n, torch.Generator().manual_seed(VAL_MASK_SEED))  # (n, 1, H, W)
    return x, mask.to(device)
