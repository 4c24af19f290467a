"""`glcic train`, `glcic export` and `glcic plot` from the command line."""

import json

import pytest
import torch

from glcic.bundle import load_bundle
from glcic.cli import main
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
