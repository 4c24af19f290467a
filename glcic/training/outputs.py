"""What a run writes besides checkpoints: config.yaml, mean_pixel.json, stats.jsonl, tb/, samples/.

Only rank 0 writes; on other ranks :class:`RunOutputs` keeps its running averages
and writes nothing. Every row of ``stats.jsonl`` goes through :meth:`RunOutputs.write`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from glcic.config import Config, dump_config
from glcic.convert import to_uint8
from glcic.losses import masked_mse
from glcic.models import CompletionNetwork, composite
from glcic.precision import autocast
from glcic.prefill import prefill

# Printed in this order on each log line, when the phase has them.
LOG_LOSSES = ("loss/C_mse", "loss/C_adv", "loss/D_real", "loss/D_fake", "loss/D_aux")


def cached_mean_pixel(run_dir: Path, train_ds: Any, main: bool) -> torch.Tensor:
    """The dataset mean pixel (3,) in [0, 1], computed once and cached in ``mean_pixel.json``."""
    from glcic.data.datasets import compute_mean_pixel

    path = run_dir / "mean_pixel.json"
    if path.is_file():
        return torch.tensor(json.loads(path.read_text())["mean_pixel"], dtype=torch.float32)
    mean = compute_mean_pixel(train_ds).float()
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"mean_pixel": mean.tolist()}) + "\n")
    return mean


class RunOutputs:
    """The run folder's logs: stats.jsonl, TensorBoard, the progress bar and sample grids.

    Args:
        run_dir: the run folder; ``config.yaml`` is (re)written there at once.
        cfg: the resolved config.
        step: the step training starts from (TensorBoard drops events after it).
        main: this process writes (rank 0).
        progress: show a progress bar (default: when stdout is a terminal).
    """

    def __init__(self, run_dir: Path, cfg: Config, step: int, main: bool, progress: bool | None) -> None:
        from tqdm import tqdm

        self.run_dir, self.cfg, self.main = run_dir, cfg, main
        self.stats_file = None
        self.writer = None
        if main:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(dump_config(cfg))
            (run_dir / "samples").mkdir(exist_ok=True)
            self.stats_file = open(run_dir / "stats.jsonl", "a")
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=step if step else None)
            except ImportError:  # tensorboard is a dependency, but keep training if it is broken
                self.writer = None
        show_bar = main and (sys.stdout.isatty() if progress is None else progress)
        self.bar = tqdm(
            total=cfg.train.t_train, initial=step, disable=not show_bar, dynamic_ncols=True, unit="step"
        )
        self._agg: dict[str, list[float]] = {}
        self._tick_t0, self._tick_steps = time.perf_counter(), 0

    def add(self, stats: dict[str, float]) -> None:
        """Count one finished step and its stats towards the next tick's averages."""
        self.bar.update(1)
        self._tick_steps += 1
        for k, v in stats.items():
            self._agg.setdefault(k, []).append(v)

    def tick(self, step: int, phase: str, extra: dict[str, float]) -> dict[str, float]:
        """Log the stats averaged since the last tick, throughput and ``extra``; return them."""
        dt = time.perf_counter() - self._tick_t0
        stats = {k: sum(v) / len(v) for k, v in self._agg.items()}
        stats["speed/images_per_s"] = self._tick_steps * self.cfg.train.batch_size / dt
        stats["speed/s_per_step"] = dt / self._tick_steps
        stats.update(extra)
        self.write(step, phase, stats)
        parts = [f"step {step}", phase]
        parts += [f"{k.split('/')[1]} {stats[k]:.4g}" for k in LOG_LOSSES if k in stats]
        parts.append(f"{stats['speed/images_per_s']:.1f} img/s")
        parts.append(f"{stats['speed/s_per_step']:.3f} s/step")
        line = " | ".join(parts)
        if self.bar.disable:
            print(line, flush=True)
        else:
            self.bar.write(line)
        self._agg, self._tick_t0, self._tick_steps = {}, time.perf_counter(), 0
        return stats

    def write(self, step: int, phase: str, stats: dict[str, float]) -> None:
        """One row of stats.jsonl, and the same scalars to TensorBoard."""
        if self.stats_file:
            self.stats_file.write(json.dumps({"step": step, "phase": phase, **stats}) + "\n")
            self.stats_file.flush()
        if self.writer:
            for k, v in stats.items():
                self.writer.add_scalar(k, v, step)

    @torch.no_grad()
    def samples(
        self, netC: CompletionNetwork, val: tuple[torch.Tensor, torch.Tensor], mean: torch.Tensor,
        amp: torch.dtype | None, step: int, phase: str,
    ) -> float:
        """Write a grid (rows: input with hole / completed / ground truth); log and return the val hole MSE.

        Args:
            val: the fixed validation batch: images (n, 3, H, W) in the model's range and
                holes (n, 1, H, W), 1 = hole.
            mean: (3,) the mean pixel in the model's range.
            amp: the autocast dtype (``None`` = fp32).
        """
        from PIL import Image

        x, m = val
        was_training = netC.training
        netC.eval()
        with autocast(x.device, amp):
            out = netC(prefill(x, m, mean, self.cfg.model.prefill, self.cfg.model.value_range), m)  # (n, 3, H, W)
        netC.train(was_training)
        completed = composite(out.float(), x, m)  # (n, 3, H, W)
        mse = masked_mse(completed, x, m)[0].item()
        lo, hi = self.cfg.model.value_range
        to01 = lambda t: ((t.float() - lo) / (hi - lo)).clamp(0, 1)  # noqa: E731
        holed = to01(x) * (1 - m) + m  # holes shown white
        rows = [torch.cat(list(r), dim=2) for r in (holed, to01(completed), to01(x))]  # each (3, H, n*W)
        grid = torch.cat(rows, dim=1)  # (3, 3H, n*W)
        Image.fromarray(to_uint8(grid)).save(self.run_dir / "samples" / f"step_{step:08d}.png")
        if self.writer:
            self.writer.add_image("samples", grid.cpu(), step)
        self.write(step, phase, {"val/C_mse": mse})
        return mse

    def close(self) -> None:
        self.bar.close()
        if self.writer:
            self.writer.close()
        if self.stats_file:
            self.stats_file.close()
