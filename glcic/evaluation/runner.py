"""Run every method on every image: loading, masks, warm-up, timing, compositing, scoring.

Each method gets the ground truth with the hole blanked. At the model's resolution it
is scored as composited (known pixels are the input's, whatever the method did
there); at native sizes as it comes out of the pipeline, which is what a user gets
(``blend`` also changes a seam around the hole). An image that cannot be read is
skipped with a warning that names it, and the run goes on.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glcic.errors import InputError
from glcic.evaluation.grid import GRID_CELL, fit_cell
from glcic.evaluation.images import blank_hole, load_target
from glcic.evaluation.masks import MaskMaker, save_mask
from glcic.evaluation.methods import Method
from glcic.evaluation.scoring import Scorer

GRID_ROWS = 8
"""Rows kept for the comparison picture (the first ones)."""

GridRow = tuple[np.ndarray, np.ndarray, list[np.ndarray]]
"""``(input, target, outputs)``, each ``uint8`` (H, W, 3); outputs in method order."""


@dataclass(frozen=True)
class Record:
    """One scored (image, mask) pair.

    Attributes:
        index: the image's position in the evaluated list (its mask's seed).
        path: the image file.
        hw: (H, W) it was evaluated at.
        hole_fraction: share of hole pixels in its mask.
        mask: the mask file's name, None for generated masks.
        label: the ``nvidia-bins`` bin of its mask, None otherwise.
    """

    index: int
    path: Path
    hw: tuple[int, int]
    hole_fraction: float
    mask: str | None
    label: str | None


@dataclass
class RunResults:
    """What one evaluation measured.

    Attributes:
        records: the scored (image, mask) pairs, in order (image-major, then mask spec).
        scores: per method, the scores of each record (PSNR ``inf`` kept).
        seconds: per method, the timed seconds of each record.
        grid_rows: the first :data:`GRID_ROWS` records, for :func:`glcic.evaluation.grid.write_grid`.
        skipped: ``(path, reason)`` of each image that could not be read.
        original: per record, the texture measures of the ground truth itself over the same
            hole (:func:`glcic.metrics.texture_metrics`; what a photo reads).
    """

    records: list[Record] = field(default_factory=list)
    original: list[dict[str, float]] = field(default_factory=list)
    scores: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)
    grid_rows: list[GridRow] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def run_methods(
    paths: Sequence[Path],
    size: int | None,
    makers: Sequence[MaskMaker],
    methods: Sequence[Method],
    scorer: Scorer,
    progress: bool | None = None,
    save_masks_to: Path | None = None,
) -> RunResults:
    """Complete image i's holes (one per mask maker) with each method, time and score it.

    Args:
        paths: the images, in report order.
        size: side the images are cropped and resized to; None = each at its own size.
        makers: one per mask spec (several for ``nvidia-bins``); image i's mask is
            ``maker(i, (H, W))``.
        methods: run in this order on each (image, mask).
        scorer: scores each output.
        progress: show a progress bar (None: when stderr is a terminal).
        save_masks_to: write each mask as ``{i:05d}.png`` here (in a sub-folder per
            bin for ``nvidia-bins``); an existing folder.
    """
    res = RunResults(scores={m.name: [] for m in methods}, seconds={m.name: [] for m in methods})
    for i in _progress(range(len(paths)), len(paths), progress):
        try:
            target = load_target(paths[i], size)  # (H, W, 3) uint8
        except InputError as e:
            warnings.warn(f"skipped unreadable image {paths[i]}: {e}", UserWarning, stacklevel=2)
            res.skipped.append((paths[i], str(e)))
            continue
        for maker in makers:
            m, source = maker(i, target.shape[:2])  # (H, W) bool, True = hole
            if save_masks_to is not None:
                _save(m, save_masks_to, maker.label, i)
            res.records.append(
                Record(i, paths[i], target.shape[:2], float(m.mean()), source, maker.label)
            )
            outs = _run_one(res, target, m, methods, scorer, composite=size is not None)
            if len(res.grid_rows) < GRID_ROWS:
                row = [blank_hole(target, m), target, *outs]
                if size is None:  # native sizes differ: a thumbnail of each
                    row = [fit_cell(x, GRID_CELL) for x in row]
                res.grid_rows.append((row[0], row[1], row[2:]))
    return res


def _run_one(
    res: RunResults,
    target: np.ndarray,
    m: np.ndarray,
    methods: Sequence[Method],
    scorer: Scorer,
    composite: bool,
) -> list[np.ndarray]:
    """Every method on one (image, mask); appends the scores and times to ``res``."""
    from glcic.metrics import texture_metrics

    masked = blank_hole(target, m)  # (H, W, 3) uint8, hole white
    scorer.add_target(target)
    res.original.append(texture_metrics(target, target, m))
    outs = []
    for method in methods:
        if method.warm_up and not res.seconds[method.name]:
            method.run(masked, m)  # untimed: one-time allocations, kernel choice
        out, dt = _timed(method, masked, m, target)
        if composite:
            out = np.where(m[:, :, None], out, masked)
        res.scores[method.name].append(scorer.score(method.name, out, target, m))
        res.seconds[method.name].append(dt)
        outs.append(out)
    return outs


def _timed(
    method: Method, masked: np.ndarray, m: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, float]:
    """``method``'s output ``uint8`` (H, W, 3) and its wall-clock seconds."""
    t0 = time.perf_counter()
    out = np.asarray(method.run(masked, m))
    dt = time.perf_counter() - t0
    if out.shape != target.shape or out.dtype != np.uint8:
        raise RuntimeError(
            f"method {method.name} returned {out.dtype} {out.shape}; expected uint8 {target.shape}"
        )
    return out, dt


def _save(m: np.ndarray, folder: Path, label: str | None, index: int) -> None:
    """Image ``index``'s mask into ``folder`` (``folder/LO-HI`` for a bin)."""
    if label is not None:
        folder = folder / label.rstrip("%")
        folder.mkdir(exist_ok=True)
    save_mask(m, folder, index)


def _progress(it: range, total: int, show: bool | None) -> Any:
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc="evaluate", unit="img", leave=False, file=sys.stderr)
