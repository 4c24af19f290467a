"""`glcic train`, `glcic export` and `glcic plot` from the command line."""

import errno
import json
import re
import shutil

import pytest
import torch

from glcic.bundle import load_bundle, read_bundle_info
from glcic.cli import main
from tests.test_atomic import fill_disk_after
from tests.training.conftest import tiny_overrides


@pytest.fixture(scope="module")
def run_dir(image_folder, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    sets = [a for kv in tiny_overrides(image_folder, **{"train.t_c": "3", "train.t_d": "1", "train.t_train": "6"})
            for a in ("--set", kv)]
    assert main(["train", "--config", "cpu", "--run-dir", str(run), *sets, "--max-steps", "4"]) == 0
    # Resuming without --config uses the run's own config.yaml.
    assert main(["train", "--run-dir", str(run), "--resume"]) == 0
    return run


def test_resume_from_the_command_line_finishes_the_schedule(run_dir):
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in rows) == 6


def test_export_writes_a_bundle_that_inference_loads(run_dir, tmp_path):
    assert main(["export", str(run_dir), "--output", str(tmp_path / "b")]) == 0
    net, info = load_bundle(tmp_path / "b")
    assert info.resolution == 32 and len(info.mean_pixel) == 3
    assert info.extra["step"] == 6 and info.extra["train_config"]["data"]["size"] == 32
    state = torch.load(sorted((run_dir / "checkpoints").glob("*.pt"))[-1], weights_only=True)
    for k, v in state["completion"].items():
        assert torch.equal(net.state_dict()[k], v.to(net.state_dict()[k].dtype))


def test_export_keep_thin_sets_the_thin_rule_of_a_residual_network_only(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), "--output", str(tmp_path / "b"), "--keep-thin", "1"]) == 2
    assert "only a residual network has" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
    ckpt = sorted((run_dir / "checkpoints").glob("*.pt"))[-1]
    state = torch.load(ckpt, weights_only=True)
    state["config"]["model"]["residual"] = True  # the same weights read as a residual network's
    torch.save(state, tmp_path / "ckpt_00000006.pt")
    assert main(["export", str(tmp_path / "ckpt_00000006.pt"), "--output", str(tmp_path / "r"), "--keep-thin", "1"]) == 0
    net, info = load_bundle(tmp_path / "r")
    assert info.model.keep_thin == 1 and net.cfg.keep_thin == 1
    assert info.extra["train_config"]["model"]["keep_thin"] == 0  # how it was trained


def test_plot_draws_the_curves(run_dir, tmp_path):
    out = tmp_path / "curves.png"
    assert main(["plot", str(run_dir), "--output", str(out)]) == 0
    from PIL import Image

    with Image.open(out) as im:
        assert im.width > 800


def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "stats.jsonl not found" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--output", str(tmp_path / "o")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train", "--run-dir", str(tmp_path)]) == 2
    assert "--config is required" in capsys.readouterr().err
    assert main(["train", "--config", "cpu", "--run-dir", str(tmp_path), "--set", "mask.hole_max=40"]) == 2
    assert "do not fit inside the 32 px local patch" in capsys.readouterr().err


def test_plot_reads_a_stats_file_cut_mid_line_but_not_a_damaged_one(tmp_path):
    from glcic.commands.plot import read_stats
    from glcic.errors import InputError

    path = tmp_path / "stats.jsonl"
    path.write_text('{"step": 1, "loss/C_mse": 0.5}\n{"step": 2, "lo')  # killed mid-write
    assert read_stats(path) == [{"step": 1, "loss/C_mse": 0.5}]
    path.write_text('{"step": 1, "lo\n{"step": 2}\n')
    with pytest.raises(InputError, match=r"stats.jsonl:1 is not JSON; the stats file is damaged"):
        read_stats(path)


def _train_args(root, run, **over):
    sets = [a for kv in tiny_overrides(root, **over) for a in ("--set", kv)]
    return ["train", "--config", "cpu", "--run-dir", str(run), *sets]


