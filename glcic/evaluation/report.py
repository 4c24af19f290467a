"""The evaluation report: averages per method and per bin, as JSON.

The report is a plain JSON-able dict::

    {"n_images", "n_skipped", "skipped": [{"image", "error"}], "masks", "seed",
     "size" (px, or "native"), "data", "split", "model": {...} | None,
     "mask_params": {...}, "inference": {"strategy", "postprocess"},
     "methods": {NAME: {"psnr", "ssim", "hole_psnr", "hole_l1", "n_images", "n_inf",
                        "detail_median", "detail_mean", "detail_n",
                        "colour_detail_median", "colour_detail_mean", "colour_detail_n",
                        "grid_peak_4_median", "grid_peak_4_mean", "grid_peak_4_n",
                        "grid_peak_2_median", "grid_peak_2_mean", "grid_peak_2_n",
                        "stripe_peak_median", "stripe_peak_mean", "stripe_peak_n",
                        "seconds_per_image"[, "lpips", "fid"]}},
     "original": {"detail_median", ..., "stripe_peak_n"},
     "bins_by": "hole_area" | "mask_bin", "bins": {"10-20%": {NAME: {... as methods,
     without lpips / fid}}}, "original_bins": {"10-20%": {... as original}},
     "per_image": [{"index", "image", "size": [H, W], "mask", "hole_fraction", "bin",
                    NAME: {"psnr", "ssim", "hole_psnr", "hole_l1", "detail", "colour_detail",
                           "grid_peak_4", "grid_peak_2", "stripe_peak"[, "lpips"], "seconds"},
                    "original": {"detail", ..., "stripe_peak"}}]}

``bins`` are the measured hole area's 10 % bins, or with ``--masks nvidia-bins`` the
mask bins (``"1-10%"`` ... ``"50-60%"``; then ``per_image`` has one row per image and
bin, and the methods' averages are over all of them). ``n_images`` counts the images
scored, ``skipped`` the unreadable ones. PSNRs in dB, SSIM in [-1, 1], L1 in [0, 1]; a
PSNR of identical pixels is ``inf`` in the per-image scores and ``None`` in the report
(JSON has no infinity).

The texture measures (:func:`glcic.metrics.texture_metrics`: the hole detail ratio of the
luma and of the chroma, the grid peaks at 4 px and 2 px, and the stripe peak) are summarised
by their median and their mean over the images where they are defined (``_n`` counts them; a
hole without an interior, or a flat photo for the detail ratios, is ``None`` per image and left
out). ``original`` measures the ground truth itself over the same holes: its detail ratios are
1 by definition, its grid and stripe peaks are what a photo reads (grid peaks about 0.9-1, the
stripe peak about 1.7), the level a fill's should be read against.
:func:`glcic.evaluation.markdown.format_markdown` renders it as tables (still importable from
here, where it used to live).
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from typing import Any

from glcic.errors import InputError
from glcic.evaluation.images import relative_name
from glcic.evaluation.markdown import format_markdown as format_markdown
from glcic.evaluation.runner import RunResults
from glcic.evaluation.scoring import Scorer
from glcic.options import METRICS, NATIVE_SIZE, TEXTURE_METRICS

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
    return out | texture_summary(rows)


def texture_summary(rows: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Median and mean of each texture measure over the rows where it is defined.

    Returns:
        ``{"detail_median", "detail_mean", "detail_n", "grid_peak_4_median", ...}`` for each
        of :data:`glcic.options.TEXTURE_METRICS` that the rows hold (rows scored before these
        measures existed hold none: nothing is returned for them); a median and mean of no
        defined value are None.
    """
    out: dict[str, Any] = {}
    for k in TEXTURE_METRICS:
        if not any(k in r for r in rows):
            continue
        vals = [float(r[k]) for r in rows if r.get(k) is not None and math.isfinite(r[k])]
        out[f"{k}_median"] = statistics.median(vals) if vals else None
        out[f"{k}_mean"] = math.fsum(vals) / len(vals) if vals else None
        out[f"{k}_n"] = len(vals)
    return out


