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
