"""Checkpoints on a full disk, and the partial files a killed run leaves behind."""

import pytest
import torch

from glcic.atomic import DiskFullError
from glcic.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from glcic.training.loop import train
from tests.test_atomic import fill_disk_after
from tests.training.conftest import tiny_config


def _state(step: int) -> dict:
    return {"step": step, "config": {}, "completion": {"w": torch.full((1000,), float(step))}}


def test_a_full_disk_keeps_every_earlier_checkpoint_and_no_partial_file(tmp_path, monkeypatch):
    for step in (1, 2):
        save_checkpoint(tmp_path, step, _state(step), keep=2)
    fill_disk_after(monkeypatch, 500)
    with pytest.raises(DiskFullError, match=r"could not write .*ckpt_00000003.pt: the disk is full"):
        save_checkpoint(tmp_path, 3, _state(3), keep=2)  # keep=2 would delete ckpt 1 after a success
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["ckpt_00000001.pt", "ckpt_00000002.pt"]
    assert load_checkpoint(tmp_path)["step"] == 2


def test_a_resumed_run_removes_the_partial_files_a_killed_run_left(image_folder, tmp_path, capsys):
    over = {"train.t_c": "3", "train.t_d": "0", "train.t_train": "4", "train.ckpt_every": "2"}
    run = tmp_path / "run"
    train(tiny_config(image_folder, **over), run, progress=False, max_steps=2)
    # A kill -9 (or a full disk under an older glcic) in the middle of these writes:
    leftovers = [run / "checkpoints" / ".ckpt_00000004.pt.tmp", run / ".mean_pixel.json.tmp",
                 run / "samples" / ".step_00000004.png.tmp"]
    for p in leftovers:
        p.write_bytes(b"\0" * 1000)
    result = train(tiny_config(image_folder, **over), run, resume=True, progress=False)
    assert result["step"] == 4
    assert not any(p.exists() for p in leftovers)
    assert "removed 3 partial file(s) an interrupted run left" in capsys.readouterr().err
    assert [p.name for p in list_checkpoints(run)] == ["ckpt_00000002.pt", "ckpt_00000004.pt"]
