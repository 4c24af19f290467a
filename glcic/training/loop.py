"""The training loop: the paper's Algorithm 1, read top to bottom.

    for t < T_C:               update the completion network with the masked MSE (eq. 1)
    for T_C <= t < T_C + T_D:  update the discriminators alone (eq. 2)
    for t >= T_C + T_D:        update both; the completion network minimises MSE + alpha * GAN (eq. 3)

The phases are a table (:data:`PHASES`) saying which network trains; the loop
switches ``requires_grad_`` per phase. The same code runs as one CPU process and
under ``torchrun`` (rank-0-only I/O, the global batch split across ranks,
gradients averaged per phase).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from glcic.config import Config, dump_config
from glcic.convert import to_uint8
from glcic.data.masks import crop_windows
from glcic.errors import InputError
from glcic.losses import attribute_loss, discriminator_loss, generator_adversarial, masked_mse
from glcic.models import CompletionNetwork, ContextDiscriminator, composite, fill_holes
from glcic.precision import cpu_bf16_supported
from glcic.training import distributed as dist
from glcic.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint


@dataclass(frozen=True)
class Phase:
    name: str
    train_c: bool
    train_d: bool


PHASES = {
    "completion": Phase("completion", train_c=True, train_d=False),
    "discriminator": Phase("discriminator", train_c=False, train_d=True),
    "joint": Phase("joint", train_c=True, train_d=True),
}


def phase_at(step: int, t_c: int, t_d: int) -> Phase:
    """Algorithm 1's schedule: which phase iteration ``step`` (0-based) belongs to."""
    if step < t_c:
        return PHASES["completion"]
    if step < t_c + t_d:
        return PHASES["discriminator"]
    return PHASES["joint"]


class TrainingError(RuntimeError):
    """The run cannot go on (a non-finite loss); the last good checkpoint is intact."""


