"""Hole PSNR at native resolution: the default settings against every explicit strategy.

Full-size validation photos (CelebA val faces, 178x218; the scenes folder's
validation hold-out, ~256x341), each with a seeded stroke, blob and box hole,
completed by the shipped model (fp32) with:

- ``old``: the previous defaults, ``auto`` as it was (``original`` up to 1.5x the
  training size, else ``crop`` when every hole cluster is under 1/16 of the short
  side, else ``resize``) and no post-processing;
- ``new``: today's defaults (``auto`` by hole depth, ``blend``);
- ``original``, ``resize``, ``crop``, each with ``none`` and ``blend``;
- ``telea`` (a classical reference, no blending);
- with ``--depths``, ``new`` at other values of ``glcic.strategies.AUTO_DEPTH``.

Prints one Markdown table per data set (mean hole PSNR in dB per family) and writes
the per-image numbers as JSON::

    nice -n 10 python benchmarks/native_auto.py --images 50 --out /tmp/native_auto.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from glcic import strategies  # noqa: E402
from glcic.data.celeba import CelebAIndex  # noqa: E402
from glcic.data.datasets import folder_split  # noqa: E402  (the split glcic.data uses)
from glcic.data.mask_mix import blob, strokes  # noqa: E402
from glcic.io import list_images, read_rgb  # noqa: E402
from glcic.metrics import hole_psnr  # noqa: E402
from glcic.pipeline import InpaintPipeline  # noqa: E402
from glcic.postprocess import blend  # noqa: E402
from glcic.steps import run_classical  # noqa: E402
from glcic.strategies import crop_regions  # noqa: E402

FAMILIES = ("strokes", "blobs", "boxes")
STRATEGIES = ("original", "resize", "crop")
LABELS = ("old", "new", *STRATEGIES, *(f"{s}+blend" for s in STRATEGIES), "telea")


def old_auto(hole: np.ndarray, resolution: int) -> str:
    """The ``auto`` rule before issue 13 (from the bounding boxes of hole clusters)."""
    short = min(hole.shape)
    if short <= 1.5 * resolution:
        return "original"
    largest = max((r.hole_side for r in crop_regions(hole, resolution)), default=0)
    return "crop" if largest < short / 16 else "resize"


def box(hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """One rectangle, each side 15-45 % of the image's, anywhere inside it."""
    h, w = hw
    bh, bw = int(rng.uniform(0.15, 0.45) * h), int(rng.uniform(0.15, 0.45) * w)
    top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    m = np.zeros((h, w), np.uint8)
    m[top : top + bh, left : left + bw] = 1
    return m


def make_hole(family: str, hw: tuple[int, int], seed: int) -> np.ndarray:
    """A seeded hole of one family, ``bool`` (H, W): strokes 5-20 %, blobs 5-25 % of the image."""
    rng = np.random.default_rng(seed)
    if family == "strokes":
        return strokes(hw, rng.uniform(0.05, 0.2), rng) > 0
    if family == "blobs":
        return blob(hw, rng.uniform(0.05, 0.25), rng) > 0
    return box(hw, rng) > 0


def val_images(name: str, n: int) -> list[Path]:
    """The first ``n`` validation images of a data set, in a fixed order."""
    if name == "celeba":
        paths, _ = CelebAIndex.load(REPO.parent / "shared/data/celeba").split("val")
        return paths[:n]
    root = REPO.parent / "shared/data/scenes/images"
    _, val = folder_split(list_images(root), 0.05, root)  # data.val_fraction's default
    return val[:n]


def score_one(pipe: InpaintPipeline, img: np.ndarray, hole: np.ndarray, depths: list[float]) -> dict:
    """Hole PSNR of every configuration on one image and hole.

    Each strategy runs the network once; its ``+blend`` score blends that same fill
    (what ``postprocess="blend"`` does), and ``old`` is the strategy the old rule picks.
    """
    res = pipe.bundle_info.resolution
    row: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # original's warning above 1.5x the training size
        for s in STRATEGIES:
            fill = pipe(img, hole, strategy=s, postprocess="none")
            row[s] = hole_psnr(fill, img, hole)
            row[f"{s}+blend"] = hole_psnr(blend(fill, img, hole), img, hole)
    row["old_strategy"] = old_auto(hole, res)
    row["old"] = row[row["old_strategy"]]
    for d in [strategies.AUTO_DEPTH, *depths]:
        default, strategies.AUTO_DEPTH = strategies.AUTO_DEPTH, d
        r = pipe.run(img, hole, postprocess="none")  # auto
        strategies.AUTO_DEPTH = default
        key = "new" if d == default and "new" not in row else f"new@{d:g}"
        row[key] = hole_psnr(blend(r.image, img, hole), img, hole)
        row[f"{key}_strategy"] = f"{r.strategy} {r.scale:.3g}"
    row["telea"] = hole_psnr(run_classical(img, hole, "telea", "none").image, img, hole)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--sets", default="celeba,scenes")
    ap.add_argument("--out", type=Path, default=Path("/tmp/native_auto.jsonl"), help="one JSON line per image and hole")
    ap.add_argument("--depths", default="", help="also run auto with these AUTO_DEPTH values (a sweep)")
    ap.add_argument("--report", action="store_true", help="only print the tables of an existing --out")
    args = ap.parse_args()
    depths = [float(d) for d in args.depths.split(",") if d]
    if not args.report:
        pipe = InpaintPipeline.from_pretrained("default", precision="fp32")
        t0 = time.time()
        sets = {name: val_images(name, args.images) for name in args.sets.split(",")}
        with open(args.out, "w") as f:
            for i in range(args.images):  # the sets interleaved: an interrupted run still has both
                for set_name, paths in sets.items():
                    if i >= len(paths):
                        continue
                    img = read_rgb(paths[i])
                    for k, family in enumerate(FAMILIES):
                        hole = make_hole(family, img.shape[:2], seed=1000 * i + k)
                        row = {"set": set_name, "image": paths[i].name, "family": family, "hole": float(hole.mean())}
                        row.update(score_one(pipe, img, hole, depths))
                        f.write(json.dumps(row) + "\n")
                        f.flush()
                print(f"{i + 1} images per set, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    rows = [json.loads(line) for line in open(args.out)]
    report(rows, sorted({k for r in rows for k in r if k.startswith("new@") and not k.endswith("_strategy")}))


def report(rows: list[dict], extra: list[str]) -> None:
    """One Markdown table per data set: mean hole PSNR per family and configuration."""
    labels = [*LABELS, *extra]
    for set_name in dict.fromkeys(r["set"] for r in rows):
        print(f"\n{set_name}, {len({r['image'] for r in rows if r['set'] == set_name})} images\n")
        print("| family | " + " | ".join(labels) + " | new - old | new - best explicit |")
        print("|---" * (len(labels) + 3) + "|")
        for family in FAMILIES:
            sel = [r for r in rows if r["set"] == set_name and r["family"] == family]
            mean = {k: float(np.mean([r[k] for r in sel])) for k in labels}
            best = max(mean[k] for k in LABELS[2:-1])
            cells = " | ".join(f"{mean[k]:.2f}" for k in labels)
            print(f"| {family} | {cells} | {mean['new'] - mean['old']:+.2f} | {mean['new'] - best:+.2f} |")


if __name__ == "__main__":
    main()
