"""Two or more bundles side by side on the high-resolution photos at 2048 px: 1:1 crops of their fills.

What a model change looks like where a person sees it: on a large photo, where a deep hole
is completed at the model's scale and scaled up (``auto``'s ``resize``), so a pattern of a
few pixels at 128 px becomes bands tens of pixels apart. Each row is one photo of
``../shared/data/hires`` with ``benchmarks/hires.py``'s hole of that family (the same seed),
completed by every model with ``glcic inpaint``'s defaults; each column a 1:1 crop of the same
window, its top quarter the photo above the hole. Columns: the input (hole in white), each
model, the photo.

    python experiments/hires_versions.py --models scenes,~/glcic-runs/scenes-v1 --labels "v2,v1" \\
        --photos life-aitzol_berasategi,sunset-aitzol_berasategi --output versions.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from hires import DATA, FAMILIES, crop_window, make_hole, photo_at  # noqa: E402

from glcic.evaluation import write_grid  # noqa: E402
from glcic.evaluation.images import blank_hole  # noqa: E402
from glcic.pipeline import InpaintPipeline  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", required=True, help="comma-separated shipped model names or bundle folders")
    p.add_argument("--labels", default="", help="comma-separated column labels (default: the --models values)")
    p.add_argument("--photos", required=True, help="comma-separated photo names of --data, without .jpg")
    p.add_argument("--family", default="blobs", choices=FAMILIES)
    p.add_argument("--crop", type=int, default=256, help="side of the 1:1 crop, px at 2048 px")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--output", type=Path, required=True, help="picture to write (.png)")
    args = p.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    labels = [x.strip() for x in args.labels.split(",")] if args.labels else models
    if len(labels) != len(models):
        raise SystemExit(f"--labels: {len(labels)} labels for {len(models)} models")
    all_photos = sorted(args.data.glob("*.jpg"))
    index = {q.stem: i for i, q in enumerate(all_photos)}  # benchmarks/hires.py's seeds
    names = [n.strip() for n in args.photos.split(",") if n.strip()]
    missing = [n for n in names if n not in index]
    if missing:
        raise SystemExit(f"--photos: {', '.join(missing)} not in {args.data} (it has {', '.join(sorted(index))})")
    pipes = [InpaintPipeline.from_pretrained(str(Path(m).expanduser()) if "/" in m else m) for m in models]
    rows = []
    for name in names:
        rgb = photo_at(args.data / f"{name}.jpg", "2048")
        hole = make_hole(args.family, rgb.shape[:2], seed=1000 * index[name] + FAMILIES.index(args.family))
        win = crop_window(hole, args.crop, args.family)
        known = blank_hole(rgb, hole)
        outs = [np.asarray(pipe(known, hole))[win] for pipe in pipes]
        rows.append((known[win], rgb[win], outs))
        print(f"hires_versions: {name} {args.family}, hole {hole.mean():.1%}", file=sys.stderr)
    write_grid(args.output, rows, labels)
    print(f"wrote {args.output} ({len(rows)} rows, crops of {args.crop} px at 2048 px)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
