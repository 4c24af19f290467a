"""Two gloo processes on CPU train exactly like one process over the same global batch."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from glcic.config import Config
from glcic.training.loop import train
from tests.training.conftest import tiny_config

OVERRIDES = {
    "train.t_c": "3",
    "train.t_d": "2",
    "train.t_train": "7",
    "train.ckpt_every": "100",
    # Batch norm uses per-process batch statistics (as DDP does by default), which differ
    # from whole-batch statistics; without it the two runs must agree to rounding.
    "model.norm": "none",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg_dict: dict, run_dir: str, out: str) -> None:
    os.environ.update(
        {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
         "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)}
    )
    torch.set_num_threads(1)
    result = train(Config.from_dict(cfg_dict), run_dir, progress=False, device="cpu")
    torch.save({"completion": result["completion"], "discriminator": result["discriminator"]}, f"{out}.{rank}")


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(image_folder, tmp_path):
    cfg = tiny_config(image_folder, **OVERRIDES)
    single = train(cfg, tmp_path / "single", progress=False, device="cpu")

    out = str(tmp_path / "weights")
    mp.spawn(_worker, args=(2, _free_port(), cfg.to_dict(), str(tmp_path / "ddp"), out), nprocs=2, join=True)
    ranks = [torch.load(f"{out}.{r}", weights_only=True) for r in range(2)]

    init = train(cfg, tmp_path / "init", progress=False, device="cpu", max_steps=0)
    for net in ("completion", "discriminator"):
        moved = diff = 0.0
        for k, v in ranks[0][net].items():
            assert torch.equal(v, ranks[1][net][k]), f"ranks differ in {net}.{k}"
            if not v.is_floating_point():
                continue
            # Summation order differs (two half-batches, then an all-reduce) and Adam divides
            # by sqrt(v), which magnifies rounding for near-zero gradients: allow a third of
            # one Adam step (lr 0.003) per element, and 1 % of the distance travelled overall.
            torch.testing.assert_close(v, single[net][k], rtol=0, atol=1e-3)
            diff += (v - single[net][k]).double().pow(2).sum().item()
            moved += (single[net][k] - init[net][k]).double().pow(2).sum().item()
        assert moved > 0
        assert diff**0.5 < 0.01 * moved**0.5, (net, diff**0.5, moved**0.5)
    # Only rank 0 writes the run folder's files.
    assert (tmp_path / "ddp" / "checkpoints").is_dir()
    assert len(list((tmp_path / "ddp" / "checkpoints").iterdir())) == 1


def test_batch_must_split_evenly_across_processes(image_folder, tmp_path, monkeypatch):
    from glcic.errors import InputError

    monkeypatch.setenv("WORLD_SIZE", "3")  # read before any process group starts
    monkeypatch.setattr("glcic.training.distributed.init", lambda device: torch.device("cpu"))
    with pytest.raises(InputError, match=r"batch_size \(8\) must be divisible by the number of processes \(3\)"):
        train(tiny_config(image_folder), tmp_path / "run", progress=False)
