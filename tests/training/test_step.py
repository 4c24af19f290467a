"""One iteration of Algorithm 1: the phase table and :func:`training_step`."""

import pytest
import torch

from glcic.config import Config, MaskConfig, ModelConfig, TrainConfig
from glcic.data.masks import RectMaskGenerator, random_window, sample_batch
from glcic.models import CompletionNetwork, build_discriminator, composite, fill_holes
from glcic.training.step import PHASES, Batch, Nets, build_nets, phase_at, training_step


def test_phase_schedule_follows_algorithm_1():
    names = [phase_at(t, 3, 2).name for t in range(7)]
    assert names == ["completion"] * 3 + ["discriminator"] * 2 + ["joint"] * 2
    assert phase_at(0, 0, 0).name == "joint"
    assert PHASES["completion"].train_d is False and PHASES["discriminator"].train_c is False


def _tiny_nets(seed=0, discriminator="context"):
    torch.manual_seed(seed)
    cfg = ModelConfig(width=0.0625, disc_width=0.0625, dilations=[1, 2, 2, 4], discriminator=discriminator)
    return CompletionNetwork(cfg), build_discriminator(32, 16, cfg)


def _nets(netC, netD, opt_c, opt_d) -> Nets:
    return Nets(netC, netD, opt_c, opt_d, torch.amp.GradScaler("cpu", enabled=False), amp=None)


def _cfg(tc: TrainConfig) -> Config:
    """The training settings with 16 px local windows (all training_step reads of the rest)."""
    return Config(mask=MaskConfig(local_size=16), train=tc)


# (discriminator, gan_loss, alpha, fm_weight): the paper's, and the sharp-fill options (issue 25).
JOINT_LOSSES = [
    ("context", "bce", 1.0, 0.0),
    ("context", "bce", 1.0, 1.0),
    ("context", "bce", 0.0, 1.0),
    ("patch", "hinge", 1.0, 0.0),
    ("patch", "hinge", 1.0, 1.0),
]
JOINT_IDS = ["paper", "fm", "fm-alpha0", "patch-hinge", "patch-hinge-fm"]


@pytest.mark.parametrize(("discriminator", "gan_loss", "alpha", "fm_weight"), JOINT_LOSSES, ids=JOINT_IDS)
def test_generator_loss_gradient_does_not_leak_into_the_discriminator(discriminator, gan_loss, alpha, fm_weight):
    """A popular port let the completion network's adversarial loss write gradients into D.

    The feature-matching term runs D on the completed images too: its gradient must stop at
    D's inputs as well. D's gradients after the joint step are exactly those of its own loss.
    """
    netC, netD = _tiny_nets(discriminator=discriminator)
    refC, refD = _tiny_nets(discriminator=discriminator)
    tc = TrainConfig(alpha=alpha, fm_weight=fm_weight, gan_loss=gan_loss, optimizer="adam", lr_d=0.0,
                     lr_joint=0.0)  # lr 0: weights stay
    opt_c = torch.optim.Adam(netC.parameters(), lr=0.0)
    opt_d = torch.optim.Adam(netD.parameters(), lr=0.0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    masks, win_c = sample_batch(RectMaskGenerator(32, 8, 16, 16), 4, g)
    win_d = torch.tensor([random_window(32, 16, g) for _ in range(4)])
    mean = torch.full((3,), 0.5)
    batch = Batch(x, torch.zeros(4, 0), masks, win_c, win_d)
    stats = training_step(_nets(netC, netD, opt_c, opt_d), batch, PHASES["joint"], _cfg(tc), mean)
    assert ("loss/C_adv" in stats) == (alpha > 0) and ("loss/C_fm" in stats) == (fm_weight > 0)

    # Reference: the discriminator loss alone on the same completed images.
    from glcic.data.masks import crop_windows
    from glcic.losses import discriminator_loss

    with torch.no_grad():
        fake = composite(refC(fill_holes(x, masks, mean), masks), x, masks)
    patches = torch.cat([crop_windows(x, win_d, 16), crop_windows(fake, win_c, 16)])
    logits, _ = refD(torch.cat([x, fake]), patches, torch.cat([masks, masks]))
    loss, _ = discriminator_loss(logits[:4], logits[4:], gan_loss=gan_loss)
    loss.backward()
    for (name, p), (_, q) in zip(netD.named_parameters(), refD.named_parameters(), strict=True):
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, q.grad, msg=f"generator gradient leaked into D's {name}")
        assert p.requires_grad  # unfrozen again for its next update
    assert all(p.grad is not None for p in netC.parameters())


