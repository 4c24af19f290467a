"""`train()`: the three phases end to end, checkpoints, resume, worker loading."""

import json

import pytest
import torch

from glcic.training import step as step_module
from glcic.training.checkpoint import list_checkpoints, load_checkpoint
from glcic.training.loop import train
from glcic.training.step import TrainingError
from tests.training.conftest import tiny_config


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
    real_mse = step_module.masked_mse
    calls = {"n": 0}

    def poisoned(out, x, m, holes=None, per_image=False):
        calls["n"] += 1
        loss, stats = real_mse(out, x, m, holes, per_image)
        return (loss * float("nan"), stats) if calls["n"] == 5 else (loss, stats)

    monkeypatch.setattr(step_module, "masked_mse", poisoned)
    with pytest.raises(TrainingError, match=r"non-finite loss .* at step 4 in the completion phase"):
        train(cfg, tmp_path / "run", progress=False)
    last = list_checkpoints(tmp_path / "run")[-1]
    assert last.name == "ckpt_00000003.pt"
    assert load_checkpoint(last)["step"] == 3


def test_worker_process_loading_trains(image_folder, tmp_path):
    cfg = tiny_config(image_folder, **{"data.cache": "false", "data.num_workers": "2", "train.t_c": "3",
                                       "train.t_d": "1", "train.t_train": "5"})
    result = train(cfg, tmp_path / "run", progress=False)
    assert result["step"] == 5
    assert "loss/C_mse" in result["stats"] or "loss/D_real" in result["stats"]


def test_a_resumed_run_logs_each_step_once_in_stats_and_tensorboard(image_folder, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    over = {"train.t_c": "6", "train.t_d": "0", "train.t_train": "6", "train.log_every": "1", "train.ckpt_every": "2"}
    run = tmp_path / "run"
    train(tiny_config(image_folder, **over), run, progress=False, max_steps=3)
    # Killed after step 3 was logged but before its checkpoint: the resume replays step 3.
    (run / "checkpoints" / "ckpt_00000003.pt").unlink()
    train(tiny_config(image_folder, **over), run, resume=True, progress=False)

    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss/C_mse" in r] == [1, 2, 3, 4, 5, 6]
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    # Step 2 (logged before the checkpoint resumed from) stays; the first run's step 3 is hidden.
    assert [e.step for e in events.Scalars("loss/C_mse")] == [1, 2, 3, 4, 5, 6]


def test_max_minutes_stops_with_a_checkpoint(image_folder, tmp_path, monkeypatch):
    import itertools

    from glcic.training import loop

    clock = itertools.count(0.0, 25.0)  # each call to the clock is 25 s later
    monkeypatch.setattr(loop, "monotonic", lambda: next(clock))
    cfg = tiny_config(image_folder, **{"train.t_train": "50", "train.ckpt_every": "100"})
    run = tmp_path / "run"
    result = train(cfg, run, progress=False, max_minutes=1.0)  # deadline at 60 s: the 3rd step
    assert result["step"] == 3
    assert [p.name for p in list_checkpoints(run)] == ["ckpt_00000003.pt"]
