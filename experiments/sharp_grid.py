"""Draw the sharp-fills ablation's picture from the grids its evaluation wrote.

``experiments/ablate.py --suite scenes`` evaluates every variant with ``glcic evaluate
--grid``: ``VARIANT/grid_FAMILY.png`` holds the first val photos the evaluation drew, one
row each (input, the variant's fill, the classical methods in the reference variant's
grid, the photo), at 1:1. This script takes the first rows of those pictures, the chosen
variants' fills side by side with PatchMatch and the photo, and enlarges them without
interpolation, so the picture shows cells of the table, not picked examples.

    python experiments/sharp_grid.py --out ~/glcic-runs/sharp --variants ft-control,ft-resize+fm \\
        --output docs/images/sharp_ablation_blobs.jpg

The classical columns come from the reference variant's grid, or from any evaluation grid
that has them (``--reference``: a model report's folder, whose model column is then named
by ``--reference-label``), as long as its rows are the same photos and holes (checked).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from glcic.evaluation.grid import GRID_HEADER, GRID_PAD, write_grid  # noqa: E402

REFERENCE = "ft-control"
"""The variant whose grid also holds the classical methods' columns (ablate.py evaluates
the classical methods with the reference variant only)."""


def cells(path: Path, columns: int, rows: int, cell: int = 128) -> list[list[np.ndarray]]:
    """The first ``rows`` rows of a :func:`glcic.evaluation.grid.write_grid` picture with
    ``columns`` columns, as ``uint8`` (cell, cell, 3) arrays."""
    from PIL import Image

    img = np.asarray(Image.open(path).convert("RGB"))
    want_w = columns * cell + (columns + 1) * GRID_PAD
    if img.shape[1] != want_w:
        raise SystemExit(f"{path} is {img.shape[1]} px wide, not a grid of {columns} columns of {cell} px ({want_w})")
    out = []
    for r in range(rows):
        y = GRID_HEADER + GRID_PAD + r * (cell + GRID_PAD)
        out.append([img[y : y + cell, GRID_PAD + c * (cell + GRID_PAD) :][:, :cell] for c in range(columns)])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="experiments/ablate.py's --out folder")
    p.add_argument("--variants", required=True,
                   help="comma-separated variants, one column each: a folder of --out, or LABEL=RUN_DIR "
                        "for an evaluated run elsewhere (a longer run of a variant)")
    p.add_argument("--family", default="blobs", help="the hole family (default: blobs)")
    p.add_argument("--rows", type=int, default=4, help="photos (default: 4, the first the evaluation drew)")
    p.add_argument("--classical", default="patchmatch", help="the classical method shown (default: patchmatch)")
    p.add_argument("--classical-columns", default="telea,ns,biharmonic,patchmatch",
                   help="the classical methods in the reference grid, in order (ablate.py's suite)")
    p.add_argument("--reference", type=Path,
                   help=f"the folder whose grid_FAMILY.png has the classical columns (default: --out/{REFERENCE}; "
                        "e.g. experiments/model_report.py's --out)")
    p.add_argument("--reference-label", default=REFERENCE,
                   help=f"the variant name that shows the reference grid's own model column (default: {REFERENCE})")
    p.add_argument("--scale", type=int, default=2, help="enlargement, nearest neighbour (default: 2)")
    p.add_argument("--output", type=Path, required=True, help="picture to write (.jpg or .png)")
    args = p.parse_args(argv)

    from PIL import Image

    variants, dirs = [], {}
    for v in (v for v in args.variants.split(",") if v):
        label, _, folder = v.partition("=")
        variants.append(label)
        dirs[label] = Path(folder).expanduser() if folder else args.out / label
    classical = args.classical_columns.split(",")
    if args.classical not in classical:
        raise SystemExit(f"--classical {args.classical} is not among --classical-columns {args.classical_columns}")
    ref_dir = args.reference.expanduser() if args.reference else args.out / REFERENCE
    ref_grid = ref_dir / f"grid_{args.family}.png"
    if not ref_grid.is_file():
        raise SystemExit(f"no grid_{args.family}.png with the classical columns in {ref_dir}; evaluate the "
                         f"reference variant, or give --reference (a folder whose grid has them, on the same holes)")
    ref = cells(ref_grid, 3 + len(classical), args.rows)
    fills = {v: ref if v == args.reference_label else cells(dirs[v] / f"grid_{args.family}.png", 3, args.rows)
             for v in variants}
    rows = []
    for r in range(args.rows):
        inp, truth = ref[r][0], ref[r][-1]
        for v in variants:  # every variant's row shows the same photo and hole
            if not np.array_equal(fills[v][r][0], inp):
                raise SystemExit(f"row {r} of {v}'s grid is not the reference's photo and hole")
        outs = [fills[v][r][1] for v in variants] + [ref[r][2 + classical.index(args.classical)]]
        rows.append((inp, truth, outs))
    tmp = args.output.with_suffix(".tmp.png")
    write_grid(tmp, rows, [*variants, "PatchMatch" if args.classical == "patchmatch" else args.classical])
    img = Image.open(tmp)
    img = img.resize((img.width * args.scale, img.height * args.scale), Image.NEAREST)
    img.save(args.output, quality=90) if args.output.suffix.lower() in (".jpg", ".jpeg") else img.save(args.output)
    tmp.unlink()
    print(f"wrote {args.output} ({img.width}x{img.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