class GlobalBatchSampler:
    """Draws the global batch's indices from one seeded stream; yields this rank's slice."""

    def __init__(self, n: int, batch_size: int, rank: int, local_bs: int, generator: torch.Generator) -> None:
        self.n, self.batch_size, self.rank, self.local_bs, self.generator = n, batch_size, rank, local_bs, generator

    def __iter__(self):
        while True:
            idx = torch.randint(self.n, (self.batch_size,), generator=self.generator)
            yield idx[self.rank * self.local_bs : (self.rank + 1) * self.local_bs].tolist()


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """'auto' -> bf16 autocast where the hardware runs it fast, else fp32 (None)."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type != "cuda":
            raise InputError("train.precision=fp16 needs CUDA; on CPU use bf16 or fp32")
        return torch.float16
    # auto
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_bf16_supported() else None


def make_optimizer(params, kind: str, lr: float, weight_decay: float, betas) -> torch.optim.Optimizer:
    if kind == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def train(
    cfg: Config,
    run_dir: str | Path,
    resume: bool = False,
    device: str = "auto",
    progress: bool | None = None,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) training; return the final step and last stats.

    Args:
        cfg: the resolved config.
        run_dir: where config.yaml, checkpoints/, stats.jsonl, tb/ and samples/ go.
        resume: continue from the latest checkpoint in ``run_dir``.
        device: 'auto', 'cpu' or 'cuda'.
        progress: show a progress bar (default: when stdout is a terminal).
        max_steps: stop after this many steps of this call (for tests and interruptions).
    """
    from glcic.data.datasets import build_datasets, compute_mean_pixel
    from glcic.data.masks import build_mask_generator, random_window, sample_batch

    tc = cfg.train
    run_dir = Path(run_dir)
    dev = dist.init(device)
    rank, world = dist.rank(), dist.world_size()
    main = rank == 0
    if tc.batch_size % world:
        raise InputError(f"train.batch_size ({tc.batch_size}) must be divisible by the number of processes ({world})")
    local_bs = tc.batch_size // world
    if tc.deterministic:
        torch.use_deterministic_algorithms(True)
    torch.manual_seed(tc.seed)

    # Data: the training set, a fixed validation batch, and the dataset mean pixel.
    lo, hi = cfg.model.value_range
    attrs_k = cfg.model.attributes
    train_ds, val_ds = build_datasets(cfg.data, (lo, hi), attributes=attrs_k)
    size, local = cfg.data.size, cfg.mask.local_size
    mask_gen = build_mask_generator(cfg.mask, size)

    ckpt_path = latest_checkpoint(run_dir) if resume else None
    if resume and ckpt_path is None and main:
        print(f"glcic train: no checkpoint in {run_dir / 'checkpoints'}; starting from step 0", file=sys.stderr)
    state = load_checkpoint(ckpt_path) if ckpt_path is not None else None
    if state is not None:
        mean01 = state["mean_pixel"].float()
    else:
        mean01 = _cached_mean(run_dir, train_ds, compute_mean_pixel, main)
    mean = (mean01 * (hi - lo) + lo).to(dev)  # (3,) in the model's range

    # Networks and optimisers.
    netC = CompletionNetwork(cfg.model).to(dev)
    netD = ContextDiscriminator(size, local, cfg.model).to(dev)
    mem_format = torch.channels_last if tc.channels_last else torch.contiguous_format
    netC.to(memory_format=mem_format)
    netD.to(memory_format=mem_format)
    opt_c = make_optimizer(netC.parameters(), tc.optimizer, tc.lr_c, tc.weight_decay, tc.adam_betas)
    opt_d = make_optimizer(netD.parameters(), tc.optimizer, tc.lr_d, tc.weight_decay, tc.adam_betas)
    amp_dtype = resolve_precision(tc.precision, dev)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)

    # Random streams: one for data indices and augmentation, one for masks. They are
    # seeded identically on every rank and draw the *global* batch, of which each rank
    # takes its slice, so N processes see exactly what one process would.
    g_data = torch.Generator().manual_seed(tc.seed)
    g_mask = torch.Generator().manual_seed(tc.seed + 1)
    step = 0
    loader = None
    if not cfg.data.cache:
        # Files are decoded on the fly in worker processes (pinned memory on CUDA). The
        # index stream still comes from g_data in this process, but workers prefetch,
        # so resuming is exact only for the in-memory path (data.cache=true).
        loader = iter(
            torch.utils.data.DataLoader(
                train_ds,
                batch_sampler=GlobalBatchSampler(len(train_ds), tc.batch_size, rank, local_bs, g_data),
                num_workers=cfg.data.num_workers,
                pin_memory=dev.type == "cuda",
                persistent_workers=cfg.data.num_workers > 0,
            )
        )
    if state is not None:
        netC.load_state_dict(state["completion"])
        netD.load_state_dict(state["discriminator"])
        opt_c.load_state_dict(state["opt_c"])
        opt_d.load_state_dict(state["opt_d"])
        g_data.set_state(state["rng"]["data"])
        g_mask.set_state(state["rng"]["mask"])
        torch.set_rng_state(state["rng"]["torch"])
        step = int(state["step"])
        if main:
            print(f"glcic train: resumed from {ckpt_path} at step {step}", file=sys.stderr)

    # Fixed validation batch (same on every rank; for sample grids and val MSE).
    g_val = torch.Generator().manual_seed(12345)
    n_val = min(tc.val_images, len(val_ds))
    val = val_ds.get_batch(torch.arange(n_val))  # the validation set is not augmented
    val_x = val["image"].to(dev)
    val_m, _ = sample_batch(mask_gen, n_val, g_val)
    val_m = val_m.to(dev)

    # Output: config, stats, TensorBoard (rank 0 only).
    writer = None
    stats_file = None
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(dump_config(cfg))
        (run_dir / "samples").mkdir(exist_ok=True)
        stats_file = open(run_dir / "stats.jsonl", "a")
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(run_dir / "tb"), purge_step=step if step else None)
        except ImportError:  # tensorboard is a dependency, but keep training if it is broken
            writer = None
    show_bar = main and (sys.stdout.isatty() if progress is None else progress)
    from tqdm import tqdm

    bar = tqdm(total=tc.t_train, initial=step, disable=not show_bar, dynamic_ncols=True, unit="step")

    def checkpoint(step_done: int) -> None:
        if not main:
            return
        save_checkpoint(
            run_dir,
            step_done,
            {
                "step": step_done,
                "phase": phase_at(max(step_done - 1, 0), tc.t_c, tc.t_d).name,
                "config": cfg.to_dict(),
                "completion": netC.state_dict(),
                "discriminator": netD.state_dict(),
                "opt_c": opt_c.state_dict(),
                "opt_d": opt_d.state_dict(),
                "mean_pixel": mean01.cpu(),
                "rng": {"data": g_data.get_state(), "mask": g_mask.get_state(), "torch": torch.get_rng_state()},
            },
            keep=tc.keep_ckpts,
        )

    end = tc.t_train if max_steps is None else min(tc.t_train, step + max_steps)
    agg: dict[str, list[float]] = {}
    tick_t0, tick_steps = time.perf_counter(), 0
    last: dict[str, float] = {}
    while step < end:
        phase = phase_at(step, tc.t_c, tc.t_d)
        set_lr(opt_c, tc.lr_c if phase.name == "completion" else tc.lr_joint)

        # Draw the global batch; keep this rank's slice.
        sl = slice(rank * local_bs, (rank + 1) * local_bs)
        if loader is None:  # in memory: augment the whole global batch here, keep our slice
            idx = torch.randint(len(train_ds), (tc.batch_size,), generator=g_data)
            batch = train_ds.get_batch(idx, g_data)
            batch = {k: v[sl] for k, v in batch.items()}
        else:  # worker processes decode our slice
            batch = next(loader)
        masks, win_c = sample_batch(mask_gen, tc.batch_size, g_mask)  # (B, 1, H, W), (B, 2)
        win_d = torch.stack([torch.tensor(random_window(size, local, g_mask)) for _ in range(tc.batch_size)])
        x = batch["image"].to(dev, non_blocking=True).contiguous(memory_format=mem_format)  # (b, 3, H, W)
        attrs = batch["attrs"].to(dev)
        m = masks[sl].to(dev).contiguous(memory_format=mem_format)  # (b, 1, H, W)
        win_c, win_d = win_c[sl], win_d[sl]
        stats = training_step(
            netC, netD, opt_c, opt_d, scaler, phase, tc, mean, (x, attrs, m, win_c, win_d), local,
            amp_dtype, step,
        )
        dist.average_buffers(netC)
        dist.average_buffers(netD)
        step += 1
        tick_steps += 1
        bar.update(1)
        for k, v in stats.items():
            agg.setdefault(k, []).append(v)

        # Log a tick: averaged stats, throughput.
        if main and (step % tc.log_every == 0 or step == end):
            dt = time.perf_counter() - tick_t0
            last = {k: sum(v) / len(v) for k, v in agg.items()}
            last.update(
                {
                    "speed/images_per_s": tick_steps * tc.batch_size / dt,
                    "speed/s_per_step": dt / tick_steps,
                    "lr/C": opt_c.param_groups[0]["lr"],
                    "lr/D": opt_d.param_groups[0]["lr"],
                }
            )
            _log(step, phase.name, last, stats_file, writer, bar)
            agg, tick_t0, tick_steps = {}, time.perf_counter(), 0

        # Samples and validation MSE on the fixed batch.
        if main and (step % tc.sample_every == 0 or step == tc.t_train):
            val_mse = _samples(netC, val_x, val_m, mean, (lo, hi), run_dir, step, writer, amp_dtype, dev)
            if stats_file:
                stats_file.write(json.dumps({"step": step, "phase": phase.name, "val/C_mse": val_mse}) + "\n")
                stats_file.flush()

        # Save checkpoint.
        if step % tc.ckpt_every == 0 or step == tc.t_train or step == end:
            checkpoint(step)
        dist.barrier()

    bar.close()
    if writer:
        writer.close()
    if stats_file:
        stats_file.close()
    dist.shutdown()
    return {
        "step": step,
        "stats": last,
        "run_dir": str(run_dir),
        "completion": netC.state_dict(),
        "discriminator": netD.state_dict(),
    }