def test_a_full_disk_stops_training_with_a_message_and_resume_continues(image_folder, tmp_path, monkeypatch, capsys):
    over = {"train.t_c": "6", "train.t_d": "0", "train.t_train": "6", "train.ckpt_every": "2", "train.log_every": "1"}
    run = tmp_path / "run"
    assert main([*_train_args(image_folder, run, **over), "--max-steps", "2"]) == 0
    capsys.readouterr()
    with monkeypatch.context() as full:
        fill_disk_after(full, 10_000)  # config.yaml fits, the checkpoint at step 4 does not
        assert main(["train", "--run-dir", str(run), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected pos" not in err
    assert re.search(r"could not write .*ckpt_00000004.pt: the disk is full \(.* free there\); no partial file", err)
    assert f"`glcic train --run-dir {run} --resume`: it starts from {run / 'checkpoints' / 'ckpt_00000002.pt'}" in err
    assert not list(run.rglob("*.tmp"))
    assert main(["train", "--run-dir", str(run), "--resume"]) == 0
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss/C_mse" in r] == [1, 2, 3, 4, 5, 6]


def test_resume_refuses_an_empty_config_yaml(run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "config.yaml").write_text("")
    assert main(["train", "--run-dir", str(run), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"error: {run / 'config.yaml'} is empty or damaged (it is empty); resume with the config" in err


def test_export_stores_the_description(run_dir, tmp_path):
    text = "Completes holes in 32x32 test images."
    assert main(["export", str(run_dir), "--output", str(tmp_path / "b"), "--description", text]) == 0
    assert read_bundle_info(tmp_path / "b").description == text


def test_export_says_what_the_data_is_when_told(run_dir, tmp_path):
    """Without --training-data the bundle names the run's data folders; with it, what the data is."""
    assert main(["export", str(run_dir), "--output", str(tmp_path / "a")]) == 0
    assert "split)" in read_bundle_info(tmp_path / "a").training_data
    text = "120 synthetic test photographs"
    assert main(["export", str(run_dir), "--output", str(tmp_path / "b"), "--training-data", text]) == 0
    assert read_bundle_info(tmp_path / "b").training_data == text


def test_export_writes_paths_under_home_from_tilde(run_dir, tmp_path, monkeypatch):
    from glcic.commands.export import home_relative

    monkeypatch.setenv("HOME", str(tmp_path))
    run = tmp_path / "runs" / "r"
    shutil.copytree(run_dir, run)
    ckpt = sorted((run / "checkpoints").glob("*.pt"))[-1]
    state = torch.load(ckpt, weights_only=True)
    state["config"]["train"]["init_from"] = str(tmp_path / "runs" / "stage1")
    torch.save(state, ckpt)
    assert main(["export", str(run), "--output", str(tmp_path / "b")]) == 0
    train_config = read_bundle_info(tmp_path / "b").extra["train_config"]
    assert train_config["train"]["init_from"] == "~/runs/stage1"
    assert train_config["data"] == state["config"]["data"]  # paths outside home are kept
    assert home_relative(["/home/ann2/x", "/home/ann", "/home/ann/y"], "/home/ann") == ["/home/ann2/x", "~", "~/y"]


def test_export_on_a_full_disk_exits_1_and_leaves_no_partial_file(run_dir, tmp_path, monkeypatch, capsys):
    fill_disk_after(monkeypatch, 1000)
    assert main(["export", str(run_dir), "--output", str(tmp_path / "b")]) == 1
    assert "model.safetensors: the disk is full" in capsys.readouterr().err
    assert not list((tmp_path / "b").iterdir())


def test_a_full_disk_under_the_stats_log_is_the_same_one_line(image_folder, tmp_path, monkeypatch, capsys):
    from glcic.training.outputs import RunOutputs

    def full(self, step, phase, stats):
        raise OSError(errno.ENOSPC, "No space left on device")  # an append, not an atomic write

    monkeypatch.setattr(RunOutputs, "write", full)
    over = {"train.t_c": "2", "train.t_d": "0", "train.t_train": "2", "train.log_every": "1"}
    assert main(_train_args(image_folder, tmp_path / "run", **over)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"could not write in {tmp_path / 'run'}: the disk is full" in err and "it starts from step 0" in err
