"""Run every method on every image: warm-up, timing, compositing and scoring.

Each method gets the ground truth with the hole blanked and is scored as
composited: known pixels are the input's, whatever the method did there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glcic.evaluation.images import blank_hole, load_target
from glcic.evaluation.methods import Method
from glcic.evaluation.scoring import Scorer

GRID_ROWS = 8
"""Images kept for the comparison picture (the first ones)."""

GridRow = tuple[np.ndarray, np.ndarray, list[np.ndarray]]
"""``(input, target, outputs)``, each ``uint8`` (S, S, 3); outputs in method order."""


@dataclass
class RunResults:
    """What one evaluation measured.

    Attributes:
        scores: per method, the per-image scores in image order (PSNR ``inf`` kept).
        seconds: per method, the timed seconds of each image.
        grid_rows: the first :data:`GRID_ROWS` images, for :func:`glcic.evaluation.grid.write_grid`.
    """

    scores: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)
    grid_rows: list[GridRow] = field(default_factory=list)


def run_methods(
    paths: Sequence[Path],
    size: int,
    masks: Sequence[np.ndarray],
    methods: Sequence[Method],
    scorer: Scorer,
    progress: bool | None = None,
) -> RunResults:
    """Complete image i's hole with each method, time it and score it.

    Args:
        paths: the images, in report order.
        size: side the images are cropped and resized to.
        masks: ``masks[i]`` is image i's ``bool`` (size, size) mask, True = hole.
        methods: run in this order on each image.
        scorer: scores each composited output.
        progress: show a progress bar (None: when stderr is a terminal).
    """
    res = RunResults(
        scores={m.name: [] for m in methods}, seconds={m.name: [] for m in methods}
    )
    for i in _progress(range(len(paths)), len(paths), progress):
        target = load_target(paths[i], size)  # (S, S, 3) uint8
        m = masks[i]  # (S, S) bool, True = hole
        masked = blank_hole(target, m)
        scorer.add_target(target)
        outs = []
        for method in methods:
            if method.warm_up and i == 0:
                method.run(masked, m)  # untimed: one-time allocations, kernel choice
            out, dt = _timed(method, masked, m, target)
            out = np.where(m[:, :, None], out, masked)  # composited
            vals = scorer.score(method.name, out, target, m)
            res.scores[method.name].append(vals)
            res.seconds[method.name].append(dt)
            outs.append(out)
        if len(res.grid_rows) < GRID_ROWS:
            res.grid_rows.append((masked, target, outs))
    return res


def _timed(
    method: Method, masked: np.ndarray, m: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, float]:
    """``method``'s output ``uint8`` (S, S, 3) and its wall-clock seconds."""
    t0 = time.perf_counter()
    out = np.asarray(method.run(masked, m))
    dt = time.perf_counter() - t0
    if out.shape != target.shape or out.dtype != np.uint8:
        raise RuntimeError(
            f"method {method.name} returned {out.dtype} {out.shape}; expected uint8 {target.shape}"
        )
    return out, dt


def _progress(it: range, total: int, show: bool | None) -> Any:
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc="evaluate", unit="img", leave=False, file=sys.stderr)
