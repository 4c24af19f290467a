"""`glcic plot`: loss curves of a run (generator, discriminator, reconstruction) to PNG."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PANELS = (
    ("Completion network: adversarial loss", ("loss/C_adv",)),
    ("Discriminator loss and accuracy", ("loss/D_real", "loss/D_fake", "loss/D_aux", "acc/D_real", "acc/D_fake")),
    ("Reconstruction (masked MSE)", ("loss/C_mse", "val/C_mse")),
)


def register(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help="draw a run's loss curves to PNG", description=__doc__)
    p.add_argument("run_dir", type=Path, help="a run folder with stats.jsonl")
    p.add_argument("--output", "-o", type=Path, default=None, help="PNG path (default RUN_DIR/curves.png)")
    return p


def read_stats(path: Path) -> list[dict]:
    """The rows of a run's stats.jsonl (see :mod:`glcic.training.outputs`)."""
    from glcic.errors import InputError

    if not path.is_file():
        raise InputError(f"{path} not found; give a run folder written by `glcic train`")
    rows = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            # A run killed mid-write leaves at most one partial last line.
            if i != len(lines):
                raise InputError(f"{path}:{i} is not JSON; the stats file is damaged") from None
    return rows


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from glcic.errors import InputError

    rows = read_stats(args.run_dir / "stats.jsonl")
    if not rows:
        raise InputError(f"{args.run_dir / 'stats.jsonl'} holds no stats yet; train for at least one log tick")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for ax, (title, keys) in zip(axes, PANELS, strict=False):
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if k in r]
            if pts:
                xs, ys = zip(*pts, strict=False)
                ax.plot(xs, ys, label=k, marker="o" if k.startswith("val/") else None, ms=3)
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
        if "MSE" in title and ax.lines:
            ax.set_yscale("log")
    fig.tight_layout()
    out = args.output or args.run_dir / "curves.png"
    fig.savefig(out, dpi=100)
    print(f"glcic plot: wrote {out}")
    return 0
