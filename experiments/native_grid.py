"""Real completions at native resolution: val photos, painted holes, ``glcic inpaint``'s defaults.

Each row is one val photo at its own size (photos spread evenly over the sorted val split), with a ``strokes`` or ``blobs`` hole (the
families people paint) drawn at that size by the evaluation's seeded :class:`MaskMaker`,
so the row is the image ``glcic evaluate --size native --masks strokes`` (or ``blobs``)
scored, not a picked example. Columns: the input (hole in white), the model as
``glcic inpaint`` runs it with its default settings (strategy ``auto``, the paper's
blending), the classical methods (default: PatchMatch, the exemplar method that paints
texture, and Telea; ``--classical`` picks others), the ground truth. The pipeline and the
classical methods see the whole photo; each cell shows the photo's central square at
native pixels (no scaling), where most of the hole is. Each row's printed line gives the
hole detail ratio of every fill (``glcic.metrics.hole_detail``; 1 = the photo's texture).

    python experiments/native_grid.py --model scenes --data ../shared/data/scenes/images \\
        --output docs/images/scenes_native.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from glcic.bundle import read_bundle_info
from glcic.classical import inpaint_classical
from glcic.evaluation import MaskMaker, list_eval_images, write_grid
from glcic.evaluation.images import blank_hole, load_target
from glcic.evaluation.methods import parse_methods
from glcic.metrics import hole_detail
from glcic.pipeline import InpaintPipeline

CLASSICAL = ("patchmatch", "telea")
FAMILIES = ("strokes", "blobs")


def central_square(img: np.ndarray) -> np.ndarray:
    """The largest centred square of ``img`` (H, W, ...), at native pixels."""
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return img[y : y + s, x : x + s]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a shipped model's name or a bundle folder")
    p.add_argument("--data", required=True, help="a CelebA root or a folder of photos (its val split is used)")
    p.add_argument("--rows", type=int, default=6, help="photos, evenly spread over the val split; strokes and blobs alternate")
    p.add_argument("--seed", type=int, default=0, help="the evaluation's mask seed")
    p.add_argument("--output", type=Path, required=True, help="image to write (.png or .jpg)")
    p.add_argument("--classical", default=",".join(CLASSICAL),
                   help=f"classical methods beside the model, comma-separated (default {','.join(CLASSICAL)})")
    args = p.parse_args(argv)
    classical = [m for m in parse_methods(args.classical) if m != "glcic"]  # fails now if one cannot run
    info = read_bundle_info(args.model)
    pipe = InpaintPipeline.from_pretrained(args.model, precision="fp32")
    paths, _ = list_eval_images(args.data, "val", 0, val_fraction=info.train_section("data").get("val_fraction"))
    picks = np.linspace(0, len(paths) - 1, min(args.rows, len(paths))).round().astype(int)  # spread over the split
    rows, side = [], None
    for k, i in enumerate(picks):
        path, spec = paths[i], FAMILIES[k % len(FAMILIES)]
        target = load_target(path, None)  # (H, W, 3) uint8, as glcic inpaint reads it
        hole, _ = MaskMaker(spec, args.seed, info, None)(i, target.shape[:2])  # (H, W) bool
        known = blank_hole(target, hole)
        outs = [pipe(known, hole)]  # glcic inpaint's defaults
        outs += [inpaint_classical(m, known, hole) for m in classical]
        cells = [central_square(a) for a in (known, target, *outs)]  # known: the hole in white
        side = side or cells[0].shape[0]
        rows.append((cells[0], cells[1], cells[2:]))
        detail = ", ".join(f"{name} {hole_detail(o, target, hole):.2f}"
                           for name, o in zip([Path(args.model).name, *classical], outs, strict=True))  # fmt: skip
        print(f"native_grid: {path.name} {target.shape[1]}x{target.shape[0]} {spec} hole {hole.mean():.0%}; "
              f"detail {detail}", flush=True)  # fmt: skip
    write_grid(args.output, rows, [Path(args.model).name, *classical])
    print(f"wrote {args.output} ({len(rows)} rows, cells {side} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
