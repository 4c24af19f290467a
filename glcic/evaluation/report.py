"""The evaluation report: averages per method and per hole-area bin, as JSON and Markdown.

The report is a plain JSON-able dict::

    {"n_images", "masks", "seed", "size", "data", "split", "model": {...} | None,
     "mask_params": {...}, "methods": {NAME: {"psnr", "ssim", "hole_psnr",
     "hole_l1", "n_images", "n_inf", "seconds_per_image"[, "lpips", "fid"]}},
     "bins": {"10-20%": {NAME: {...}}}, "per_image": [{"index", "image", "mask",
     "hole_fraction", "bin", NAME: {"psnr", "ssim", "hole_psnr", "hole_l1"[, "lpips"],
     "seconds"}}]}

PSNRs in dB, SSIM in [-1, 1], L1 in [0, 1]; a PSNR of identical pixels is ``inf`` in
the per-image scores and ``None`` in the report (JSON has no infinity).
:func:`format_markdown` renders it as tables.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from glcic.errors import InputError
from glcic.evaluation.images import relative_name
from glcic.evaluation.masks import EvalMasks
from glcic.evaluation.runner import RunResults
from glcic.evaluation.scoring import Scorer
from glcic.options import METRICS

BIN_WIDTH = 10
"""Width of the hole-area bins, in percent of the image."""


def area_bin(fraction: float) -> str:
    """Hole-area bin label of a hole fraction: ``"0-10%"``, ``"10-20%"``, ..., ``"90-100%"``.

    Bins are [lo, hi) in percent of the image; 100 % falls into the last one.
    """
    k = min(int(math.floor(fraction * 100 / BIN_WIDTH + 1e-9)), 100 // BIN_WIDTH - 1)
    return f"{k * BIN_WIDTH}-{(k + 1) * BIN_WIDTH}%"


def json_float(v: float) -> float | None:
    """``v``, or None when it is not finite (JSON has no infinity)."""
    return float(v) if math.isfinite(v) else None


def aggregate(rows: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Average per-image metrics.

    PSNRs are averaged in dB over the images (the usual convention), leaving out ``inf``
    (identical pixels) via :func:`glcic.metrics.mean_finite`; ``n_inf`` counts them.
    SSIM and L1 are plain means.

    Returns:
        ``{"psnr", "ssim", "hole_psnr", "hole_l1", "n_images", "n_inf"}``; a PSNR whose
        every value is ``inf`` is reported as None (JSON has no infinity).
    """
    from glcic.metrics import mean_finite

    if not rows:
        raise InputError("nothing to aggregate: no image was evaluated")
    out: dict[str, Any] = {}
    n_inf = 0
    for k in METRICS:
        vals = [float(r[k]) for r in rows]
        if k.endswith("psnr"):
            n_inf += sum(math.isinf(v) for v in vals)
            out[k] = json_float(mean_finite(vals))
        else:
            out[k] = math.fsum(vals) / len(vals)
    out["n_images"] = len(rows)
    out["n_inf"] = n_inf
    return out


def build_report(
    *,
    masks_text: str,
    seed: int,
    size: int,
    data: str | os.PathLike,
    split: str | None,
    model_info: Any | None,
    model_path: str | None,
    paths: Sequence[Path],
    masks: EvalMasks,
    results: RunResults,
    scorer: Scorer,
) -> dict[str, Any]:
    """The report of one evaluation (keys in the module docstring)."""
    per_image = _per_image(paths, data, masks, results)
    return {
        "n_images": len(paths),
        "masks": masks_text,
        "seed": int(seed),
        "size": size,
        "data": str(data),
        "split": split,
        "model": _model_json(model_info, model_path),
        "mask_params": masks.params,
        "methods": _summaries(results, scorer),
        "bins": _bins(per_image, results),
        "per_image": per_image,
    }


def _per_image(
    paths: Sequence[Path], data: str | os.PathLike, masks: EvalMasks, results: RunResults
) -> list[dict[str, Any]]:
    rows = []
    for i, path in enumerate(paths):
        fraction = float(masks.masks[i].mean())
        row: dict[str, Any] = {
            "index": i,
            "image": relative_name(path, data),
            "mask": masks.sources[i],
            "hole_fraction": fraction,
            "bin": area_bin(fraction),
        }
        for name, scores in results.scores.items():
            vals = {k: json_float(v) for k, v in scores[i].items()}
            row[name] = vals | {"seconds": results.seconds[name][i]}
        rows.append(row)
    return rows


def _summaries(results: RunResults, scorer: Scorer) -> dict[str, dict[str, Any]]:
    """Per method: the averages, seconds per image, and LPIPS / FID when measured."""
    out = {}
    for name, scores in results.scores.items():
        seconds = math.fsum(results.seconds[name]) / len(scores)
        out[name] = aggregate(scores) | {"seconds_per_image": seconds} | scorer.summarize(name, scores)
    return out


def _bins(per_image: Sequence[dict[str, Any]], results: RunResults) -> dict[str, dict[str, Any]]:
    """Per hole-area bin (in increasing order) and method: the averages of its images."""
    bins: dict[str, dict[str, Any]] = {}
    for label in sorted({r["bin"] for r in per_image}, key=lambda s: int(s.split("-")[0])):
        idx = [r["index"] for r in per_image if r["bin"] == label]
        bins[label] = {
            name: aggregate([scores[j] for j in idx]) for name, scores in results.scores.items()
        }
    return bins


def _model_json(info: Any | None, path: str | None) -> dict[str, Any] | None:
    if info is None:
        return None
    d = info.to_json()
    d.pop("train_config", None)  # the whole training config is in the bundle; keep the report short
    d["path"] = path
    return d


def _fmt(v: float | None, digits: int) -> str:
    return "inf" if v is None else f"{v:.{digits}f}"


def format_markdown(report: dict[str, Any]) -> str:
    """The report's averages as Markdown: one table overall, one per hole-area bin."""
    m = report["model"]
    lines = [
        f"{report['n_images']} images from {report['data']}"
        + (f" ({report['split']} split)" if report.get("split") else "")
        + f" at {report['size']} px, masks {report['masks']}, seed {report['seed']}"
        + (f", model {m.get('name')} ({m.get('path')})" if m else ""),
        "",
        "| method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 | s / image |",
        "|---|---|---|---|---|---|",
    ]
    extra = [k for k in ("lpips", "fid") if any(k in s for s in report["methods"].values())]
    if extra:  # LPIPS / FID columns when their weights were given
        lines[-2] += "".join(f" {k.upper()} |" for k in extra)
        lines[-1] += "---|" * len(extra)
    for name, s in report["methods"].items():
        lines.append(
            f"| {name} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} | {_fmt(s['hole_psnr'], 2)} "
            f"| {_fmt(s['hole_l1'], 4)} | {s['seconds_per_image']:.4f} |"
            + "".join(f" {_fmt(s.get(k), 4)} |" for k in extra)
        )
    if report["bins"]:
        lines += [
            "",
            "By hole area (percent of the image):",
            "",
            "| hole area | images | method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, by_method in report["bins"].items():
            for name, s in by_method.items():
                lines.append(
                    f"| {label} | {s['n_images']} | {name} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} "
                    f"| {_fmt(s['hole_psnr'], 2)} | {_fmt(s['hole_l1'], 4)} |"
                )
    return "\n".join(lines) + "\n"
