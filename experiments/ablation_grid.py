"""Draw the ablation's picture: the same val faces and holes completed by every variant.

One row per hole family (a rectangle, the centred square, local strokes, three NVIDIA
bins), one column per variant of ``experiments/ablate.py`` (its exported bundle) beside
the best classical method and the ground truth. Each row's face and hole are the ones
the evaluation scored for that image (the same seeded :class:`MaskMaker`), so the
picture shows cells of the table, not picked examples.

    python experiments/ablation_grid.py --out ~/glcic-runs/ablation --output docs/images/ablation_grid.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from glcic.bundle import read_bundle_info
from glcic.classical import inpaint_classical
from glcic.evaluation import MaskMaker, list_eval_images, write_grid
from glcic.evaluation.images import load_target
from glcic.options import DEFAULT_DATA_ROOT
from glcic.pipeline import InpaintPipeline

ROWS = (("rect", 0), ("center", 1), ("freeform", 2), ("nvidia:1-10", 3), ("nvidia:20-30", 4), ("nvidia:40-50", 5))
"""(mask spec, val image index) per row: a different face per family."""
CLASSICAL = "biharmonic"
SHORT = {"skip-links": "skip", "attributes": "attrib.", "nonsaturating": "non-sat.", "no-batch-norm": "no BN",
         "label-smoothing": "smooth", "telea-prefill": "telea pf", "paper-alpha0": "alpha 0",
         "skip+telea": "s+telea", "skip+biharmonic": "s+bih", "skip+telea+residual": "s+tel+res",
         "skip+biharmonic+residual": "s+bih+res", "skip+biharmonic+residual+per-image": "s+b+r+img",
         "skip+biharmonic+residual+per-image+l1": "s+b+r+i+l1"}
"""Column labels that fit a 64 px cell (the table in docs/ablations.md uses the full names)."""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="experiments/ablate.py's --out folder")
    p.add_argument("--output", type=Path, required=True, help="PNG to write")
    p.add_argument("--data", default=DEFAULT_DATA_ROOT)
    p.add_argument("--seed", type=int, default=0, help="the evaluation's mask seed")
    args = p.parse_args(argv)
    variants = sorted(d for d in args.out.iterdir() if (d / "bundle" / "config.json").is_file())
    if not variants:
        p.error(f"no exported variant in {args.out} (run experiments/ablate.py first)")
    order = ["mse-only", "paper"]  # the baselines first, then the improvements by name
    variants.sort(key=lambda d: (order.index(d.name) if d.name in order else len(order), d.name))
    info = read_bundle_info(variants[0] / "bundle")
    size = info.resolution
    pipes = [InpaintPipeline.from_pretrained(d / "bundle", precision="fp32") for d in variants]
    paths, _ = list_eval_images(args.data, "val", max(i for _, i in ROWS) + 1)
    rows = []
    for spec, i in ROWS:
        target = load_target(paths[i], size)  # (S, S, 3) uint8
        hole, _ = MaskMaker(spec, args.seed, info, size)(i, (size, size))  # (S, S) bool
        shown = target.copy()
        shown[hole] = 255
        outs = [pipe(target, hole, strategy="original", postprocess="none") for pipe in pipes]
        outs.append(inpaint_classical(CLASSICAL, np.where(hole[..., None], 0, target).astype(np.uint8), hole))
        rows.append((shown, target, outs))
    write_grid(args.output, rows, [SHORT.get(d.name, d.name) for d in variants] + [CLASSICAL])
    print(f"wrote {args.output}: rows {', '.join(s for s, _ in ROWS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
