"""The run folder's logs: stats.jsonl rows, TensorBoard, sample grids, the cached mean pixel."""

import json

import torch

from glcic.models import CompletionNetwork
from glcic.training.outputs import RunOutputs
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