def _joint_batch(seed=0) -> tuple[Batch, torch.Tensor]:
    """4 images of 32 px with rectangular holes; the real windows differ from the holes' windows."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(4, 3, 32, 32, generator=g)
    masks, win_c = sample_batch(RectMaskGenerator(32, 8, 16, 16), 4, g)
    win_d = torch.tensor([random_window(32, 16, g) for _ in range(4)])
    assert not torch.equal(win_c, win_d)
    return Batch(x, torch.zeros(4, 0), masks, win_c, win_d), torch.full((3,), 0.5)


@pytest.mark.parametrize(("alpha", "fm_weight", "generator_batches"), [(1.0, 0.0, 4), (0.0, 1.0, 8), (1.0, 1.0, 8)])
def test_feature_matching_runs_the_discriminator_once_on_completed_and_real(alpha, fm_weight, generator_batches):
    """fm_weight > 0: the completion network's pass runs D once on cat([completed, x]) (both with the
    holes' windows), and loss/C_fm is feature_matching of the first half's maps against the second's.
    alpha = 0 with fm_weight > 0: no adversarial term, only the feature matching."""
    from glcic.data.masks import crop_windows
    from glcic.losses import feature_matching

    netC, netD = _tiny_nets()
    refC, refD = _tiny_nets()
    calls = []
    run = netD.run
    netD.run = lambda image, patch, mask: calls.append((image.shape[0], patch.shape[0], mask.shape[0])) or run(
        image, patch, mask
    )
    tc = TrainConfig(alpha=alpha, fm_weight=fm_weight, optimizer="adam", lr_d=0.0, lr_joint=0.0)
    batch, mean = _joint_batch()
    nets = _nets(netC, netD, torch.optim.Adam(netC.parameters(), lr=0.0), torch.optim.Adam(netD.parameters(), lr=0.0))
    stats = training_step(nets, batch, PHASES["joint"], _cfg(tc), mean)
    assert calls == [(8, 8, 8), (generator_batches,) * 3]  # D's update, then C's pass
    assert ("loss/C_adv" in stats) == (alpha > 0) and ("loss/C_fm" in stats) == (fm_weight > 0)
    if fm_weight > 0:
        # The reference: D (train mode, weights unchanged at lr 0) on the completed and the real images.
        with torch.no_grad():
            completed = composite(refC(fill_holes(batch.x, batch.mask, mean), batch.mask), batch.x, batch.mask)
            both = torch.cat([completed, batch.x])
            _, _, maps = refD.run(both, crop_windows(both, torch.cat([batch.win_c, batch.win_c]), 16))
            want, _ = feature_matching([f[:4] for f in maps], [f[4:] for f in maps])
        assert stats["loss/C_fm"] == pytest.approx(want.item(), rel=1e-5)
        assert stats["loss/C_fm"] > 0


def test_fm_weight_reaches_the_completion_update():
    """alpha = 0: fm_weight 0 is the MSE alone; fm_weight > 0 changes the completion network's step."""
    batch, mean = _joint_batch()
    weights = {}
    for w in (0.0, 1.0):
        netC, netD = _tiny_nets()
        tc = TrainConfig(alpha=0.0, fm_weight=w, optimizer="adam", lr_joint=1e-3, lr_d=0.0)
        nets = _nets(netC, netD, torch.optim.Adam(netC.parameters(), lr=1e-3), torch.optim.Adam(netD.parameters(), lr=0.0))
        stats = training_step(nets, batch, PHASES["joint"], _cfg(tc), mean)
        assert ("loss/C_fm" in stats) == (w > 0) and "loss/C_adv" not in stats
        weights[w] = [p.detach().clone() for p in netC.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(weights[0.0], weights[1.0], strict=True))


