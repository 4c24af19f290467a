"""One iteration of Algorithm 1: the phase table, the batch, the networks and the update.

    phase          trains                      loss of the completion network
    completion     C alone                     masked MSE (eq. 1) [+ style_weight * style]
    discriminator  D alone                     (D: eq. 2 [+ r1_weight * R1 penalty])
    joint          C and D                     MSE + alpha * GAN (eq. 3) [+ fm_weight * feature matching]
                                               [+ style_weight * style]
                                               (their gradient weighed by hole depth: train.adv_depth)
                   (D first, train.d_steps times on the step's images; then C once)

:func:`training_step` is the whole update for one phase; the training loop
(:mod:`glcic.training.loop`) and ``benchmarks/bench_train.py`` both call it, on
networks built by :func:`build_nets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from glcic.config import Config, TrainConfig
from glcic.data.masks import crop_windows
from glcic.losses import (
    attribute_loss,
    depth_weights,
    discriminator_loss,
    feature_matching,
    generator_adversarial,
    masked_l1,
    masked_mse,
    r1_penalty,
    rim_gated,
    texture_style,
)
from glcic.models import (
    CompletionNetwork,
    ContextDiscriminator,
    PatchDiscriminator,
    build_discriminator,
    composite,
)
from glcic.models.inference import FrozenCopy
from glcic.precision import autocast, resolve_precision
from glcic.prefill import prefill
from glcic.training import distributed as dist
from glcic.training.optim import make_optimizer


@dataclass(frozen=True)
class Phase:
    """Which networks one phase of Algorithm 1 trains."""

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


@dataclass
class Batch:
    """One process's share of a training batch (b images), on the training device."""

    x: torch.Tensor  # (b, 3, H, W) images in the model's value range
    attrs: torch.Tensor  # (b, K) attribute labels in {0, 1}; K = 0 without the auxiliary head
    mask: torch.Tensor  # (b, 1, H, W) the holes M_c, 1 = hole
    win_c: torch.Tensor  # (b, 2) top-left (y, x) of the local window around each hole
    win_d: torch.Tensor  # (b, 2) top-left (y, x) of a random window M_d in each real image
    filled: torch.Tensor | None = None  # (b, 3, H, W) x with its holes pre-filled (model.prefill); None: fill here


@dataclass
class Nets:
    """The completion network, the context discriminator, their optimisers and the loss scaler."""

    netC: CompletionNetwork
    netD: ContextDiscriminator | PatchDiscriminator
    opt_c: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    amp: torch.dtype | None
    """The autocast dtype (``None`` = fp32)."""
    frozen_c: FrozenCopy = field(default_factory=lambda: FrozenCopy())
    """netC with batch norm folded, for the phases that do not train it."""


class TrainingError(RuntimeError):
    """The run cannot go on (a non-finite loss); the last good checkpoint is intact."""


def memory_format(tc: TrainConfig) -> torch.memory_format:
    """The layout of the networks' weights and of every training batch."""
    return torch.channels_last if tc.channels_last else torch.contiguous_format


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def build_nets(cfg: Config, device: torch.device) -> Nets:
    """Fresh networks (initialised from torch's global RNG), optimisers and scaler for ``cfg``.

    Raises:
        InputError: ``train.precision`` cannot run on ``device`` (fp16 on the CPU).
    """
    tc, fmt = cfg.train, memory_format(cfg.train)
    netC = CompletionNetwork(cfg.model).to(device)
    netD = build_discriminator(cfg.data.size, cfg.mask.local_size, cfg.model).to(device)
    netC.to(memory_format=fmt)
    netD.to(memory_format=fmt)
    opt_c = make_optimizer(netC.parameters(), tc.optimizer, tc.lr_c, tc.weight_decay, tc.adam_betas)
    opt_d = make_optimizer(netD.parameters(), tc.optimizer, tc.lr_d, tc.weight_decay, tc.adam_betas)
    amp = resolve_precision(tc.precision, device)
    # Only fp16 needs loss scaling; bf16 has fp32's exponent range.
    scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)
    return Nets(netC, netD, opt_c, opt_d, scaler, amp)


