"""`glcic evaluate`: PSNR / SSIM / hole PSNR / hole L1, detail and grid peaks of the network
and classical baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

from glcic import options
from glcic.options import (
    CLASSICAL_METHODS,
    DEFAULT_DATA_ROOT,
    DEFAULT_MODEL,
    MODEL_HELP,
    NATIVE_SIZE,
    NVIDIA_AREA_BINS,
    NVIDIA_BINS,
    PRECISIONS,
    SHAPE_AREA_DEFAULT,
    STRATEGIES,
)

EPILOG = f"""\
mask specs (--masks):
  rect              one rectangle of the training distribution (from the bundle's training
                    config, else sides of 29-50 % of the image)
  center            one centred square, half the side (half of each side at native sizes)
  freeform          brush strokes inside the local window
  strokes[:LO-HI]   brush strokes over the whole image covering LO-HI % of it
                    (default {SHAPE_AREA_DEFAULT[0]:.0%}-{SHAPE_AREA_DEFAULT[1]:.0%}), the same fraction at any size
  blobs[:LO-HI]     one solid irregular region (an object to remove) of LO-HI % of the image
  nvidia:LO-HI      NVIDIA irregular masks with LO-HI % hole area, from
                    ../shared/data/masks/nvidia_irregular_test (nvidia:10-20@FOLDER for another copy)
  {NVIDIA_BINS}       the literature's table: nvidia:LO-HI for each bin
                    {', '.join(f'{lo}-{hi}' for lo, hi in NVIDIA_AREA_BINS)} %, the same images in every bin,
                    one row per bin ({NVIDIA_BINS}@FOLDER for another copy)
  FOLDER            mask images (white = hole), used in sorted order: image i gets mask i

examples:
  glcic evaluate --data {DEFAULT_DATA_ROOT} --masks rect --limit 200 --output report.json
  glcic evaluate --model runs/face64/bundle --masks nvidia:10-20 --limit 100 --grid grid.png
  glcic evaluate --methods telea,ns,mean --size 64 --masks center --data photos/
  glcic evaluate --masks {NVIDIA_BINS} --limit 0 --output bins.json
  glcic evaluate --size {NATIVE_SIZE} --data ../shared/data/scenes/images --split val --masks strokes

--size {NATIVE_SIZE} evaluates every image at its own size through the pipeline with the
defaults of `glcic inpaint` (strategy {{strategy}}, postprocess {{postprocess}} at present); the
masks are drawn at each image's size. Unreadable images are skipped with a warning and counted.
"""


def register(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help="measure PSNR / SSIM / hole metrics and the fills' texture, network and classical baselines",
        description="Complete deterministic holes in the first N images of a CelebA partition or "
        "folder with each method, and report PSNR and SSIM of the composited image, PSNR and "
        "L1 inside the hole (all in [0, 1] units), and the fill's texture (detail against the "
        "photo's, grid peaks at the decoder's 4 px and 2 px periods; median and mean over the "
        "images), overall and by hole area.",
        epilog=EPILOG.format(
            strategy=options.DEFAULT_STRATEGY, postprocess=options.DEFAULT_POSTPROCESS
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_selection(p)
    p.add_argument(
        "--output", "-o", type=Path, default=None, help="write the full report as JSON here"
    )
    p.add_argument(
        "--grid",
        type=Path,
        default=None,
        help="write a comparison picture (PNG) of the first 8 images",
    )
    p.add_argument(
        "--save-masks",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the masks as PNGs (255 = hole)",
    )
    p.add_argument(
        "--lpips-weights",
        default=None,
        metavar="PATH",
        help="local LPIPS weights (never downloaded)",
    )
    p.add_argument(
        "--fid-weights",
        default=None,
        metavar="PATH",
        help="local FID Inception weights (never downloaded)",
    )
    p.add_argument("--device", default="cpu", help="device of the network (default: cpu)")
    p.add_argument(
        "--precision",
        default="fp32",
        choices=PRECISIONS,
        help="network precision; fp32 (default) gives numbers that do not depend on the CPU",
    )
    return p


def _add_selection(p: argparse.ArgumentParser) -> None:
    """What is evaluated: the model, the images, the masks and the methods."""
    p.add_argument(
        "--model", default=DEFAULT_MODEL, help=MODEL_HELP
    )
    p.add_argument(
        "--data",
        default=DEFAULT_DATA_ROOT,
        help="a CelebA root (official layout) or any folder of images (default: %(default)s)",
    )
    p.add_argument(
        "--masks", default="rect", metavar="SPEC", help="mask spec, see below (default: rect)"
    )
    p.add_argument(
        "--limit",
        type=int,
        default=100,
        help="the first N images in sorted order; 0 = all (default: 100)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the masks (default: 0)")
    p.add_argument(
        "--methods",
        default=None,
        help=f"comma-separated: glcic (the network), {', '.join(CLASSICAL_METHODS)} (default: all "
        "that can run here; patchmatch needs PyPatchMatch's native library)",
    )
    p.add_argument(
        "--size",
        default=None,
        metavar=f"PX|{NATIVE_SIZE}",
        help=f"image side in px (default: the model's resolution), or {NATIVE_SIZE}: each image "
        "at its own size, through the pipeline with glcic inpaint's defaults",
    )
    p.add_argument(
        "--strategy",
        default=None,
        choices=STRATEGIES,
        help="the network's scale rule (default: original at a square size, the network alone "
        "as trained; auto with --size native); auto scores a model at a size it was not "
        "trained for as glcic inpaint runs it",
    )
    p.add_argument(
        "--split",
        default=None,
        help="CelebA partition: train, val, test or all (default: val); for a plain folder "
        "train or val is the split training makes of it (default: every image)",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=None,
        metavar="F",
        help="held-out share of a plain folder for --split (default: the model's training "
        "data.val_fraction, from its bundle)",
    )


def _size(text: str | None) -> int | str | None:
    """``--size``: an integer, or ``native``."""
    from glcic.errors import InputError

    if text is None or text.strip().lower() == NATIVE_SIZE:
        return text and NATIVE_SIZE
    try:
        return int(text)
    except ValueError:
        raise InputError(
            f"--size expects a side in pixels (e.g. 64) or {NATIVE_SIZE}; got {text!r}"
        ) from None


def run(args: argparse.Namespace) -> int:
    import json

    from glcic.errors import InputError
    from glcic.evaluation import evaluate, format_markdown

    if args.output is not None and not args.output.parent.is_dir():
        raise InputError(
            f"--output {args.output}: the folder {args.output.parent} does not exist; create it first"
        )
    same = ("model", "data", "masks", "limit", "seed", "methods", "split", "val_fraction", "grid",
            "lpips_weights", "fid_weights", "device", "precision", "strategy")  # fmt: skip
    report = evaluate(
        **{k: getattr(args, k) for k in same}, size=_size(args.size), save_masks_to=args.save_masks
    )
    if args.output is not None:
        from glcic.atomic import write_text_atomic

        write_text_atomic(args.output, json.dumps(report, indent=2, allow_nan=False) + "\n")
    print(format_markdown(report), end="")
    return 0