@pytest.mark.parametrize("discriminator", ["context", "patch"])
def test_d_steps_updates_the_discriminator_that_often_on_the_joint_step_s_images(discriminator):
    """train.d_steps = 2: the joint step updates D twice, each time on the same real and completed
    images (its weights end where two plain updates on them end), then C once; the
    discriminator phase still updates D once."""
    from glcic.data.masks import crop_windows
    from glcic.losses import discriminator_loss

    batch, mean = _joint_batch()
    tc = TrainConfig(d_steps=2, optimizer="adam", lr_d=1e-3, lr_joint=1e-3)
    netC, netD = _tiny_nets(discriminator=discriminator)
    refC, refD = _tiny_nets(discriminator=discriminator)
    opt_d = torch.optim.Adam(netD.parameters(), lr=1e-3)
    nets = _nets(netC, netD, torch.optim.Adam(netC.parameters(), lr=1e-3), opt_d)
    training_step(nets, batch, PHASES["joint"], _cfg(tc), mean)
    assert {s["step"].item() for s in opt_d.state.values()} == {2}
    assert {s["step"].item() for s in nets.opt_c.state.values()} == {1}

    # The reference: two plain D updates on the completion the step started from.
    ref_opt = torch.optim.Adam(refD.parameters(), lr=1e-3)
    refD.train()
    with torch.no_grad():
        completed = composite(refC(fill_holes(batch.x, batch.mask, mean), batch.mask), batch.x, batch.mask)
    imgs = torch.cat([batch.x, completed])
    patches = torch.cat([crop_windows(batch.x, batch.win_d, 16), crop_windows(completed, batch.win_c, 16)])
    for _ in range(2):
        logits, _ = refD(imgs, patches, torch.cat([batch.mask, batch.mask]))
        loss, _ = discriminator_loss(logits[:4], logits[4:])
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
    for (name, got), want in zip(netD.named_parameters(), refD.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6, msg=name)

    netC, netD = _tiny_nets(discriminator=discriminator)
    opt_d = torch.optim.Adam(netD.parameters(), lr=1e-3)
    training_step(_nets(netC, netD, torch.optim.Adam(netC.parameters()), opt_d), batch, PHASES["discriminator"], _cfg(tc), mean)
    assert {s["step"].item() for s in opt_d.state.values()} == {1}


def test_patch_discriminator_with_hinge_in_the_discriminator_phase():
    """(B, N) logits through the D update: the hinge's stats, D's parameters move, C's get no gradient."""
    netC, netD = _tiny_nets(discriminator="patch")
    before = [p.detach().clone() for p in netD.parameters()]
    tc = TrainConfig(gan_loss="hinge", optimizer="adam", lr_d=1e-3)
    batch, mean = _joint_batch()
    nets = _nets(netC, netD, torch.optim.Adam(netC.parameters(), lr=0.1), torch.optim.Adam(netD.parameters(), lr=1e-3))
    stats = training_step(nets, batch, PHASES["discriminator"], _cfg(tc), mean)
    assert {"loss/D_real", "loss/D_fake"} <= stats.keys()
    assert stats["loss/D_real"] >= 0 and stats["loss/D_fake"] >= 0  # hinge terms are relu's
    assert all(p.grad is None for p in netC.parameters())
    # Every weight moves. (The last bias need not: with every logit inside the margins its
    # gradient is -1/n per real logit and +1/n per fake one, which cancel.)
    for (name, p), b in zip(netD.named_parameters(), before, strict=True):
        if name.endswith("original"):
            assert not torch.equal(p, b), name