def build_report(
    *,
    masks_text: str,
    seed: int,
    size: int | None,
    data: str | os.PathLike,
    split: str | None,
    model_info: Any | None,
    model_path: str | None,
    mask_params: dict[str, Any],
    inference: dict[str, str],
    results: RunResults,
    scorer: Scorer,
) -> dict[str, Any]:
    """The report of one evaluation (keys in the module docstring).

    Raises:
        InputError: no image could be read (the message names the first few).
    """
    if not results.records:
        shown = "; ".join(f"{p}: {why}" for p, why in results.skipped[:3])
        raise InputError(
            f"none of the {len(results.skipped)} images could be read ({shown}); "
            "check --data and the files"
        )
    per_image = _per_image(data, results)
    by_mask_bin = any(r.label is not None for r in results.records)
    bins = _bins(per_image, results)
    return {
        "n_images": len({r.index for r in results.records}),
        "n_skipped": len(results.skipped),
        "skipped": [{"image": relative_name(p, data), "error": why} for p, why in results.skipped],
        "masks": masks_text,
        "seed": int(seed),
        "size": NATIVE_SIZE if size is None else size,
        "data": str(data),
        "split": split,
        "model": _model_json(model_info, model_path),
        "mask_params": mask_params,
        "inference": inference,
        "methods": _summaries(results, scorer),
        "original": texture_summary(results.original),
        "bins_by": "mask_bin" if by_mask_bin else "hole_area",
        "bins": bins,
        "original_bins": {
            label: texture_summary([results.original[j] for j, r in enumerate(per_image) if r["bin"] == label])
            for label in bins
        },
        "per_image": per_image,
    }


def _per_image(data: str | os.PathLike, results: RunResults) -> list[dict[str, Any]]:
    rows = []
    for j, rec in enumerate(results.records):
        row: dict[str, Any] = {
            "index": rec.index,
            "image": relative_name(rec.path, data),
            "size": list(rec.hw),
            "mask": rec.mask,
            "hole_fraction": rec.hole_fraction,
            "bin": rec.label or area_bin(rec.hole_fraction),
        }
        for name, scores in results.scores.items():
            vals = {k: json_float(v) for k, v in scores[j].items()}
            row[name] = vals | {"seconds": results.seconds[name][j]}
        row["original"] = {k: json_float(v) for k, v in results.original[j].items()}
        rows.append(row)
    return rows


def _summaries(results: RunResults, scorer: Scorer) -> dict[str, dict[str, Any]]:
    """Per method: the averages, seconds per image, and LPIPS / FID when measured."""
    return {
        name: _average(results, name, range(len(scores))) | scorer.summarize(name, scores)
        for name, scores in results.scores.items()
    }


def _average(results: RunResults, name: str, rows: Sequence[int]) -> dict[str, Any]:
    """:func:`aggregate` of ``name``'s scores of the records ``rows``, and their mean time."""
    seconds = math.fsum(results.seconds[name][j] for j in rows) / len(rows)
    return aggregate([results.scores[name][j] for j in rows]) | {"seconds_per_image": seconds}


def _bins(per_image: Sequence[dict[str, Any]], results: RunResults) -> dict[str, dict[str, Any]]:
    """Per bin (increasing area) and method: the averages of its records. Bins are the
    ``nvidia-bins`` bins of the masks, else the measured hole area's :func:`area_bin`."""
    bins: dict[str, dict[str, Any]] = {}
    for label in sorted({r["bin"] for r in per_image}, key=lambda s: int(s.split("-")[0])):
        rows = [j for j, r in enumerate(per_image) if r["bin"] == label]
        bins[label] = {name: _average(results, name, rows) for name in results.scores}
    return bins


def _model_json(info: Any | None, path: str | None) -> dict[str, Any] | None:
    if info is None:
        return None
    d = info.to_json()
    d.pop("train_config", None)  # the whole training config is in the bundle; keep the report short
    d["path"] = path
    return d


def family_scores(report: dict[str, Any], method: str) -> dict[str, dict[str, Any]]:
    """One method's averages per mask family: ``{report["masks"]: ...}``, or for an
    ``nvidia-bins`` report one entry per bin, ``"nvidia 1-10%"``, ... (the rows of the
    literature's table). Empty when ``method`` was not run.

    Each entry is the method's summary: ``hole_psnr``, ``hole_l1``, ``ssim``, ``psnr``,
    ``n_images``, ..., and the texture measures' ``detail_median``, ``detail_mean``,
    ``grid_peak_4_median``, ... (absent from reports written before they existed).
    ``method="original"`` gives the ground truth's texture summary over the same holes.
    """
    if method == "original":
        if "original" not in report:
            return {}
        if report["bins_by"] == "mask_bin":
            return {f"nvidia {label}": s for label, s in report["original_bins"].items()}
        return {report["masks"]: report["original"]}
    if report["bins_by"] == "mask_bin":
        return {f"nvidia {label}": by[method] for label, by in report["bins"].items() if method in by}
    return {report["masks"]: report["methods"][method]} if method in report["methods"] else {}
