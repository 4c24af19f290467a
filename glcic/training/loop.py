"""The training loop: the paper's Algorithm 1, read top to bottom.

    for t < T_C:               update the completion network with the masked MSE (eq. 1)
    for T_C <= t < T_C + T_D:  update the discriminators alone (eq. 2)
    for t >= T_C + T_D:        update both; the completion network minimises MSE + alpha * GAN (eq. 3)

One iteration is :func:`glcic.training.step.training_step`; the batches come from
:mod:`glcic.training.batches`, the logs and sample grids go through
:mod:`glcic.training.outputs`. The same code runs as one CPU process and under
``torchrun`` (rank-0-only I/O, the global batch split across ranks, gradients
averaged per phase).
"""

from __future__ import annotations

from pathlib import Path
from time import monotonic
from typing import Any

import torch

from glcic.config import Config
from glcic.data.datasets import build_datasets
from glcic.data.masks import build_mask_generator
from glcic.training import distributed as dist
from glcic.training.batches import RandomStreams, TrainBatches, validation_batch
from glcic.training.checkpoint import (
    find_resume_state,
    restore_training_state,
    save_checkpoint,
    training_state,
)
from glcic.training.init_from import init_from
from glcic.training.outputs import RunOutputs, cached_mean_pixel
from glcic.training.run_lock import run_folder_lock
from glcic.training.step import build_nets, phase_at, set_lr, training_step


def train(
    cfg: Config,
    run_dir: str | Path,
    resume: bool = False,
    device: str = "auto",
    progress: bool | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
) -> dict[str, Any]:
    """Run (or resume) training; return the final step, the last logged stats and the weights.

    Args:
        cfg: the resolved config.
        run_dir: where config.yaml, checkpoints/, stats.jsonl, tb/ and samples/ go.
        resume: continue from the latest checkpoint in ``run_dir``.
        device: 'auto', 'cpu', 'cuda' or 'cuda:N'.
        progress: show a progress bar (default: when stdout is a terminal).
        max_steps: stop after this many steps of this call (for tests and interruptions).
        max_minutes: stop (with a checkpoint) after the first step that ends past this many
            minutes of this call: equal wall-clock budgets for experiments.

    Returns:
        ``{"step", "stats", "run_dir", "completion", "discriminator"}`` (the two state dicts).

    Raises:
        TrainingError: a non-finite loss; the last good checkpoint is intact.
        OSError: a write failed, no partial file left; a full disk is a ``DiskFullError``
            (or, from an append, ``glcic.atomic.is_disk_full(e)``).
        RunFolderBusyError: another live process is training in ``run_dir``
            (:mod:`glcic.training.run_lock`); nothing was written.
    """
    run_dir = Path(run_dir)
    with run_folder_lock(run_dir, dist.rank() == 0):
        return _train(cfg, run_dir, resume, device, progress, max_steps, max_minutes)


def _train(
    cfg: Config,
    run_dir: Path,
    resume: bool,
    device: str,
    progress: bool | None,
    max_steps: int | None,
    max_minutes: float | None,
) -> dict[str, Any]:
    """:func:`train`, with the run folder locked."""
    tc = cfg.train

    # Join the process group (under torchrun) and seed.
    dev = dist.init(device)
    main = dist.rank() == 0
    local_bs = dist.local_batch_size(tc.batch_size)
    if tc.deterministic:
        torch.use_deterministic_algorithms(True)
    torch.manual_seed(tc.seed)

    # Load the data, the checkpoint to resume from, and the dataset mean pixel.
    lo, hi = cfg.model.value_range
    train_ds, val_ds = build_datasets(cfg.data, (lo, hi), attributes=cfg.model.attributes)
    mask_gen = build_mask_generator(cfg.mask, cfg.data.size)
    state = find_resume_state(run_dir, resume, main)
    mean01 = state["mean_pixel"].float() if state is not None else cached_mean_pixel(run_dir, train_ds, main)
    mean = (mean01 * (hi - lo) + lo).to(dev)  # (3,) in the model's range, filled into the holes

    # Build the networks, optimisers, random streams and batches; restore them when resuming.
    nets = build_nets(cfg, dev)
    streams = RandomStreams.from_seed(tc.seed)
    batches = TrainBatches(train_ds, mask_gen, cfg, dist.rank(), local_bs, streams, dev, mean)
    step = restore_training_state(state, nets, streams) if state is not None else 0
    if state is None and tc.init_from:  # a fresh run from trained weights (a resumed one has its own)
        init_from(tc.init_from, cfg, nets, main)

    # Fixed validation batch, and the run's logs (rank 0 writes).
    val = validation_batch(val_ds, mask_gen, tc.val_images, dev)
    out = RunOutputs(run_dir, cfg, step, main, progress)

    end = tc.t_train if max_steps is None else min(tc.t_train, step + max_steps)
    deadline = None if max_minutes is None else monotonic() + 60 * max_minutes
    last: dict[str, float] = {}
    while step < end:
        # Which phase of Algorithm 1 this iteration is in (and the completion network's rate).
        phase = phase_at(step, tc.t_c, tc.t_d)
        set_lr(nets.opt_c, tc.lr_c if phase.name == "completion" else tc.lr_joint)

        # Update the networks of this phase on the next batch; keep batch norm equal on all ranks.
        stats = training_step(nets, next(batches), phase, cfg, mean, step)
        dist.average_buffers(nets.netC)
        dist.average_buffers(nets.netD)
        step += 1
        out.add(stats)
        if deadline is not None and dist.any_rank(monotonic() > deadline):
            end = step  # the time budget is spent: log, sample and checkpoint this step, then stop

        # Log a tick: averaged stats, throughput, learning rates.
        if main and (step % tc.log_every == 0 or step == end):
            lrs = {"lr/C": nets.opt_c.param_groups[0]["lr"], "lr/D": nets.opt_d.param_groups[0]["lr"]}
            last = out.tick(step, phase.name, lrs)

        # Samples and validation MSE on the fixed batch.
        if main and (step % tc.sample_every == 0 or step == tc.t_train):
            out.samples(nets.netC, val, mean, nets.amp, step, phase.name)

        # Save checkpoint.
        if main and (step % tc.ckpt_every == 0 or step == tc.t_train or step == end):
            ckpt = training_state(step, phase.name, cfg, nets, mean01, streams)
            save_checkpoint(run_dir, step, ckpt, keep=tc.keep_ckpts)
        dist.barrier()

    out.close()
    dist.shutdown()
    weights = {"completion": nets.netC.state_dict(), "discriminator": nets.netD.state_dict()}
    return {"step": step, "stats": last, "run_dir": str(run_dir), **weights}
