"""Training state on disk: atomic writes, the last K kept, safe loading.

A checkpoint is a plain dict of tensors, numbers, strings and nested dicts
(configs as dicts, never pickled objects), so ``torch.load(weights_only=True)``
reads it. It is written through :func:`glcic.atomic.atomic_write`, so a kill at any
instant or a full disk leaves the previous checkpoints intact and no partial file;
the oldest are deleted only once the new one is complete.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from glcic.atomic import atomic_write, remove_stale_temps
from glcic.errors import BundleError

if TYPE_CHECKING:
    from glcic.config import Config
    from glcic.training.batches import RandomStreams
    from glcic.training.step import Nets

CKPT_RE = re.compile(r"^ckpt_(\d{8})\.pt$")


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(run_dir: str | Path, step: int, state: dict[str, Any], keep: int = 3) -> Path:
    """Write ``checkpoints/ckpt_STEP.pt`` atomically, then delete all but the newest ``keep``.

    Raises:
        DiskFullError: no room for it; the earlier checkpoints are untouched.
    """
    d = checkpoint_dir(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"ckpt_{step:08d}.pt"
    with atomic_write(path) as f:
        torch.save(state, f)
    if keep > 0:
        for old in list_checkpoints(run_dir)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    d = checkpoint_dir(run_dir)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if CKPT_RE.match(p.name))


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1] if ckpts else None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file, or the latest one in a run folder."""
    p = Path(path)
    if p.is_dir():
        found = latest_checkpoint(p)
        if found is None:
            raise BundleError(f"no checkpoint in {p / 'checkpoints'}; is {p} a glcic run folder?")
        p = found
    if not p.is_file():
        raise BundleError(f"checkpoint {p} not found; give a run folder or a ckpt_*.pt file")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt zip, truncated file, pickled objects
        raise BundleError(f"{p} is not a readable glcic checkpoint ({e})") from e
    if not isinstance(state, dict) or "completion" not in state or "config" not in state:
        raise BundleError(f"{p} is not a glcic checkpoint (no completion weights or config inside)")
    return state


# --------------------------------------------------------------------------- training state


def training_state(
    step: int, phase: str, cfg: Config, nets: Nets, mean_pixel: torch.Tensor, streams: RandomStreams
) -> dict[str, Any]:
    """Everything a run needs to continue exactly: weights, optimisers, mean pixel, random streams.

    Args:
        step: iterations done.
        phase: the phase of the last iteration done.
        mean_pixel: (3,) the dataset mean pixel in [0, 1].
    """
    return {
        "step": step,
        "phase": phase,
        "config": cfg.to_dict(),
        "completion": nets.netC.state_dict(),
        "discriminator": nets.netD.state_dict(),
        "opt_c": nets.opt_c.state_dict(),
        "opt_d": nets.opt_d.state_dict(),
        "mean_pixel": mean_pixel.cpu(),
        "rng": streams.state(),
    }


def remove_interrupted_writes(run_dir: Path) -> None:
    """Delete (and name) the temporary files a run killed mid-write left in ``run_dir``."""
    ours = [(run_dir, n) for n in ("config.yaml", "mean_pixel.json", "stats.jsonl")]  # --run-dir may be any folder
    ours += [(run_dir / "samples", "step_*.png"), (checkpoint_dir(run_dir), "ckpt_*.pt")]
    stale = [p for folder, pattern in ours for p in remove_stale_temps(folder, pattern)]
    if stale:
        names = ", ".join(p.name for p in stale)
        print(f"glcic train: removed {len(stale)} partial file(s) an interrupted run left ({names})", file=sys.stderr)


def find_resume_state(run_dir: Path, resume: bool, main: bool) -> dict[str, Any] | None:
    """The latest checkpoint's state when ``resume`` and there is one; else None (a fresh start).

    The writing process (``main``) first deletes the partial files of a killed run (they
    hold disk space the run needs) and says what it does.
    """
    if main:
        remove_interrupted_writes(run_dir)
    path = latest_checkpoint(run_dir) if resume else None
    if resume and path is None and main:
        print(f"glcic train: no checkpoint in {checkpoint_dir(run_dir)}; starting from step 0", file=sys.stderr)
    if path is None:
        return None
    state = load_checkpoint(path)
    if main:
        print(f"glcic train: resumed from {path} at step {int(state['step'])}", file=sys.stderr)
    return state


def restore_training_state(state: dict[str, Any], nets: Nets, streams: RandomStreams) -> int:
    """Load :func:`training_state`'s dict into ``nets`` and ``streams``; return its step."""
    nets.netC.load_state_dict(state["completion"])
    nets.netD.load_state_dict(state["discriminator"])
    nets.opt_c.load_state_dict(state["opt_c"])
    nets.opt_d.load_state_dict(state["opt_d"])
    streams.load_state(state["rng"])
    return int(state["step"])
