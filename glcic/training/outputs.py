"""What a run writes besides checkpoints: config.yaml, mean_pixel.json, stats.jsonl, tb/, samples/.

Only rank 0 writes; on other ranks :class:`RunOutputs` keeps its running averages
and writes nothing. Every row of ``stats.jsonl`` goes through :meth:`RunOutputs.write`.
Whole files are written atomically (:mod:`glcic.atomic`); stats.jsonl is appended to,
and cut back to the start step when a run starts, so a resumed run logs each step once
(the steps after its checkpoint are run, and logged, again). Damaged run files are
refused by name, with the fix.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
import yaml

from glcic.atomic import atomic_write, write_text_atomic
from glcic.bundle import check_mean_pixel
from glcic.config import Config, dump_config
from glcic.convert import to_uint8
from glcic.errors import ConfigError, InputError
from glcic.losses import masked_mse
from glcic.models import CompletionNetwork, composite
from glcic.precision import autocast
from glcic.prefill import prefill

# Printed in this order on each log line, when the phase has them.
LOG_LOSSES = ("loss/C_mse", "loss/C_adv", "loss/D_real", "loss/D_fake", "loss/D_aux")


def cached_mean_pixel(run_dir: Path, train_ds: Any, main: bool) -> torch.Tensor:
    """The dataset mean pixel (3,) in [0, 1], computed once and cached in ``mean_pixel.json``.

    Raises:
        InputError: mean_pixel.json is there but empty or damaged (it names the file and the fix).
    """
    from glcic.data.datasets import compute_mean_pixel

    path = run_dir / "mean_pixel.json"
    if path.is_file():
        return torch.tensor(read_mean_pixel(path), dtype=torch.float32)
    mean = compute_mean_pixel(train_ds).float()
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"mean_pixel": mean.tolist()}) + "\n")
    return mean


def read_mean_pixel(path: Path) -> list[float]:
    """The three values of a run's ``mean_pixel.json`` (``{"mean_pixel": [r, g, b]}``, in [0, 1])."""
    try:
        return check_mean_pixel(json.loads(path.read_text())["mean_pixel"])
    except (ValueError, KeyError, TypeError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise InputError(
            f"{path} is empty or damaged ({type(e).__name__}: {e}): delete it and `glcic train` computes "
            "the mean pixel from the data again"
        ) from e


def check_run_config(path: Path) -> None:
    """Refuse a run's ``config.yaml`` that is empty or damaged (it would read as all defaults).

    The file holds every section, as :func:`glcic.config.dump_config` writes it.

    Raises:
        ConfigError: naming the file, what is wrong and the fix.
    """
    try:
        raw = yaml.safe_load(path.read_text())
        why = "" if isinstance(raw, dict) else "it is empty" if raw is None else f"it holds a {type(raw).__name__}"
    except yaml.MarkedYAMLError as e:
        raw, why = None, f"not YAML at line {e.problem_mark.line + 1 if e.problem_mark else '?'}: {e.problem}"
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raw, why = None, f"not YAML: {e}"
    if not why:
        missing = [f.name for f in fields(Config) if not isinstance(raw.get(f.name), dict)]
        why = f"section(s) {', '.join(missing)} missing" if missing else ""
    if why:
        raise ConfigError(
            f"{path} is empty or damaged ({why}); resume with the config the run started with: "
            f"`glcic train --config PRESET_OR_YAML --run-dir {path.parent} --resume` (it rewrites config.yaml)"
        )


def cut_stats(path: Path, step: int) -> int:
    """Keep the rows of ``stats.jsonl`` up to ``step`` (and no line cut mid-write); return how many went.

    A run resumed from the checkpoint at ``step`` runs the later steps again and logs
    them again; their old rows would repeat.
    """
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            row = json.loads(line)
            keep = int(row["step"]) <= step
        except (ValueError, KeyError, TypeError):
            keep = False  # a line cut by a kill or a full disk
        if keep:
            kept.append(line + "\n")
        else:
            dropped += bool(line.strip())
    if dropped:
        write_text_atomic(path, "".join(kept))
    return dropped


class RunOutputs:
    """The run folder's logs: stats.jsonl, TensorBoard, the progress bar and sample grids.

    Args:
        run_dir: the run folder; ``config.yaml`` is (re)written there at once.
        cfg: the resolved config.
        step: the step training starts from: stats.jsonl keeps its rows up to it and
            TensorBoard hides its events after it (both are logged again).
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
            write_text_atomic(run_dir / "config.yaml", dump_config(cfg))
            (run_dir / "samples").mkdir(exist_ok=True)
            dropped = cut_stats(run_dir / "stats.jsonl", step)
            if dropped:
                print(f"glcic train: stats.jsonl: dropped {dropped} row(s) after step {step}; "
                      "those steps run again", file=sys.stderr)
            self.stats_file = open(run_dir / "stats.jsonl", "a")
            try:
                from torch.utils.tensorboard import SummaryWriter

                # Events at `step` itself were logged before its checkpoint: hide only later ones.
                self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=step + 1)
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
        with atomic_write(self.run_dir / "samples" / f"step_{step:08d}.png") as f:
            Image.fromarray(to_uint8(grid)).save(f, format="PNG")
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
