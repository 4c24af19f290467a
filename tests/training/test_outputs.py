"""The run folder's logs: stats.jsonl rows, TensorBoard, sample grids, the cached mean pixel."""

import json

import pytest
import torch

from glcic.atomic import DiskFullError
from glcic.config import dump_config
from glcic.errors import ConfigError, InputError
from glcic.models import CompletionNetwork
from glcic.training.outputs import (
    RunOutputs,
    cached_mean_pixel,
    check_run_config,
    cut_stats,
    read_mean_pixel,
)
from tests.test_atomic import fill_disk_after
from tests.training.conftest import tiny_config


def test_ticks_and_samples_share_one_stats_file(image_folder, tmp_path):
    cfg = tiny_config(image_folder)
    out = RunOutputs(tmp_path, cfg, step=0, main=True, progress=False)
    out.add({"loss/C_mse": 1.0})
    out.add({"loss/C_mse": 3.0})
    tick = out.tick(2, "completion", {"lr/C": 0.5})
    assert tick["loss/C_mse"] == 2.0 and tick["lr/C"] == 0.5 and tick["speed/s_per_step"] > 0
    x, m = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    m[..., 8:16, 8:16] = 1
    net = CompletionNetwork(cfg.model)
    mse = out.samples(net, (x, m), torch.full((3,), 0.5), None, 2, "completion")
    out.close()
    rows = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 2] and rows[1] == {"step": 2, "phase": "completion", "val/C_mse": mse}
    assert (tmp_path / "samples" / "step_00000002.png").is_file() and (tmp_path / "config.yaml").is_file()
    assert net.training  # put back in training mode after the grid


def test_other_ranks_write_nothing(image_folder, tmp_path):
    out = RunOutputs(tmp_path / "run", tiny_config(image_folder), step=0, main=False, progress=False)
    out.add({"loss/C_mse": 1.0})
    out.close()
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "text", ["", "{", '{"mean_pixel": [0.5, 0.5]}', '{"mean_pixel": [0.5, NaN, 0.5]}', '{"mean": [0.5, 0.5, 0.5]}']
)
def test_a_damaged_mean_pixel_file_is_refused_by_name(tmp_path, text):
    (tmp_path / "mean_pixel.json").write_text(text)
    with pytest.raises(InputError, match=r"mean_pixel.json is empty or damaged .*: delete it and `glcic train` "):
        cached_mean_pixel(tmp_path, train_ds=None, main=True)


def test_the_mean_pixel_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr("glcic.data.datasets.compute_mean_pixel", lambda ds: torch.full((3,), 0.25))
    with monkeypatch.context() as full:
        fill_disk_after(full, 5)
        with pytest.raises(DiskFullError, match="mean_pixel.json: the disk is full"):
            cached_mean_pixel(tmp_path, train_ds=None, main=True)
    assert not list(tmp_path.iterdir())  # no empty file to trip the next start
    assert torch.equal(cached_mean_pixel(tmp_path, train_ds=None, main=True), torch.full((3,), 0.25))
    assert read_mean_pixel(tmp_path / "mean_pixel.json") == [0.25] * 3


def test_config_yaml_is_written_atomically(image_folder, tmp_path, monkeypatch):
    (tmp_path / "config.yaml").write_text("old")
    fill_disk_after(monkeypatch, 10)
    with pytest.raises(DiskFullError, match="config.yaml: the disk is full"):
        RunOutputs(tmp_path, tiny_config(image_folder), step=0, main=True, progress=False)
    assert (tmp_path / "config.yaml").read_text() == "old"


@pytest.mark.parametrize(
    ("text", "why"),
    [("", "it is empty"), ("[1, 2]", "it holds a list"), ("model: {width: 1}\n", "section.s. data, mask, train missing"),
     ("model: {width: [", "not YAML at line 1: expected the node content")],
)
def test_an_empty_or_damaged_config_yaml_is_refused_by_name(tmp_path, text, why):
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ConfigError, match=rf"config.yaml is empty or damaged \({why}.*resume with the config the run"):
        check_run_config(tmp_path / "config.yaml")


def test_a_full_config_yaml_passes(image_folder, tmp_path):
    (tmp_path / "config.yaml").write_text(dump_config(tiny_config(image_folder)))
    check_run_config(tmp_path / "config.yaml")


def test_starting_at_a_step_drops_the_later_rows_and_a_cut_line(tmp_path):
    path = tmp_path / "stats.jsonl"
    rows = [{"step": s, "loss/C_mse": 0.1} for s in (5, 10, 10, 15)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 20, "lo')
    assert cut_stats(path, 10) == 2
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [5, 10, 10]
    assert cut_stats(path, 10) == 0 and cut_stats(tmp_path / "absent.jsonl", 3) == 0
