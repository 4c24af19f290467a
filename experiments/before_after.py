"""The README's before-and-after picture: one photo, one painted hole, the model and Telea.

Columns: the input (hole in white), the model without blending (``--postprocess none``),
the model with the paper's blending (``--postprocess blend``), OpenCV Telea,
the original. Everything runs as ``glcic inpaint`` does (strategy ``auto``), so the
picture is the README's first command, not a picked crop.

    python experiments/before_after.py --model faces --image glcic/examples/astronaut.png \\
        --mask glcic/examples/astronaut_mask.png --output docs/images/astronaut_before_after.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glcic.classical import inpaint_classical
from glcic.evaluation import write_grid
from glcic.evaluation.images import blank_hole
from glcic.io import load_image, load_mask
from glcic.pipeline import InpaintPipeline


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="faces", help="a shipped model's name or a bundle folder")
    p.add_argument("--image", type=Path, required=True, help="the photo")
    p.add_argument("--mask", type=Path, required=True, help="its hole (white = hole)")
    p.add_argument("--output", type=Path, required=True, help="picture to write (.png)")
    args = p.parse_args(argv)
    image = load_image(args.image).rgb  # (H, W, 3) uint8, as glcic inpaint reads it
    hole = load_mask(args.mask, (image.shape[1], image.shape[0]))  # (H, W) bool
    known = blank_hole(image, hole)
    pipe = InpaintPipeline.from_pretrained(args.model)
    outs = [pipe(known, hole, postprocess="none"), pipe(known, hole, postprocess="blend"), inpaint_classical("telea", known, hole)]
    write_grid(args.output, [(known, image, outs)], ["glcic", "glcic + blend", "Telea"])  # known: the hole in white
    print(f"wrote {args.output} ({pipe.info['name']}, {image.shape[1]}x{image.shape[0]}, hole {hole.mean():.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
