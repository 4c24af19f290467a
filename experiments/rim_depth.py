"""Hole error by depth: where in a hole a model loses or wins against biharmonic.

Each hole pixel's depth is its chessboard distance to the nearest known pixel (1 = the rim).
For the first ``--limit`` val images with seeded masks (``glcic evaluate``'s, saved once), every
model completes the hole at its own scale (strategy ``original``, no post-processing, fp32);
the script prints each model's mean hole PSNR over the images, the same with the rim's pixels
(depth <= 1, <= 2) given the biharmonic fill instead, and the PSNR of all pixels at each depth
band. docs/ablations.md ("The rim keeps the pre-fill") quotes it.

    python experiments/rim_depth.py --masks nvidia:1-10 --limit 300 faces ~/glcic-runs/faces-sharp/c1500-mse-bundle
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from glcic.classical import inpaint_biharmonic
from glcic.evaluation import evaluate
from glcic.evaluation.images import blank_hole, list_eval_images, load_target
from glcic.pipeline import InpaintPipeline

BANDS = ((1, 1), (2, 2), (3, 4), (5, 8), (9, 10**6))


def _label(lo: int, hi: int) -> str:
    return f"{lo}+" if hi > 100 else str(lo) if lo == hi else f"{lo}-{hi}"


def _psnr(err2: np.ndarray) -> float:
    return float(10 * np.log10(1 / max(float(err2.mean()), 1e-12)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="+", help="shipped model names or bundle folders")
    p.add_argument("--data", default="../shared/data/celeba")
    p.add_argument("--masks", default="nvidia:1-10")
    p.add_argument("--limit", type=int, default=300)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--work", type=Path, default=Path("/tmp/glcic-rim-depth"), help="where the masks are saved")
    args = p.parse_args()

    masks_dir = args.work / f"masks-{args.masks.replace(':', '_')}-{args.limit}"
    if not masks_dir.is_dir():
        evaluate(model=args.models[0], data=args.data, masks=args.masks, limit=args.limit,
                 methods=["biharmonic"], save_masks_to=masks_dir, progress=False)  # fmt: skip
    paths, _ = list_eval_images(args.data, "val", args.limit)
    cases = []
    for path, mask_path in zip(paths, sorted(masks_dir.glob("*.png")), strict=True):
        truth = load_target(path, args.size)
        hole = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127
        depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_C, 3)
        given = blank_hole(truth, hole)
        cases.append((truth, hole, depth, given, inpaint_biharmonic(given, hole)))

    for name in ["biharmonic", *args.models]:
        pipe = None if name == "biharmonic" else InpaintPipeline.from_pretrained(name, precision="fp32")
        whole, rim1, rim2, thin = [], [], [], []
        band_err = np.zeros(len(BANDS))
        band_n = np.zeros(len(BANDS))
        for truth, hole, depth, given, bh in cases:
            out = bh if pipe is None else pipe.run(given, hole, strategy="original", postprocess="none").image
            thin_part = hole & ~cv2.morphologyEx(hole.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
            for r, acc in ((10**6, whole), (1, rim1), (2, rim2), (0, thin)):
                keep = thin_part if r == 0 else (depth >= 1) & (depth <= r)
                o = out if r == 10**6 else np.where(keep[:, :, None], bh, out)
                acc.append(_psnr(((o.astype(np.float64) - truth) / 255)[hole] ** 2))
            err2 = ((out.astype(np.float64) - truth) / 255) ** 2
            for i, (lo, hi) in enumerate(BANDS):
                sel = hole & (depth >= lo) & (depth <= hi)
                band_err[i] += err2[sel].sum()
                band_n[i] += sel.sum() * 3
        bands = ", ".join(f"{_label(lo, hi)}: {10 * np.log10(band_n[i] / band_err[i]):.2f}" for i, (lo, hi) in enumerate(BANDS))
        print(f"{name}: {np.mean(whole):.2f} dB; rim 1 / 2 px biharmonic: {np.mean(rim1):.2f} / {np.mean(rim2):.2f}; "
              f"parts <= 2 px wide biharmonic: {np.mean(thin):.2f}; "
              f"by depth {bands}", flush=True)  # fmt: skip
    share = ", ".join(f"{_label(lo, hi)}: {n / band_n.sum():.0%}" for (lo, hi), n in zip(BANDS, band_n, strict=True))
    print(f"hole pixels by depth: {share}")


if __name__ == "__main__":
    main()
