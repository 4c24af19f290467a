"""Latency of the classical inpainting baselines (one image, one square hole).

Each method is :func:`glcic.classical.inpaint_classical` with its default options
(Telea and Navier-Stokes with radius 5, biharmonic, mean fill, FSR_FAST, PatchMatch with
7x7 patches), on a CelebA face resized to the size (a smooth synthetic picture when the
shared data is absent), with a centred square hole: 64² in a 128² and in a 160² image,
128² and 256² in a 512² image. Methods that cannot run here
(:func:`glcic.classical.unavailable_methods`) are named and skipped.

    python benchmarks/bench_classical.py
    python benchmarks/bench_classical.py --quick
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from common import (
    REPO,
    bench_main,
    md_table,
    median_time,
)

from glcic.options import CLASSICAL_METHODS

CASES = ((128, 64), (160, 64), (512, 128), (512, 256))  # (image side, hole side)


def sample_image(size: int) -> tuple[np.ndarray, str]:
    """A face from the shared CelebA copy, centre-cropped and resized; else a smooth pattern."""
    from glcic.data import preprocess, read_rgb

    root = Path(os.environ.get("GLCIC_SHARED_DATA", REPO.parent / "shared" / "data"))
    face = root / "celeba" / "img_align_celeba" / "000001.jpg"
    if face.is_file():
        return preprocess(read_rgb(face), size), f"CelebA {face.name}"
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack([np.sin(6 * xx), np.cos(5 * yy), xx * yy], axis=-1)
    return ((img - img.min()) / np.ptp(img) * 255).astype(np.uint8), "synthetic pattern"


def repeats_for(method: str, size: int, quick: bool) -> tuple[int, int]:
    if quick:
        return 1, 2
    if method in ("biharmonic", "fsr", "patchmatch"):  # up to seconds per call: fewer repeats
        return 1, 3 if size > 256 else 5
    return 2, 20


def run(args: argparse.Namespace) -> str:
    from glcic.classical import inpaint_classical, unavailable_methods

    missing = unavailable_methods()
    for method, why in missing.items():
        print(f"skipping {method}: {why}", flush=True)
    rows = []
    source = ""
    for size, hole in CASES:
        img, source = sample_image(size)
        mask = np.zeros((size, size), bool)
        y0 = (size - hole) // 2
        mask[y0 : y0 + hole, y0 : y0 + hole] = True
        for method in (m for m in CLASSICAL_METHODS if m not in missing):
            warmup, reps = repeats_for(method, size, args.quick)
            t = median_time(
                lambda m=method, i=img, k=mask: inpaint_classical(m, i, k), warmup, reps
            )
            rows.append([method, f"{size}², {hole}² hole", f"{t * 1e3:.1f}", reps])
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    return f"### Classical methods, one image ({source}), default options\n\n" + md_table(
        ["method", "case", "ms / image", "repeats"], rows
    )


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, "Classical methods benchmark", lambda args, peak: run(args), None, argv)

if __name__ == "__main__":
    raise SystemExit(main())
