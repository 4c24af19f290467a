import json

import pytest
import torch

from glcic.config import ModelConfig, TrainConfig
from glcic.data.masks import RectMaskGenerator, random_window, sample_batch
from glcic.models import CompletionNetwork, ContextDiscriminator, composite, fill_holes
from glcic.training import loop
from glcic.training.checkpoint import list_checkpoints, load_checkpoint
from glcic.training.loop import PHASES, TrainingError, phase_at, train, training_step
from tests.training.conftest import tiny_config


def test_phase_schedule_follows_algorithm_1():
    names = [phase_at(t, 3, 2).name for t in range(7)]
    assert names == ["completion"] * 3 + ["discriminator"] * 2 + ["joint"] * 2
    assert phase_at(0, 0, 0).name == "joint"
    assert PHASES["completion"].train_d is False and PHASES["discriminator"].train_c is False


def _ckpt(run, step):
    return load_checkpoint(run / "checkpoints" / f"ckpt_{step:08d}.pt")


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_three_phases_on_real_faces(celeba_root, tmp_path):
    cfg = tiny_config(
        celeba_root,
        **{"data.format": "celeba", "data.max_images": "64", "train.t_c": "30", "train.t_d": "10",
           "train.t_train": "50"},
    )
    run = tmp_path / "run"
    train(cfg, run, progress=False)

    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    mse = [r["loss/C_mse"] for r in rows if "loss/C_mse" in r and r["phase"] == "completion"]
    assert mse[-1] < mse[0] * 0.8, mse  # the reconstruction loss falls
    assert any("loss/D_real" in r and r["phase"] == "discriminator" for r in rows)
    assert any("loss/C_adv" in r and r["phase"] == "joint" for r in rows)
    assert any("val/C_mse" in r for r in rows)

    # The discriminator changes only in its phases, the completion network only in its own.
    c10, c30, c40, c50 = (_ckpt(run, s) for s in (10, 30, 40, 50))
    assert _same(c10["discriminator"], c30["discriminator"])
    assert not _same(c10["completion"], c30["completion"])
    assert _same(c30["completion"], c40["completion"])
    assert not _same(c30["discriminator"], c40["discriminator"])
    assert not _same(c40["completion"], c50["completion"])
    assert not _same(c40["discriminator"], c50["discriminator"])
    assert c50["phase"] == "joint" and c30["phase"] == "completion"

    assert list((run / "tb").glob("events.out.tfevents.*"))
    grids = sorted((run / "samples").glob("step_*.png"))
    assert grids
    from PIL import Image

    with Image.open(grids[-1]) as im:
        assert im.size == (4 * 32, 3 * 32)  # rows: input with hole / completed / ground truth
    assert (run / "config.yaml").is_file() and (run / "mean_pixel.json").is_file()


def test_checkpoint_is_safe_to_load_and_plain(image_folder, tmp_path):
    cfg = tiny_config(image_folder, **{"train.t_c": "2", "train.t_d": "1", "train.t_train": "4"})
    train(cfg, tmp_path / "run", progress=False)
    (path,) = list_checkpoints(tmp_path / "run")
    state = torch.load(path, weights_only=True)  # no pickled objects inside
    assert state["step"] == 4 and isinstance(state["config"], dict)
    assert set(state["rng"]) == {"data", "mask", "torch"}
    assert state["mean_pixel"].shape == (3,)


def test_resume_gives_the_same_weights_as_a_straight_run(image_folder, tmp_path):
    over = {"train.t_c": "4", "train.t_d": "3", "train.t_train": "12", "train.ckpt_every": "100",
            "train.deterministic": "true"}
    straight = train(tiny_config(image_folder, **over), tmp_path / "a", progress=False)

    first = train(tiny_config(image_folder, **over), tmp_path / "b", progress=False, max_steps=5)
    assert first["step"] == 5
    resumed = train(tiny_config(image_folder, **over), tmp_path / "b", resume=True, progress=False)
    assert resumed["step"] == 12
    for net in ("completion", "discriminator"):
        for k, v in straight[net].items():
            assert torch.equal(v, resumed[net][k]), (net, k)


def test_keeps_the_last_k_checkpoints(image_folder, tmp_path):
    cfg = tiny_config(image_folder, **{"train.t_c": "6", "train.t_d": "0", "train.t_train": "6",
                                       "train.ckpt_every": "1", "train.keep_ckpts": "2"})
    train(cfg, tmp_path / "run", progress=False)
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["ckpt_00000005.pt", "ckpt_00000006.pt"]
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))


def test_nan_loss_stops_the_run_and_keeps_the_last_checkpoint(image_folder, tmp_path, monkeypatch):
    cfg = tiny_config(image_folder, **{"train.t_c": "8", "train.t_d": "0", "train.t_train": "8",
                                       "train.ckpt_every": "3"})
    real_mse = loop.masked_mse
    calls = {"n": 0}

    def poisoned(out, x, m, holes=None):
        calls["n"] += 1
        loss, stats = real_mse(out, x, m, holes)
        return (loss * float("nan"), stats) if calls["n"] == 5 else (loss, stats)

    monkeypatch.setattr(loop, "masked_mse", poisoned)
    with pytest.raises(TrainingError, match=r"non-finite loss .* at step 4 in the completion phase"):
        train(cfg, tmp_path / "run", progress=False)
    last = list_checkpoints(tmp_path / "run")[-1]
    assert last.name == "ckpt_00000003.pt"
    assert load_checkpoint(last)["step"] == 3


def _tiny_nets(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(width=0.0625, disc_width=0.0625, dilations=[1, 2, 2, 4])
    return CompletionNetwork(cfg), ContextDiscriminator(32, 16, cfg)


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
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    batch = (x, torch.zeros(4, 0), masks, win_c, win_d)
    stats = training_step(netC, netD, opt_c, opt_d, scaler, PHASES["joint"], tc, mean, batch, 16)
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
    batch = (torch.rand(4, 3, 32, 32), torch.zeros(4, 0), masks, win_c, win_c.clone())
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    training_step(netC, netD, opt_c, opt_d, scaler, PHASES["discriminator"], TrainConfig(), torch.zeros(3), batch, 16)
    assert all(p.grad is None for p in netC.parameters())
    after = netC.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" not in k and "num_batches" not in k)


def test_worker_process_loading_trains(image_folder, tmp_path):
    cfg = tiny_config(image_folder, **{"data.cache": "false", "data.num_workers": "2", "train.t_c": "3",
                                       "train.t_d": "1", "train.t_train": "5"})
    result = train(cfg, tmp_path / "run", progress=False)
    assert result["step"] == 5
    assert "loss/C_mse" in result["stats"] or "loss/D_real" in result["stats"]
