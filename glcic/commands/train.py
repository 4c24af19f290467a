"""`glcic train`: run Algorithm 1 from a preset or YAML, with overrides, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help="train a completion network (the paper's Algorithm 1)",
        description=(
            "Train the completion network and the context discriminators. Works as one CPU "
            "process and unchanged under `torchrun --nproc_per_node N -m glcic.cli train ...`."
        ),
    )
    p.add_argument("--config", help="preset name (paper, report, cpu, face64, ...) or a YAML file")
    p.add_argument("--run-dir", required=True, type=Path, help="folder for checkpoints, stats, samples")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set train.batch_size=32 (repeatable)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --run-dir")
    p.add_argument(
        "--init-from",
        metavar="SOURCE",
        help="start from trained weights: a shipped model's name (faces, scenes), a bundle folder, a run folder "
        "or a ckpt_*.pt file (fine-tuning; the same as --set train.init_from=SOURCE)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps of this call")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop (with a checkpoint) once this call has trained this many minutes: equal time budgets",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from glcic.config import dump_config, load_config
    from glcic.errors import ConfigError
    from glcic.training.outputs import check_run_config

    preset = args.config
    saved = args.run_dir / "config.yaml"
    if preset is None:
        if args.resume and saved.is_file():
            check_run_config(saved)  # an empty file would read as all defaults
            preset = saved  # resuming: the run's own config, with any --set on top
        else:
            raise ConfigError("--config is required (a preset such as cpu, report, paper, or a YAML path)")
    overrides = args.overrides + ([f"train.init_from={args.init_from}"] if args.init_from else [])
    cfg = load_config(preset, overrides)
    if args.dry_run:
        sys.stdout.write(dump_config(cfg))
        return 0
    from glcic.atomic import disk_full_error, is_disk_full
    from glcic.training.loop import train
    from glcic.training.step import TrainingError

    try:
        result = train(
            cfg, args.run_dir, resume=args.resume, device=args.device, max_steps=args.max_steps,
            max_minutes=args.max_minutes,
        )
    except TrainingError as e:
        print(f"glcic train: error: {e}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError) as e:
        if not is_disk_full(e):
            raise
        print(f"glcic train: error: {disk_full_error(args.run_dir, e, _resume_hint(args.run_dir))}", file=sys.stderr)
        return 1
    print(f"glcic train: stopped at step {result['step']}; run folder {result['run_dir']}")
    return 0


def _resume_hint(run_dir: Path) -> str:
    """What to do after a full disk: where training will continue from."""
    from glcic.training.checkpoint import latest_checkpoint

    last = latest_checkpoint(run_dir)
    start = f"from {last}" if last else "from step 0 (no checkpoint was written yet)"
    return (
        "no partial file is left and the run's checkpoints are intact. Free some space (old runs; fewer "
        f"checkpoints with --set train.keep_ckpts=N), then continue with `glcic train --run-dir {run_dir} "
        f"--resume`: it starts {start}"
    )
