"""One iteration of Algorithm 1: the phase table and :func:`training_step`."""

import pytest
import torch

from glcic.config import Config, MaskConfig, ModelConfig, TrainConfig
from glcic.data.masks import RectMaskGenerator, random_window, sample_batch
from glcic.models import CompletionNetwork, ContextDiscriminator, composite, fill_holes
from glcic.training.step import PHASES, Batch, Nets, build_nets, phase_at, training_step


def test_phase_schedule_follows_algorithm_1():
    names = [phase_at(t, 3, 2).name for t in range(7)]
    assert names == ["completion"] * 3 + ["discriminator"] * 2 + ["joint"] * 2
    assert phase_at(0, 0, 0).name == "joint"
    assert PHASES["completion"].train_d is False and PHASES["discriminator"].train_c is False


def _tiny_nets(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(width=0.0625, disc_width=0.0625, dilations=[1, 2, 2, 4])
    return CompletionNetwork(cfg), ContextDiscriminator(32, 16, cfg)


def _nets(netC, netD, opt_c, opt_d) -> Nets:
    return Nets(netC, netD, opt_c, opt_d, torch.amp.GradScaler("cpu", enabled=False), amp=None)


def _cfg(tc: TrainConfig) -> Config:
    """The training settings with 16 px local windows (all training_step reads of the rest)."""
    return Config(mask=MaskConfig(local_size=16), train=tc)


def test_generator_loss_gradient_does_not_leak_into_the_discriminator():
    """A popular port let the completion network's adversarial loss write gradients into D."""
    netC, netD = _tiny_nets()
    refC, refD = _tiny_nets()
    tc = TrainConfig(alpha=1.0, optimizer="adam", lr_d=0.0, lr_joint=0.0)  # lr 0: weights stay
    opt_c = torch.optim.Adam(netC.parameters(), lr=0.0)
    opt_d = torch.optim.Adam(netD.parameters(), lr=0.0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    masks, win_c = sample_batch(RectMaskGenerator(32, 8, 16, 16), 4, g)
    win_d = torch.tensor([random_window(32, 16, g) for _ in range(4)])
    mean = torch.full((3,), 0.5)
    batch = Batch(x, torch.zeros(4, 0), masks, win_c, win_d)
    stats = training_step(_nets(netC, netD, opt_c, opt_d), batch, PHASES["joint"], _cfg(tc), mean)
    assert "loss/C_adv" in stats

    # Reference: the discriminator loss alone on the same completed images.
    from glcic.data.masks import crop_windows
    from glcic.losses import discriminator_loss

    with torch.no_grad():
        fake = composite(refC(fill_holes(x, masks, mean), masks), x, masks)
    logits, _ = refD(torch.cat([x, fake]), torch.cat([crop_windows(x, win_d, 16), crop_windows(fake, win_c, 16)]))
    loss, _ = discriminator_loss(logits[:4], logits[4:])
    loss.backward()
    for (name, p), (_, q) in zip(netD.named_parameters(), refD.named_parameters(), strict=True):
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, q.grad, msg=f"generator gradient leaked into D's {name}")
        assert p.requires_grad  # unfrozen again for its next update
    assert all(p.grad is not None for p in netC.parameters())


def test_discriminator_phase_leaves_the_completion_network_without_gradients():
    netC, netD = _tiny_nets()
    before = {k: v.clone() for k, v in netC.state_dict().items() if v.is_floating_point()}
    opt_c = torch.optim.Adam(netC.parameters(), lr=0.1)
    opt_d = torch.optim.Adam(netD.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(0)
    masks, win_c = sample_batch(RectMaskGenerator(32, 8, 16, 16), 4, g)
    batch = Batch(torch.rand(4, 3, 32, 32), torch.zeros(4, 0), masks, win_c, win_c.clone())
    nets = _nets(netC, netD, opt_c, opt_d)
    training_step(nets, batch, PHASES["discriminator"], _cfg(TrainConfig()), torch.zeros(3))
    assert all(p.grad is None for p in netC.parameters())
    after = netC.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" not in k and "num_batches" not in k)




def test_build_nets_follows_the_config(image_folder):
    from tests.training.conftest import tiny_config

    cfg = tiny_config(image_folder, **{"train.channels_last": "true", "train.precision": "bf16"})
    nets = build_nets(cfg, torch.device("cpu"))
    assert nets.amp is torch.bfloat16 and not nets.scaler.is_enabled()
    assert isinstance(nets.opt_c, torch.optim.Adam) and nets.opt_d.param_groups[0]["lr"] == cfg.train.lr_d
    w = next(p for p in nets.netC.parameters() if p.ndim == 4)
    assert w.is_contiguous(memory_format=torch.channels_last)


def test_fp16_training_on_the_cpu_is_refused(image_folder):
    from glcic.errors import InputError
    from tests.training.conftest import tiny_config

    with pytest.raises(InputError, match="fp16 is for CUDA only"):
        build_nets(tiny_config(image_folder, **{"train.precision": "fp16"}), torch.device("cpu"))


# --------------------------------------------------------------------------- optimized vs reference


def _reference_step(netC, netD, opt_c, opt_d, batch: Batch, phase, tc: TrainConfig, local: int, mean) -> dict:
    """Algorithm 1's iteration written plainly: fp32, contiguous tensors, the optimizer's per-parameter loop."""
    from glcic.data.masks import crop_windows
    from glcic.losses import discriminator_loss, generator_adversarial, masked_mse

    x, m, b = batch.x, batch.mask, batch.x.shape[0]
    netC.train(phase.train_c)
    netD.train(phase.train_d)
    stats = {}
    with torch.set_grad_enabled(phase.train_c):
        out = netC(fill_holes(x, m, mean), m)
    completed = composite(out, x, m)
    if phase.train_d:
        fake = completed.detach()
        patches = torch.cat([crop_windows(x, batch.win_d, local), crop_windows(fake, batch.win_c, local)])
        logits, _ = netD(torch.cat([x, fake]), patches)
        loss_d, s = discriminator_loss(logits[:b], logits[b:], tc.real_label)
        stats.update(s)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    if phase.train_c:
        loss_c, s = masked_mse(out, x, m)
        stats.update(s)
        if phase.train_d:
            logit, _ = netD(completed, crop_windows(completed, batch.win_c, local))
            adv, s = generator_adversarial(logit, tc.nonsaturating)
            stats.update(s)
            loss_c = loss_c + tc.alpha * adv
        opt_c.zero_grad(set_to_none=True)
        loss_c.backward()
        opt_c.step()
    return stats


def _losses_side_by_side(amp: torch.dtype | None) -> list[tuple[str, int, float, float]]:
    """(stat, step, optimized, reference) over Algorithm 1's three phases, 2 + 2 + 3 steps.

    Every step starts from the reference's weights, statistics and optimizer state, so that
    each step is compared alone (two GAN runs drift apart from rounding differences).
    """
    import copy

    from glcic.training.step import make_optimizer, memory_format

    # Adadelta (the paper's): its first steps scale with the gradient. Adam's first steps are
    # sign(gradient) * lr, which turns rounding-level gradients into whole steps and makes any
    # two runs drift apart; fused Adam is compared with torch's loop on equal gradients in
    # tests/training/test_optim.py.
    tc = TrainConfig(optimizer="adadelta", lr_c=1.0, lr_joint=1.0, lr_d=1.0, alpha=0.05, t_c=2, t_d=2)
    cfg = _cfg(tc)
    torch.manual_seed(0)
    # disc_width 0.5: the global discriminator's last layer (64 channels into 4x4) runs as a
    # matrix product; dilations 4 and 8 on the 8x8 middle map take the tap-by-tap backward.
    mcfg = ModelConfig(width=0.125, disc_width=0.5, dilations=[1, 2, 4, 8])
    refC, refD = CompletionNetwork(mcfg), ContextDiscriminator(32, 16, mcfg)
    netC, netD = copy.deepcopy(refC), copy.deepcopy(refD)
    fmt = memory_format(TrainConfig(channels_last=True))
    netC.to(memory_format=fmt)
    netD.to(memory_format=fmt)
    opt = {"kind": "adadelta", "lr": 1.0, "weight_decay": 0.0, "betas": tc.adam_betas}
    nets = Nets(netC, netD, make_optimizer(netC.parameters(), **opt), make_optimizer(netD.parameters(), **opt),
                torch.amp.GradScaler("cpu", enabled=False), amp)
    ref_opt_c = torch.optim.Adadelta(refC.parameters(), lr=1.0, foreach=False)
    ref_opt_d = torch.optim.Adadelta(refD.parameters(), lr=1.0, foreach=False)
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor([0.5, 0.4, 0.3])
    rows = []
    for step in range(7):
        phase = phase_at(step, tc.t_c, tc.t_d)
        lr_c = tc.lr_c if phase.name == "completion" else tc.lr_joint
        for o in (nets.opt_c, ref_opt_c):
            o.param_groups[0]["lr"] = lr_c
        x = torch.rand(8, 3, 32, 32, generator=g)
        masks, win_c = sample_batch(RectMaskGenerator(32, 8, 16, 16), 8, g)
        win_d = torch.tensor([random_window(32, 16, g) for _ in range(8)])
        fast = Batch(x.contiguous(memory_format=fmt), torch.zeros(8, 0), masks.contiguous(memory_format=fmt), win_c, win_d)
        for net, ref in ((netC, refC), (netD, refD)):
            net.load_state_dict(ref.state_dict())
        for o, ref in ((nets.opt_c, ref_opt_c), (nets.opt_d, ref_opt_d)):
            o.load_state_dict(copy.deepcopy(ref.state_dict()))
        got = training_step(nets, fast, phase, cfg, mean, step)
        want = _reference_step(refC, refD, ref_opt_c, ref_opt_d, Batch(x, torch.zeros(8, 0), masks, win_c, win_d),
                               phase, tc, 16, mean)
        assert got.keys() == want.keys()
        rows += [(k, step, got[k], want[k]) for k in want if k.startswith("loss/")]
    return rows


def test_optimized_fp32_step_matches_the_plain_reference():
    """Issue 11's speed work changes nothing beyond fp32 rounding.

    The optimized step runs channels_last, the fused batch norm + ReLU kernels, the
    discriminator's matrix-product layer and the tap-by-tap dilated backward, the native
    Adadelta and the folded frozen netC; the reference runs none of them.
    Tolerance: each of 7 steps through the three phases, started from the reference's
    state, gives every loss within 1e-4 (relative) of the reference's (measured 2e-7).
    """
    for name, step, got, want in _losses_side_by_side(None):
        assert got == pytest.approx(want, rel=1e-4, abs=1e-6), (name, step)


def test_optimized_bf16_step_matches_the_plain_fp32_reference():
    """The loop's CPU setting (bf16 autocast on top) stays within bf16 noise of the fp32 reference.

    Tolerance: each of 7 steps through the three phases, started from the reference's
    state, gives every loss within 2 % (relative) of the fp32 reference's (measured 1 %).
    """
    for name, step, got, want in _losses_side_by_side(torch.bfloat16):
        assert got == pytest.approx(want, rel=2e-2, abs=1e-3), (name, step)


def test_discriminator_phase_reuses_the_folded_completion_network_until_it_changes():
    netC, netD = _tiny_nets()
    nets = _nets(netC, netD, torch.optim.Adam(netC.parameters()), torch.optim.Adam(netD.parameters()))
    first = nets.frozen_c.get(netC, None)
    assert nets.frozen_c.get(netC, None) is first
    with torch.no_grad():
        next(netC.parameters()).add_(1.0)
    assert nets.frozen_c.get(netC, None) is not first


def test_l1_weight_adds_the_hole_l1_to_the_completion_loss():
    """train.l1_weight > 0: the completion phase reports loss/C_l1 (the mean absolute error on
    the hole, as the evaluation's hole L1) and its gradient changes the update; 0 leaves eq. (1) alone."""
    from glcic.losses import masked_l1

    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    masks, win_c = sample_batch(RectMaskGenerator(32, 8, 16, 16), 4, g)
    batch = Batch(x, torch.zeros(4, 0), masks, win_c, win_c)
    mean = torch.full((3,), 0.5)
    weights = {}
    for w in (0.0, 1.0):
        netC, netD = _tiny_nets()
        tc = TrainConfig(optimizer="adam", lr_c=1e-2, l1_weight=w)
        opt_c = torch.optim.Adam(netC.parameters(), lr=1e-2)
        opt_d = torch.optim.Adam(netD.parameters(), lr=0.0)
        stats = training_step(_nets(netC, netD, opt_c, opt_d), batch, PHASES["completion"], _cfg(tc), mean)
        assert ("loss/C_l1" in stats) == (w > 0)
        weights[w] = [p.detach().clone() for p in netC.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(weights[0.0], weights[1.0], strict=True))
    # The L1 is the hole's mean absolute error over hole values.
    out, target = torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g)
    m = torch.zeros(2, 1, 8, 8)
    m[:, :, 2:5, 3:7] = 1
    loss, _ = masked_l1(out, target, m)
    hole = m.expand_as(out).bool()
    assert torch.allclose(loss, (out - target)[hole].abs().mean())


def test_image_hole_weighting_gives_every_image_the_same_weight():
    """train.hole_weighting=image: the mean of each image's hole mean, so a thin hole counts as
    much as a large one; with equal holes it is the pixel weighting; a hole-free image adds 0."""
    from glcic.losses import masked_l1, masked_mse

    g = torch.Generator().manual_seed(0)
    out, target = torch.rand(3, 3, 16, 16, generator=g), torch.rand(3, 3, 16, 16, generator=g)
    m = torch.zeros(3, 1, 16, 16)
    m[0, :, 1:3, 1:3] = 1  # 4 pixels
    m[1, :, 2:14, 2:14] = 1  # 144 pixels
    for loss_fn, err in ((masked_mse, lambda d: d.pow(2)), (masked_l1, lambda d: d.abs())):
        per_image, _ = loss_fn(out, target, m, per_image=True)
        means = [err(out[i] - target[i])[m[i].expand(3, -1, -1).bool()].mean() for i in range(2)]
        assert torch.allclose(per_image, (means[0] + means[1] + 0.0) / 3)
        pixel, _ = loss_fn(out, target, m)
        assert not torch.allclose(per_image, pixel)
        same = torch.zeros_like(m)
        same[:, :, 4:8, 4:8] = 1
        assert torch.allclose(loss_fn(out, target, same, per_image=True)[0], loss_fn(out, target, same)[0])


def test_hole_weighting_reaches_the_completion_update():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    masks, win_c = sample_batch(RectMaskGenerator(32, 4, 16, 16), 4, g)
    batch = Batch(x, torch.zeros(4, 0), masks, win_c, win_c)
    losses = {}
    for weighting in ("pixel", "image"):
        netC, netD = _tiny_nets()
        tc = TrainConfig(optimizer="adam", lr_c=1e-2, hole_weighting=weighting)
        nets = _nets(netC, netD, torch.optim.Adam(netC.parameters(), lr=1e-2), torch.optim.Adam(netD.parameters(), lr=0.0))
        losses[weighting] = training_step(nets, batch, PHASES["completion"], _cfg(tc), torch.full((3,), 0.5))["loss/C_mse"]
    assert losses["pixel"] != losses["image"]