def test_a_patch_gan_run_through_algorithm_1_resumes_to_the_same_weights(image_folder, tmp_path):
    """SN-PatchGAN + hinge + feature matching, end to end through the loop's three phases; the
    spectral norm's power-iteration vectors are checkpointed, so a resumed run ends where a
    straight one does."""
    import json

    from glcic.training.checkpoint import load_checkpoint
    from glcic.training.loop import train
    from tests.training.conftest import tiny_config

    over = {"model.discriminator": "patch", "train.gan_loss": "hinge", "train.fm_weight": "1", "train.alpha": "0.01",
            "train.t_c": "2", "train.t_d": "2", "train.t_train": "7", "train.log_every": "1",
            "train.ckpt_every": "100", "train.deterministic": "true"}
    straight = train(tiny_config(image_folder, **over), tmp_path / "a", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "a" / "stats.jsonl").read_text().splitlines()]
    joint = [r for r in rows if r["phase"] == "joint" and "loss/C_mse" in r]  # (not the val rows)
    assert joint and all({"loss/C_adv", "loss/C_fm", "loss/D_real", "loss/D_fake"} <= r.keys() for r in joint)
    assert all(v == v and abs(v) != float("inf") for r in rows for k, v in r.items() if k.startswith("loss/"))
    disc = load_checkpoint(tmp_path / "a")["discriminator"]
    assert any(k.endswith("parametrizations.weight.0._u") for k in disc)

    assert train(tiny_config(image_folder, **over), tmp_path / "b", progress=False, max_steps=5)["step"] == 5
    resumed = train(tiny_config(image_folder, **over), tmp_path / "b", resume=True, progress=False)
    assert resumed["step"] == 7
    for net in ("completion", "discriminator"):
        assert straight[net].keys() == resumed[net].keys()
        for k, v in straight[net].items():
            assert torch.equal(v, resumed[net][k]), (net, k)


def test_a_patch_gan_run_in_bf16_channels_last(image_folder, tmp_path):
    """The CPU loop's settings (bf16 autocast, channels_last) with the spectral-norm discriminator."""
    from glcic.training.loop import train
    from tests.training.conftest import tiny_config

    over = {"model.discriminator": "patch", "model.upsample": "resize", "train.gan_loss": "hinge",
            "train.fm_weight": "1", "train.alpha": "0.01", "train.precision": "bf16", "train.channels_last": "true",
            "train.t_c": "1", "train.t_d": "1", "train.t_train": "4"}
    result = train(tiny_config(image_folder, **over), tmp_path / "run", progress=False)
    assert result["step"] == 4
    assert all(torch.isfinite(v).all() for net in ("completion", "discriminator") for v in result[net].values()
               if v.is_floating_point())


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
    from glcic.losses import discriminator_loss, feature_matching, generator_adversarial, masked_mse

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
        logits, _ = netD(torch.cat([x, fake]), patches, torch.cat([m, m]))
        loss_d, s = discriminator_loss(logits[:b], logits[b:], tc.real_label, tc.gan_loss)
        stats.update(s)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    if phase.train_c:
        loss_c, s = masked_mse(out, x, m)
        stats.update(s)
        if phase.train_d:
            if tc.fm_weight > 0:  # D once on the completed and the real images, the holes' windows for both
                both = torch.cat([completed, x])
                windows = crop_windows(both, torch.cat([batch.win_c, batch.win_c]), local)
                logit, _, maps = netD.run(both, windows, torch.cat([m, m]))
                logit = logit[:b]
                fm, s = feature_matching([f[:b] for f in maps], [f[b:] for f in maps])
                stats.update(s)
                loss_c = loss_c + tc.fm_weight * fm
            else:
                logit, _ = netD(completed, crop_windows(completed, batch.win_c, local), m)
            adv, s = generator_adversarial(logit, tc.nonsaturating, tc.gan_loss)
            stats.update(s)
            loss_c = loss_c + tc.alpha * adv
        opt_c.zero_grad(set_to_none=True)
        loss_c.backward()
        opt_c.step()
    return stats


