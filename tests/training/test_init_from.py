"""`train.init_from` (`glcic train --init-from`): a fresh run starting from trained weights."""

from __future__ import annotations

import pytest
import torch

from glcic.bundle import BundleInfo, save_bundle
from glcic.cli import main
from glcic.errors import ConfigError
from glcic.training.checkpoint import load_checkpoint
from glcic.training.init_from import OUTPUT_LAYER, UPSAMPLE_LAYERS, init_from
from glcic.training.loop import train
from glcic.training.step import build_nets
from tests.training.conftest import tiny_config

STEPS = {"train.t_c": "3", "train.t_d": "1", "train.t_train": "5"}


@pytest.fixture(scope="module")
def source_run(image_folder, tmp_path_factory):
    """A tiny run trained through all three phases: its weights differ from any fresh start."""
    run = tmp_path_factory.mktemp("source") / "run"
    train(tiny_config(image_folder, **STEPS), run, progress=False)
    return run


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _fresh(cfg):
    torch.manual_seed(123)
    return build_nets(cfg, torch.device("cpu"))


def test_a_run_folder_gives_both_networks(image_folder, source_run):
    cfg = tiny_config(image_folder)
    nets = _fresh(cfg)
    loaded = init_from(str(source_run), cfg, nets, main=False)
    state = load_checkpoint(source_run)
    assert loaded == {"output_layer": True, "discriminator": True}
    assert _equal(nets.netC.state_dict(), state["completion"])
    assert _equal(nets.netD.state_dict(), state["discriminator"])


def test_a_residual_warm_start_keeps_its_zero_output_layer(image_folder, source_run):
    """A plain source into model.residual: everything but the output layer, which stays zero."""
    cfg = tiny_config(image_folder, **{"model.residual": "true"})
    nets = _fresh(cfg)
    loaded = init_from(str(source_run), cfg, nets, main=False)
    assert loaded["output_layer"] is False
    theirs, mine = load_checkpoint(source_run)["completion"], nets.netC.state_dict()
    for key, value in mine.items():
        if key.startswith(OUTPUT_LAYER):
            assert not value.any(), key
        else:
            assert torch.equal(value, theirs[key]), key


def test_a_bundle_gives_the_completion_network_alone(image_folder, source_run, tmp_path):
    cfg = tiny_config(image_folder)
    src = _fresh(cfg).netC
    src.load_state_dict(load_checkpoint(source_run)["completion"])
    bundle = save_bundle(tmp_path / "b", src.eval(), BundleInfo(model=cfg.model, resolution=32, mean_pixel=[0.5] * 3))
    nets = _fresh(cfg)
    fresh_disc = {k: v.clone() for k, v in nets.netD.state_dict().items()}
    assert init_from(str(bundle), cfg, nets, main=False) == {"output_layer": True, "discriminator": False}
    assert _equal(nets.netC.state_dict(), src.state_dict())
    assert _equal(nets.netD.state_dict(), fresh_disc)


def test_another_layout_is_refused_by_name(image_folder, source_run):
    cfg = tiny_config(image_folder, **{"model.width": "0.125"})
    with pytest.raises(ConfigError, match=r"width 0.0625.*width 0.125.*model.width"):
        init_from(str(source_run), cfg, _fresh(cfg), main=False)


def test_an_unreadable_source_says_what_is_expected(image_folder, tmp_path):
    cfg = tiny_config(image_folder)
    with pytest.raises(ConfigError, match=r"does not exist.*shipped model's name.*run folder.*ckpt_\*\.pt"):
        init_from(str(tmp_path / "nothing"), cfg, _fresh(cfg), main=False)


def test_train_starts_from_the_source_and_resume_ignores_it(image_folder, source_run, tmp_path, capsys):
    """Through `glcic train --init-from`: step 0 holds the source's weights; --resume its own."""
    cfg_file = tmp_path / "tiny.yaml"
    from glcic.config import dump_config

    cfg_file.write_text(dump_config(tiny_config(image_folder, **{**STEPS, "train.t_train": "2"})))
    run = tmp_path / "run"
    argv = ["train", "--config", str(cfg_file), "--run-dir", str(run), "--init-from", str(source_run)]
    assert main([*argv, "--max-steps", "1"]) == 0
    assert "initialised from" in capsys.readouterr().err
    first = load_checkpoint(run)
    assert first["config"]["train"]["init_from"] == str(source_run)
    # One completion step moved the weights away from the source's, but not far.
    src = load_checkpoint(source_run)["completion"]
    key = "layers.0.0.weight"
    assert not torch.equal(first["completion"][key], src[key])
    assert (first["completion"][key] - src[key]).abs().max() < 0.05
    assert main([*argv, "--resume"]) == 0
    assert "initialised from" not in capsys.readouterr().err  # the checkpoint wins
    assert load_checkpoint(run)["step"] == 2


def test_other_dilations_reuse_the_weights(image_folder, source_run):
    """Dilations change no shape: a network starts from weights trained at other dilations
    (as faces128 at 16 from a 64 px network at 8)."""
    cfg = tiny_config(image_folder, **{"model.dilations": "[1,2,4,8]"})
    nets = _fresh(cfg)
    init_from(str(source_run), cfg, nets, main=False)
    assert _equal(nets.netC.state_dict(), load_checkpoint(source_run)["completion"])