def training_step(
    netC: CompletionNetwork,
    netD: ContextDiscriminator,
    opt_c: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    phase: Phase,
    tc,
    mean: torch.Tensor,
    batch: tuple[torch.Tensor, ...],
    local: int,
    amp_dtype: torch.dtype | None = None,
    step: int = 0,
) -> dict[str, float]:
    """One iteration of Algorithm 1 for ``phase``; returns its stats.

    Args:
        batch: ``(x, attrs, m, win_c, win_d)``: images (b, 3, H, W) in the model's range,
            attributes (b, K), masks M_c (b, 1, H, W) with 1 = hole, the completed images'
            local windows (b, 2) and the real images' random windows M_d (b, 2).
    """
    x, attrs, m, win_c, win_d = batch
    b = x.shape[0]
    dev_type = x.device.type
    # A network outside its phase is frozen entirely: no gradients, and (in eval mode)
    # no batch-norm statistics updates either.
    netC.requires_grad_(phase.train_c).train(phase.train_c)
    netD.requires_grad_(phase.train_d).train(phase.train_d)
    stats: dict[str, float] = {}

    def amp():
        return torch.autocast(dev_type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None)

    # Complete the holes (the discriminator only ever sees the composite).
    with amp(), torch.set_grad_enabled(phase.train_c):
        out = netC(fill_holes(x, m, mean), m)  # (b, 3, H, W)
        completed = composite(out, x, m)  # (b, 3, H, W)

    # Update discriminator: real (x, M_d) against completed (C(x, M_c), M_c).
    if phase.train_d:
        fake = completed.detach()
        with amp():
            imgs = torch.cat([x, fake])  # (2b, 3, H, W)
            patches = torch.cat([crop_windows(x, win_d, local), crop_windows(fake, win_c, local)])
            logits, attr_logits = netD(imgs, patches)  # (2b,), (2b, K) or None
        loss_d, s = discriminator_loss(logits[:b], logits[b:], tc.real_label)
        stats.update(s)
        if attr_logits is not None and attrs.numel():
            # The report's semi-supervised term: attributes of real images only.
            loss_aux, s = attribute_loss(attr_logits[:b], attrs)
            loss_d = loss_d + tc.attr_weight * loss_aux
            stats.update(s)
        _check_finite(loss_d, step, phase.name, "discriminator")
        opt_d.zero_grad(set_to_none=True)
        scaler.scale(loss_d).backward()
        dist.average_gradients(netD.parameters())
        scaler.step(opt_d)

    # Update completion network: eq. (1) alone, or eq. (3) in the joint phase.
    if phase.train_c:
        loss_c, s = masked_mse(out, x, m, dist.mean_over_ranks(m.sum()))
        stats.update(s)
        if phase.train_d and tc.alpha > 0:
            # Freeze netD so that no generator-loss gradient reaches its parameters
            # (and so its next update sees only the discriminator loss).
            netD.requires_grad_(False)
            with amp():
                logit, _ = netD(completed, crop_windows(completed, win_c, local))  # (b,)
            adv, s = generator_adversarial(logit, tc.nonsaturating)
            stats.update(s)
            loss_c = loss_c + tc.alpha * adv
        _check_finite(loss_c, step, phase.name, "completion network")
        opt_c.zero_grad(set_to_none=True)
        scaler.scale(loss_c).backward()
        dist.average_gradients(netC.parameters())
        scaler.step(opt_c)
        netD.requires_grad_(phase.train_d)
    scaler.update()
    return stats