def training_step(
    nets: Nets, batch: Batch, phase: Phase, cfg: Config, mean: torch.Tensor, step: int = 0
) -> dict[str, float]:
    """One iteration of Algorithm 1 for ``phase``; returns its stats.

    Args:
        nets: the networks, optimisers and scaler (updated in place).
        batch: this process's images, attributes, holes and windows.
        phase: which networks train (see :data:`PHASES`).
        cfg: the run's config (``train`` for the losses, ``mask.local_size`` for the windows).
        mean: (3,) the dataset mean pixel in the model's range, for ``model.prefill=mean``
            when the batch comes without ``filled``.
        step: the iteration, for error messages.
    """
    tc, local = cfg.train, cfg.mask.local_size
    x, m, win_c = batch.x, batch.mask, batch.win_c
    netC, netD, scaler = nets.netC, nets.netD, nets.scaler
    b = x.shape[0]
    # A network outside its phase is frozen entirely: no gradients, and (in eval mode)
    # no batch-norm statistics updates either.
    netC.requires_grad_(phase.train_c).train(phase.train_c)
    netD.requires_grad_(phase.train_d).train(phase.train_d)
    stats: dict[str, float] = {}

    # Complete the holes (the discriminator only ever sees the composite).
    filled = batch.filled
    if filled is None:
        filled = prefill(x, m, mean, cfg.model.prefill, cfg.model.value_range)  # (b, 3, H, W)
    with autocast(x.device, nets.amp), torch.set_grad_enabled(phase.train_c):
        # Frozen, netC computes its eval-mode function: the folded copy does so in fewer passes.
        net = netC if phase.train_c else nets.frozen_c.get(netC, nets.amp)
        out = net(filled, m)  # (b, 3, H, W)
        completed = composite(out, x, m)  # (b, 3, H, W)

    # Update discriminator: real (x, M_d) against completed (C(x, M_c), M_c).
    if phase.train_d:
        fake = completed.detach()
        # R1 differentiates D's logits with respect to the real images.
        real = x.detach().requires_grad_(True) if tc.r1_weight > 0 else x
        # train.d_steps updates in the joint phase, all on this step's images.
        updates = tc.d_steps if phase.train_c else 1
        for update in range(updates):
            with autocast(x.device, nets.amp):
                imgs = torch.cat([real, fake])  # (2b, 3, H, W)
                patches = torch.cat([crop_windows(real, batch.win_d, local), crop_windows(fake, win_c, local)])
                # The patch discriminator is told where the fill is: the same mask for both.
                logits, attr_logits = netD(imgs, patches, torch.cat([m, m]))  # (2b,), (2b, K) or None
            loss_d, s = discriminator_loss(logits[:b], logits[b:], tc.real_label, tc.gan_loss)
            stats.update(s)
            if tc.r1_weight > 0:
                r1, s = r1_penalty(logits[:b], real)
                loss_d = loss_d + tc.r1_weight * r1
                stats.update(s)
            if attr_logits is not None and batch.attrs.numel():
                # The report's semi-supervised term: attributes of real images only.
                loss_aux, s = attribute_loss(attr_logits[:b], batch.attrs)
                loss_d = loss_d + tc.attr_weight * loss_aux
                stats.update(s)
            _check_finite(loss_d, step, phase.name, "discriminator")
            nets.opt_d.zero_grad(set_to_none=True)
            scaler.scale(loss_d).backward()
            dist.average_gradients(netD.parameters())
            scaler.step(nets.opt_d)
            if update < updates - 1:
                scaler.update()  # a GradScaler steps each optimiser once between updates

    # Update completion network: eq. (1) alone, or eq. (3) in the joint phase.
    if phase.train_c:
        holes = dist.mean_over_ranks(m.sum())
        per_image = tc.hole_weighting == "image"
        loss_c, s = masked_mse(out, x, m, holes, per_image)
        stats.update(s)
        if tc.l1_weight > 0:
            l1, s = masked_l1(out, x, m, holes, per_image)
            stats.update(s)
            loss_c = loss_c + tc.l1_weight * l1
        if tc.style_weight > 0:
            style, s = texture_style(completed, x, m)
            stats.update(s)
            loss_c = loss_c + tc.style_weight * style
        if phase.train_d and (tc.alpha > 0 or tc.fm_weight > 0):
            # Freeze netD so that no generator-loss gradient reaches its parameters
            # (and so its next update sees only the discriminator loss).
            netD.requires_grad_(False)
            judged = completed
            if tc.adv_depth > 0:
                # Same image for D; the gradient back to the fill is weighed by the pixel's depth.
                judged = rim_gated(completed, depth_weights(m, tc.adv_depth))
            with autocast(x.device, nets.amp):
                if tc.fm_weight > 0:
                    # The completed and the real image in one batch, so that batch norm
                    # normalises both alike and their maps compare (same windows for both).
                    both = torch.cat([judged, x])  # (2b, 3, H, W)
                    windows = crop_windows(both, torch.cat([win_c, win_c]), local)
                    logit, _, maps = netD.run(both, windows, torch.cat([m, m]))
                    logit = logit[:b]
                    fm, s = feature_matching([f[:b] for f in maps], [f[b:] for f in maps])
                    stats.update(s)
                    loss_c = loss_c + tc.fm_weight * fm
                else:
                    logit, _ = netD(judged, crop_windows(judged, win_c, local), m)  # (b,) or (b, N)
            if tc.alpha > 0:
                adv, s = generator_adversarial(logit, tc.nonsaturating, tc.gan_loss)
                stats.update(s)
                loss_c = loss_c + tc.alpha * adv
        _check_finite(loss_c, step, phase.name, "completion network")
        nets.opt_c.zero_grad(set_to_none=True)
        scaler.scale(loss_c).backward()
        dist.average_gradients(netC.parameters())
        scaler.step(nets.opt_c)
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