# --------------------------------------------------------------------------- model.upsample / model.discriminator (issue 25)


def _resize_bundle(image_folder, folder, **extra):
    """A bundle of a resize-upsampling network whose weights differ from any fresh start."""
    cfg = tiny_config(image_folder, **{"model.upsample": "resize", **extra})
    torch.manual_seed(7)
    net = build_nets(cfg, torch.device("cpu")).netC
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return save_bundle(folder, net.eval(), BundleInfo(model=cfg.model, resolution=32, mean_pixel=[0.5] * 3)), net


def _check_fresh_where_changed(mine: dict, theirs: dict, fresh: dict, changed: tuple[str, ...]) -> None:
    """Tensors under ``changed`` prefixes keep the fresh start; every other one is the source's."""
    kept = [k for k in mine if k.startswith(changed)]
    assert kept and len(kept) < len(mine)
    for key, value in mine.items():
        if key.startswith(changed):
            assert torch.equal(value, fresh[key]), key
        else:
            assert torch.equal(value, theirs[key]), key


def test_upsample_layers_are_table_1_s_deconvolutions():
    assert UPSAMPLE_LAYERS == ("layers.12.", "layers.14.")


def test_a_deconv_source_into_resize_starts_the_upsampling_layers_fresh(image_folder, source_run, capsys):
    cfg = tiny_config(image_folder, **{"model.upsample": "resize"})
    nets, fresh = _fresh(cfg), _fresh(cfg).netC.state_dict()
    loaded = init_from(str(source_run), cfg, nets, main=True)
    assert loaded == {"output_layer": True, "discriminator": True}  # same output, same discriminator shapes
    _check_fresh_where_changed(nets.netC.state_dict(), load_checkpoint(source_run)["completion"], fresh,
                               UPSAMPLE_LAYERS)
    assert _equal(nets.netD.state_dict(), load_checkpoint(source_run)["discriminator"])
    err = capsys.readouterr().err
    assert "its upsampling layers were not copied (upsample deconv there, resize here)" in err
    assert "output layer" not in err and "discriminators too" in err


def test_a_resize_bundle_into_deconv_starts_the_upsampling_layers_fresh(image_folder, tmp_path, capsys):
    bundle, src = _resize_bundle(image_folder, tmp_path / "b")
    cfg = tiny_config(image_folder)  # deconv
    nets, fresh = _fresh(cfg), _fresh(cfg).netC.state_dict()
    assert init_from(str(bundle), cfg, nets, main=True) == {"output_layer": True, "discriminator": False}
    assert isinstance(nets.netC.layers[12][0], torch.nn.ConvTranspose2d)
    _check_fresh_where_changed(nets.netC.state_dict(), src.state_dict(), fresh, UPSAMPLE_LAYERS)
    assert "upsampling layers were not copied (upsample resize there, deconv here)" in capsys.readouterr().err


def test_the_same_upsampling_loads_every_layer(image_folder, tmp_path, capsys):
    bundle, src = _resize_bundle(image_folder, tmp_path / "b")
    cfg = tiny_config(image_folder, **{"model.upsample": "resize"})
    nets = _fresh(cfg)
    init_from(str(bundle), cfg, nets, main=True)
    assert _equal(nets.netC.state_dict(), src.state_dict())
    assert "layers were not copied" not in capsys.readouterr().err


def test_a_changed_upsampling_and_output_start_both_fresh(image_folder, source_run, capsys):
    """model.residual and model.upsample changed at once: the output layer and the two upsampling layers."""
    cfg = tiny_config(image_folder, **{"model.upsample": "resize", "model.residual": "true"})
    nets, fresh = _fresh(cfg), _fresh(cfg).netC.state_dict()
    assert init_from(str(source_run), cfg, nets, main=True)["output_layer"] is False
    _check_fresh_where_changed(nets.netC.state_dict(), load_checkpoint(source_run)["completion"], fresh,
                               (*UPSAMPLE_LAYERS, OUTPUT_LAYER))
    err = capsys.readouterr().err
    assert "its output layer was not copied" in err and "its upsampling layers were not copied" in err


def test_a_context_checkpoint_into_the_patch_discriminator_starts_it_fresh(image_folder, source_run, capsys):
    """The completion network loads; the SN-PatchGAN has other tensors, so it keeps its fresh start."""
    cfg = tiny_config(image_folder, **{"model.discriminator": "patch", "train.gan_loss": "hinge"})
    nets = _fresh(cfg)
    fresh_disc = {k: v.clone() for k, v in nets.netD.state_dict().items()}
    assert init_from(str(source_run), cfg, nets, main=True) == {"output_layer": True, "discriminator": False}
    assert _equal(nets.netC.state_dict(), load_checkpoint(source_run)["completion"])
    assert _equal(nets.netD.state_dict(), fresh_disc)
    assert "discriminators start fresh" in capsys.readouterr().err