def _check_finite(loss: torch.Tensor, step: int, phase: str, net: str) -> None:
    if not torch.isfinite(loss.detach()).all():
        raise TrainingError(
            f"non-finite loss ({loss.item()}) for the {net} at step {step} in the {phase} phase; "
            "the last checkpoint is intact. Lower the learning rate or use train.precision=fp32, "
            "then --resume."
        )


def _cached_mean(run_dir: Path, train_ds, compute_mean_pixel, main: bool) -> torch.Tensor:
    """The dataset mean pixel in [0, 1], computed once and cached in the run folder."""
    path = run_dir / "mean_pixel.json"
    if path.is_file():
        return torch.tensor(json.loads(path.read_text())["mean_pixel"], dtype=torch.float32)
    mean = compute_mean_pixel(train_ds).float()
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"mean_pixel": mean.tolist()}) + "\n")
    return mean


def _log(step: int, phase: str, stats: dict[str, float], stats_file, writer, bar) -> None:
    if stats_file:
        stats_file.write(json.dumps({"step": step, "phase": phase, **stats}) + "\n")
        stats_file.flush()
    if writer:
        for k, v in stats.items():
            writer.add_scalar(k, v, step)
    parts = [f"step {step}", phase]
    for k in ("loss/C_mse", "loss/C_adv", "loss/D_real", "loss/D_fake", "loss/D_aux"):
        if k in stats:
            parts.append(f"{k.split('/')[1]} {stats[k]:.4g}")
    parts.append(f"{stats['speed/images_per_s']:.1f} img/s")
    parts.append(f"{stats['speed/s_per_step']:.3f} s/step")
    line = " | ".join(parts)
    if bar.disable:
        print(line, flush=True)
    else:
        bar.write(line)


@torch.no_grad()
def _samples(netC, x, m, mean, value_range, run_dir: Path, step: int, writer, amp_dtype, dev) -> float:
    """Write a grid (rows: input with hole / completed / ground truth) and return the val hole MSE."""
    from PIL import Image

    was_training = netC.training
    netC.eval()
    with torch.autocast(dev.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        out = netC(fill_holes(x, m, mean), m)
    netC.train(was_training)
    completed = composite(out.float(), x, m)
    mse, _ = masked_mse(completed, x, m)
    lo, hi = value_range
    to01 = lambda t: ((t.float() - lo) / (hi - lo)).clamp(0, 1)  # noqa: E731
    holed = to01(x) * (1 - m) + m  # holes shown white
    rows = [torch.cat(list(r), dim=2) for r in (holed, to01(completed), to01(x))]  # each (3, H, n*W)
    grid = torch.cat(rows, dim=1)  # (3, 3H, n*W)
    Image.fromarray(to_uint8(grid)).save(run_dir / "samples" / f"step_{step:08d}.png")
    if writer:
        writer.add_image("samples", grid.cpu(), step)
        writer.add_scalar("val/C_mse", mse.item(), step)
    return mse.item()