def _losses_side_by_side(
    amp: torch.dtype | None, discriminator: str = "context", gan_loss: str = "bce", fm_weight: float = 0.0,
    upsample: str = "deconv",
) -> list[tuple[str, int, float, float]]:
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
    tc = TrainConfig(optimizer="adadelta", lr_c=1.0, lr_joint=1.0, lr_d=1.0, alpha=0.05, t_c=2, t_d=2,
                     gan_loss=gan_loss, fm_weight=fm_weight)
    cfg = _cfg(tc)
    torch.manual_seed(0)
    # disc_width 0.5: the global discriminator's last layer (64 channels into 4x4) runs as a
    # matrix product; dilations 4 and 8 on the 8x8 middle map take the tap-by-tap backward.
    mcfg = ModelConfig(width=0.125, disc_width=0.5, dilations=[1, 2, 4, 8], discriminator=discriminator,
                       upsample=upsample)
    refC, refD = CompletionNetwork(mcfg), build_discriminator(32, 16, mcfg)
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


@pytest.mark.parametrize(("discriminator", "gan_loss", "fm_weight", "upsample"), [
    ("context", "bce", 0.5, "resize"),
    ("patch", "hinge", 0.5, "deconv"),
], ids=["context-fm-resize", "patch-hinge-fm"])
def test_optimized_fp32_step_with_the_sharp_fill_options_matches_the_plain_reference(
    discriminator, gan_loss, fm_weight, upsample
):
    """The same check with issue 25's options: feature matching on the maps of D's one pass on
    completed + real, the hinge on (B, N) logits, the resize-convolution decoder. Tolerance as above."""
    rows = _losses_side_by_side(None, discriminator, gan_loss, fm_weight, upsample)
    assert {"loss/C_fm", "loss/C_adv", "loss/D_real"} <= {name for name, *_ in rows}
    for name, step, got, want in rows:
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


@pytest.mark.parametrize(("option", "stat"), [("l1_weight", "loss/C_l1"), ("style_weight", "loss/C_style")])
def test_a_hole_term_joins_the_completion_loss(option, stat):
    """train.l1_weight / train.style_weight > 0: the completion phase reports the term and its
    gradient changes the update; 0 leaves eq. (1) alone."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    masks, win_c = sample_batch(RectMaskGenerator(32, 8, 16, 16), 4, g)
    batch = Batch(x, torch.zeros(4, 0), masks, win_c, win_c)
    mean = torch.full((3,), 0.5)
    weights = {}
    for w in (0.0, 1.0):
        netC, netD = _tiny_nets()
        tc = TrainConfig(optimizer="adam", lr_c=1e-2, **{option: w})
        opt_c = torch.optim.Adam(netC.parameters(), lr=1e-2)
        opt_d = torch.optim.Adam(netD.parameters(), lr=0.0)
        stats = training_step(_nets(netC, netD, opt_c, opt_d), batch, PHASES["completion"], _cfg(tc), mean)
        assert (stat in stats) == (w > 0)
        weights[w] = [p.detach().clone() for p in netC.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(weights[0.0], weights[1.0], strict=True))


def test_the_hole_l1_is_the_mean_absolute_error_over_hole_values():
    """The L1 term (train.l1_weight) is the evaluation's hole L1."""
    from glcic.losses import masked_l1

    g = torch.Generator().manual_seed(0)
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


