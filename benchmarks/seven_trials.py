"""Issue 13's seven first-use trials, redone as one picture for docs/inference.md.

scikit-image's sample photos at 512 px (long side), masks drawn here (seeded): a
box over the astronaut's face, 3-5 px scribbles over the cat and the cameraman, a
blob over the coffee spoon and over the rocket, and 40 % boxes on the cat and the
coffee. Each row: the input with its hole (red), the old defaults (``auto`` by hole
box, no blending), today's defaults (``auto`` by hole depth, ``blend``) and Telea.
Prints the hole PSNR of each (the photos are the ground truth)::

    nice -n 10 python benchmarks/seven_trials.py --out docs/images/seven_trials.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from benchmarks.native_auto import old_auto  # noqa: E402
from glcic.metrics import hole_psnr  # noqa: E402
from glcic.pipeline import InpaintPipeline  # noqa: E402
from glcic.steps import run_classical  # noqa: E402

TILE_H = 112  # px: the height of one picture in the figure


def photo(name: str) -> np.ndarray:
    """A scikit-image sample photo, long side 512 px, RGB ``uint8`` (gray repeated)."""
    import skimage.data

    im = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    s = 512 / max(im.size)
    return np.asarray(im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.Resampling.LANCZOS))


def scribbles(hw: tuple[int, int], box: tuple[int, int, int, int], seed: int) -> np.ndarray:
    """Five 3-5 px wide random-walk strokes inside ``box`` (top, left, bottom, right)."""
    rng = np.random.default_rng(seed)
    m = np.zeros(hw, np.uint8)
    t, left, b, r = box
    for _ in range(5):
        p = np.array([rng.uniform(left, r), rng.uniform(t, b)])
        pts = [p.copy()]
        for _ in range(6):
            p = np.clip(p + rng.normal(0, 30, 2), [left, t], [r, b])
            pts.append(p.copy())
        cv2.polylines(m, [np.round(pts).astype(np.int32)], False, 1, int(rng.integers(3, 6)))
    return m > 0


def box40(hw: tuple[int, int], seed: int) -> np.ndarray:
    """A box of 40 % of the image's area (each side sqrt(0.4) of the image's), placed at random."""
    rng = np.random.default_rng(seed)
    h, w = hw
    bh, bw = round(h * 0.4**0.5), round(w * 0.4**0.5)
    top, left = int(rng.integers(0, h - bh)), int(rng.integers(0, w - bw))
    m = np.zeros(hw, bool)
    m[top : top + bh, left : left + bw] = True
    return m


def trials() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, image, hole)`` for the seven trials."""
    astro, cat, cam, coffee, rocket = (photo(n) for n in ("astronaut", "chelsea", "camera", "coffee", "rocket"))
    face = np.zeros(astro.shape[:2], bool)
    face[95:225, 165:265] = True
    spoon = np.zeros(coffee.shape[:2], np.uint8)
    cv2.ellipse(spoon, (312, 238), (42, 44), 0, 0, 360, 1, -1)
    cv2.line(spoon, (330, 205), (352, 62), 1, 22)
    ship = np.zeros(rocket.shape[:2], np.uint8)
    cv2.ellipse(ship, (258, 215), (22, 122), 0, 0, 360, 1, -1)
    return [
        ("astronaut: face box", astro, face),
        ("cat: 3-5 px scribbles", cat, scribbles(cat.shape[:2], (40, 120, 300, 400), 1)),
        ("cameraman: 3-5 px scribbles", cam, scribbles(cam.shape[:2], (60, 120, 420, 400), 2)),
        ("coffee: blob over the spoon", coffee, spoon > 0),
        ("rocket: blob over the rocket", rocket, ship > 0),
        ("cat: 40 % box", cat, box40(cat.shape[:2], 3)),
        ("coffee: 40 % box", coffee, box40(coffee.shape[:2], 4)),
    ]


def tile(a: np.ndarray) -> Image.Image:
    im = Image.fromarray(a)
    return im.resize((round(im.size[0] * TILE_H / im.size[1]), TILE_H), Image.Resampling.LANCZOS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs/images/seven_trials.png")
    args = ap.parse_args()
    pipe = InpaintPipeline.from_pretrained("default", precision="fp32")
    res = pipe.bundle_info.resolution
    rows, cols = [], ("input", "old defaults", "new defaults", "Telea")
    print("| trial | old: strategy | new: strategy, scale | hole PSNR old | new | Telea |\n|---|---|---|---|---|---|")
    for label, img, hole in trials():
        shown = img.copy()
        shown[hole] = (255, 0, 0)
        old_s = old_auto(hole, res)
        old = pipe(img, hole, strategy=old_s, postprocess="none")
        new = pipe.run(img, hole)
        telea = run_classical(img, hole, "telea", "none").image
        p = [hole_psnr(x, img, hole) for x in (old, new.image, telea)]
        print(f"| {label} | {old_s} | {new.strategy}, {new.scale:.3g} | {p[0]:.2f} | {p[1]:.2f} | {p[2]:.2f} |")
        rows.append((label, [tile(x) for x in (shown, old, new.image, telea)]))
    width = max(sum(t.size[0] for t in r) for _, r in rows) + 3 * 4
    fig = Image.new("RGB", (width, 16 + len(rows) * (TILE_H + 16)), "white")
    draw = ImageDraw.Draw(fig)
    x = 0
    for c, t in zip(cols, rows[0][1], strict=True):
        draw.text((x + 4, 2), c, fill="black")
        x += t.size[0] + 4
    for i, (label, tiles) in enumerate(rows):
        y = 16 + i * (TILE_H + 16)
        draw.text((4, y), label, fill="black")
        x = 0
        for t in tiles:
            fig.paste(t, (x, y + 14))
            x += t.size[0] + 4
    fig.quantize(256, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"\nwrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
