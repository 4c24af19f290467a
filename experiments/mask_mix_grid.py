"""Draw docs/images/mask_mix_grid.png: 32 masks of ``mask.kind=mix`` and its hole-area histogram.

    python experiments/mask_mix_grid.py --output docs/images/mask_mix_grid.png

Masks at 128 px with the face preset's rectangle settings scaled to 128 (32-64 px holes in
a 64 px window), the default weights and area range, seed 0; white = hole, the red square
is each mask's local-discriminator window.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from glcic.config import MaskConfig
from glcic.data.masks import build_mask_generator

SIZE, LOCAL, COLS, ROWS, PAD = 128, 64, 8, 4, 4


def grid(gen, g: torch.Generator) -> Image.Image:
    """ROWS x COLS masks with their windows."""
    w, h = COLS * (SIZE + PAD) + PAD, ROWS * (SIZE + PAD) + PAD
    canvas = Image.new("RGB", (w, h), (90, 90, 90))
    draw = ImageDraw.Draw(canvas)
    for i in range(ROWS * COLS):
        m, (y, x) = gen(g)  # (1, H, W), window corner
        tile = Image.fromarray((m[0].numpy() * 255).astype(np.uint8)).convert("RGB")
        ox, oy = PAD + (i % COLS) * (SIZE + PAD), PAD + (i // COLS) * (SIZE + PAD)
        canvas.paste(tile, (ox, oy))
        draw.rectangle([ox + x, oy + y, ox + x + LOCAL - 1, oy + y + LOCAL - 1], outline=(230, 40, 40))
    return canvas


def histogram(gen, g: torch.Generator, n: int, width: int) -> Image.Image:
    """The hole-area histogram of ``n`` draws, in the NVIDIA bins' 10 % steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    areas = [gen(g)[0].mean().item() * 100 for _ in range(n)]
    fig, ax = plt.subplots(figsize=(width / 100, 2.2), dpi=100)
    ax.hist(areas, bins=np.arange(0, 65, 2.5), color="#446", edgecolor="white")
    ax.set_xlabel("hole area (% of the image)")
    ax.set_ylabel(f"masks (of {n})")
    ax.set_xticks(range(0, 65, 10))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return Image.open(buf).convert("RGB")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--draws", type=int, default=2000, help="masks in the histogram")
    args = p.parse_args(argv)
    gen = build_mask_generator(MaskConfig(kind="mix", hole_min=32, hole_max=64, local_size=LOCAL), SIZE)
    top = grid(gen, torch.Generator().manual_seed(0))
    bottom = histogram(gen, torch.Generator().manual_seed(1), args.draws, top.width)
    out = Image.new("RGB", (top.width, top.height + bottom.height), (255, 255, 255))
    out.paste(top, (0, 0))
    out.paste(bottom, (0, top.height))
    out.save(args.output, optimize=True)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