def test_r1_penalty_joins_the_discriminator_loss_with_its_weight():
    """train.r1_weight (patch discriminator): D's gradients are those of its loss plus r1_weight x
    the mean squared norm of d sum(D(x)) / dx over the real images; loss/D_r1 reports the penalty."""
    from glcic.losses import discriminator_loss

    batch, mean = _joint_batch()
    x, m, b = batch.x, batch.mask, batch.x.shape[0]
    for weight in (0.0, 0.5):
        netC, netD = _tiny_nets(discriminator="patch")
        refC, refD = _tiny_nets(discriminator="patch")
        tc = TrainConfig(gan_loss="hinge", r1_weight=weight, optimizer="adam", lr_d=0.0)
        opt_d = torch.optim.Adam(netD.parameters(), lr=0.0)
        nets = _nets(netC, netD, torch.optim.Adam(netC.parameters(), lr=0.0), opt_d)
        stats = training_step(nets, batch, PHASES["discriminator"], _cfg(tc), mean)
        assert ("loss/D_r1" in stats) == (weight > 0)
        # The reference, by hand.
        refC.eval()
        with torch.no_grad():
            fake = composite(refC(fill_holes(x, m, mean), m), x, m)
        real = x.clone().requires_grad_(True)
        logits, _ = refD(torch.cat([real, fake]), None, torch.cat([m, m]))
        loss, _ = discriminator_loss(logits[:b], logits[b:], gan_loss="hinge")
        (grad,) = torch.autograd.grad(logits[:b].sum(), real, create_graph=True)
        penalty = grad.pow(2).flatten(1).sum(1).mean()
        (loss + weight * penalty).backward()
        if weight > 0:
            assert penalty.item() > 0
            assert stats["loss/D_r1"] == pytest.approx(penalty.item(), rel=1e-5)
        for (name, p), (_, q) in zip(netD.named_parameters(), refD.named_parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad, msg=name, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(("discriminator", "alpha", "fm_weight"), [("context", 1.0, 0.0), ("patch", 1.0, 0.0),
                                                                  ("context", 0.0, 1.0)], ids=["context", "patch", "fm"])
def test_adv_depth_weighs_the_adversarial_gradient_by_hole_depth(discriminator, alpha, fm_weight):
    """train.adv_depth: on holes one pixel thin (depth 1 everywhere) adv_depth=2 halves the
    adversarial (or feature-matching) part of the completion network's gradient and leaves its MSE
    part whole; D sees the same image (same loss values)."""
    g = torch.Generator().manual_seed(3)
    x = torch.rand(4, 3, 32, 32, generator=g)
    m = torch.zeros(4, 1, 32, 32)
    m[:, :, 4::8, :] = 1.0  # rows 4, 12, 20, 28: every hole pixel touches the known region
    win_c = torch.tensor([random_window(32, 16, g) for _ in range(4)])
    win_d = torch.tensor([random_window(32, 16, g) for _ in range(4)])
    batch, mean = Batch(x, torch.zeros(4, 0), m, win_c, win_d), torch.full((3,), 0.5)

    def grads(weight, adv_depth):
        netC, netD = _tiny_nets(discriminator=discriminator)
        tc = TrainConfig(alpha=alpha * weight, fm_weight=fm_weight * weight, adv_depth=adv_depth,
                         optimizer="adam", lr_d=0.0, lr_joint=0.0)
        nets = _nets(netC, netD, torch.optim.Adam(netC.parameters(), lr=0.0),
                     torch.optim.Adam(netD.parameters(), lr=0.0))
        stats = training_step(nets, batch, PHASES["joint"], _cfg(tc), mean)
        return torch.cat([p.grad.flatten() for p in netC.parameters()]), stats

    mse_only, _ = grads(0.0, 0)
    whole, stats_whole = grads(1.0, 0)
    halved, stats_halved = grads(1.0, 2)
    key = "loss/C_adv" if alpha > 0 else "loss/C_fm"
    assert stats_halved[key] == pytest.approx(stats_whole[key], rel=1e-6)
    assert (whole - mse_only).abs().max() > 1e-6  # the adversarial part is there to be weighed
    torch.testing.assert_close(halved - mse_only, 0.5 * (whole - mse_only), rtol=1e-3, atol=1e-7)
