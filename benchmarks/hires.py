"""High-resolution benchmark: object removal on real photos at 2048 px and at native size.

The 13 photos of ``../shared/data/hires/`` (1.4-7 MP; CC-BY / CC-BY-SA / CC0, see its
``LICENSES.md``; never committed), each with three seeded holes drawn at 2048 px (long
side) and scaled with the photo (nearest neighbour) to every other size:

- ``blobs``: one object-removal blob of 3.5-10 % of the photo (:func:`glcic.data.mask_mix.blob`);
- ``boxes``: one rectangle of about 9 % (aspect 0.6-1.6);
- ``scribbles``: thin wires, 9 px wide at 2048 px, about 2 % of the photo.

Sizes: ``2048`` (the photo scaled to 2048 px on its long side), ``native`` (as stored),
``12mp`` (scaled up to 4032 px, 12 MP: a phone photo's size; bicubic, so its own detail
is a 3072 px photo's) and ``40mp`` (7744 px, the CLI's default limit).

Each method runs in a **fresh process** per size (``--worker``), the way ``glcic inpaint``'s
folder mode runs it: the CLI's own runner (:func:`glcic.commands.inpaint.build_runner`) with
its defaults, built once, then every photo of the size in turn. Per photo, the seconds
of the completion call (decoding and encoding the files excluded: the same for every
method), wall clock and CPU time (all threads: on a shared machine the fairer comparison of
a 2-thread network with single-threaded OpenCV); per process, the peak resident memory (``ru_maxrss`` of the worker, from
``os.wait4``: everything the process held, torch and the decoded photo included).
Scores against the photo: hole PSNR, hole L1 (x100) and the hole detail ratio
(:func:`glcic.metrics.hole_detail`, median over photos).

    python benchmarks/hires.py --quick                     # 4 photos, 2048 px: development
    python benchmarks/hires.py --output docs/inference.md  # the table in the docs, and the grid
    python benchmarks/hires.py --sizes 12mp,40mp --families scribbles,blobs --methods glcic,telea

The grid (``--grid``, default ``docs/images/hires_grid.png``) shows 1:1 crops at 2048 px
around the hole of a few CC-BY / CC0 photos: input (hole in magenta), each method, the photo.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from glcic.options import DEFAULT_POSTPROCESS  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "hires"
FAMILIES = ("blobs", "boxes", "scribbles")
METHODS = ("glcic", "glcic-refine", "telea", "ns", "patchmatch")
"""``glcic-STRATEGY`` is the network with ``--strategy STRATEGY`` (``glcic`` alone: the default)."""
SIZES = {"2048": 2048, "native": None, "12mp": 4032, "40mp": 7744}
WIRE_PX = 9
"""Scribble width at 2048 px; scaled with the photo."""
MASK_SIDE = 2048
QUICK_PHOTOS = ("sunset-aitzol_berasategi", "seeding-clements_engelhardt", "life-aitzol_berasategi",
                "picture_0b-freespace")
GRID_PHOTOS = (("sunset-aitzol_berasategi", "blobs"), ("seeding-clements_engelhardt", "boxes"),
               ("life-aitzol_berasategi", "blobs"), ("picosdeeuropa-aitzol_berasategi", "boxes"),
               ("picture_0b-freespace", "scribbles"))
"""CC-BY-4.0 and CC0 photos only in the grid (no share-alike derivative in docs/)."""
CREDITS = {
    "sunset-aitzol_berasategi": "Aitzol Berasategi, 2018, CC-BY-4.0",
    "seeding-clements_engelhardt": "Clemens Engelhardt, 2018, CC0-1.0",
    "life-aitzol_berasategi": "Aitzol Berasategi, 2018, CC-BY-4.0",
    "picosdeeuropa-aitzol_berasategi": "Aitzol Berasategi, 2018, CC-BY-4.0",
    "picture_0b-freespace": 'Trevor "Freespace", 2018, CC-BY-4.0',
}
MARK_START, MARK_END = "<!-- hires:start -->", "<!-- hires:end -->"


# --------------------------------------------------------------------------- holes


def make_hole(family: str, hw: tuple[int, int], seed: int) -> np.ndarray:
    """A seeded hole at ``hw`` (drawn at 2048 px long side, scaled): ``bool`` (H, W)."""
    from glcic.data.mask_mix import blob, draw_stroke, turning_angles

    h, w = hw
    s = MASK_SIDE / max(h, w)
    mh, mw = round(h * s), round(w * s)
    rng = np.random.default_rng(seed)
    if family == "blobs":
        m = blob((mh, mw), rng.uniform(0.035, 0.10), rng)
    elif family == "boxes":
        aspect = rng.uniform(0.6, 1.6)
        bh = min(mh - 2, round(math.sqrt(0.09 * mh * mw / aspect)))
        bw = min(mw - 2, round(0.09 * mh * mw / bh))
        top, left = int(rng.integers(0, mh - bh + 1)), int(rng.integers(0, mw - bw + 1))
        m = np.zeros((mh, mw), np.uint8)
        m[top : top + bh, left : left + bw] = 1
    elif family == "scribbles":
        m = np.zeros((mh, mw), np.uint8)
        while m.mean() < 0.02:
            draw_stroke(m, rng, WIRE_PX, int(rng.integers(4, 9)), math.hypot(mh, mw) / 8, turning_angles(rng),
                        margin=WIRE_PX)
    else:
        raise SystemExit(f"unknown hole family {family!r}; pick from {', '.join(FAMILIES)}")
    if (mh, mw) != (h, w):
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
    return m > 0


def photo_at(path: Path, size: str) -> np.ndarray:
    """The photo at ``size`` (a key of :data:`SIZES`): RGB ``uint8`` (H, W, 3)."""
    from glcic.io import load_image

    rgb = load_image(path, max_pixels=None).rgb
    side = SIZES[size]
    h, w = rgb.shape[:2]
    if side is None or side == max(h, w):
        return rgb
    s = side / max(h, w)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=interp)


# --------------------------------------------------------------------------- worker


def worker(args: argparse.Namespace) -> None:
    """One method over every case of a folder, the folder mode's way; one JSON line per photo."""
    from glcic.commands.inpaint import build_runner
    from glcic.io import load_image, load_mask, save_image

    method, _, strategy = args.worker.partition("-")  # glcic-refine: glcic with --strategy refine
    ns = argparse.Namespace(method=method, postprocess=DEFAULT_POSTPROCESS, model="default", device="cpu",
                            precision="auto", backend="torch", strategy=strategy or args.strategy)
    run, _ = build_runner(ns)
    cases = Path(args.cases)
    out = Path(args.results)
    for img in sorted((cases / "images").glob("*.png")):
        loaded = load_image(img, max_pixels=None)
        hole = load_mask(cases / "masks" / img.name, size=loaded.size, max_pixels=None)
        t0, c0 = time.perf_counter(), time.process_time()
        res = run(loaded, hole)
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        save_image(out / img.name, res.image)
        print(json.dumps({"case": img.stem, "seconds": sec, "cpu_seconds": cpu, "strategy": res.strategy, "scale": res.scale}),
              flush=True)


def run_worker(method: str, cases: Path, results: Path, strategy: str) -> tuple[list[dict], float]:
    """Run :func:`worker` in a fresh process; its lines and its peak RSS (MB)."""
    results.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--worker", method, "--cases", str(cases), "--results", str(results),
           "--strategy", strategy]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    lines = proc.stdout.read().splitlines() if proc.stdout else []
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"worker {method} failed on {cases} (exit {proc.returncode})")
    return [json.loads(x) for x in lines if x.startswith("{")], usage.ru_maxrss / 1024


# --------------------------------------------------------------------------- scoring


def score(results: Path, cases: Path, truth: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    from glcic.io import load_image, load_mask
    from glcic.metrics import hole_detail, hole_l1, hole_psnr

    out = {}
    for case, gt in truth.items():
        pred = load_image(results / f"{case}.png", max_pixels=None).rgb
        hole = load_mask(cases / "masks" / f"{case}.png", max_pixels=None)
        p, t = pred.astype(np.float32) / 255, gt.astype(np.float32) / 255
        out[case] = {"psnr": hole_psnr(p, t, hole), "l1": hole_l1(p, t, hole), "detail": hole_detail(p, t, hole)}
    return out


def summary_rows(records: list[dict], sizes: list[str], families: list[str], methods: list[str]) -> list[list[str]]:
    rows = []
    for size in sizes:
        for fam in families:
            for m in methods:
                rs = [r for r in records if r["size"] == size and r["family"] == fam and r["method"] == m]
                if not rs:
                    continue
                det = [r["detail"] for r in rs if math.isfinite(r["detail"])]
                mp = statistics.mean(r["mp"] for r in rs)
                rows.append([
                    size, fam, m, str(len(rs)), f"{mp:.1f}",
                    f"{statistics.mean(r['psnr'] for r in rs):.2f}",
                    f"{100 * statistics.mean(r['l1'] for r in rs):.2f}",
                    f"{statistics.median(det):.2f}" if det else "-",
                    f"{statistics.mean(r['seconds'] for r in rs):.2f}",
                    f"{statistics.mean(r['cpu_seconds'] for r in rs):.2f}",
                    f"{max(r['rss_mb'] for r in rs):.0f}",
                    ", ".join(sorted({r['strategy'] for r in rs})) if m.startswith("glcic") else "",
                ])
    return rows


HEADERS = ["size", "holes", "method", "photos", "MP", "hole PSNR", "hole L1 x100", "detail (median)",
           "s / photo", "CPU s / photo", "peak RSS MB", "glcic ran"]


# --------------------------------------------------------------------------- grid


GRID_METHODS = ("glcic", "glcic-refine", "telea", "patchmatch")
"""The grid's columns, of the methods that ran (besides the input and the photo)."""


def crop_window(hole: np.ndarray, crop: int, family: str) -> tuple[slice, slice]:
    """A ``crop`` square of ``hole`` ``(H, W)`` to show a fill at 1:1: centred on the hole pixel
    nearest the hole's middle, or for a blob or a box on its top edge (a quarter down: photo
    above, fill below); kept inside the image."""
    ys, xs = np.nonzero(hole)
    k = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
    cy, cx = int(ys[k]), int(xs[k])
    if family != "scribbles":
        cy = int(np.flatnonzero(hole[:, cx])[0]) + crop // 4
    h, w = hole.shape
    top, left = int(np.clip(cy - crop // 2, 0, h - crop)), int(np.clip(cx - crop // 2, 0, w - crop))
    return slice(top, top + crop), slice(left, left + crop)


def draw_grid(work: Path, methods: list[str], path: Path, crop: int = 160) -> None:
    """1:1 crops at 2048 px where the hole meets the photo: input (hole in magenta), the
    :data:`GRID_METHODS` that ran, the photo; one row per :data:`GRID_PHOTOS` case."""
    from glcic.io import load_image, load_mask

    cases = [f"{photo}_{fam}" for photo, fam in GRID_PHOTOS if (work / "2048" / "images" / f"{photo}_{fam}.png").is_file()]
    methods = [m for m in GRID_METHODS if m in methods and all((work / "2048" / m / f"{c}.png").is_file() for c in cases)]
    rows = []
    for photo, fam in GRID_PHOTOS:
        case = f"{photo}_{fam}"
        cases = work / "2048"
        if not (cases / "images" / f"{case}.png").is_file():
            continue
        gt = load_image(cases / "truth" / f"{case}.png", max_pixels=None).rgb
        hole = load_mask(cases / "masks" / f"{case}.png", max_pixels=None)
        win = crop_window(hole, crop, fam)
        shown = gt.copy()
        shown[hole] = (255, 0, 255)  # magenta: rarer in photos than red
        tiles = [shown[win]]
        for m in methods:
            tiles.append(load_image(work / "2048" / m / f"{case}.png", max_pixels=None).rgb[win])
        tiles.append(gt[win])
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in tiles], 1))
    if not rows:
        return
    grid = np.concatenate(rows, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"(grid written to {path}: columns input, {', '.join(methods)}, photo)", file=sys.stderr)


# --------------------------------------------------------------------------- main


def write_block(path: Path, markdown: str) -> None:
    from glcic.atomic import write_text_atomic

    block = f"{MARK_START}\n{markdown.rstrip()}\n{MARK_END}\n"
    text = path.read_text() if path.is_file() else ""
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + "\n" + rest.split(MARK_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip() + "\n\n" + block
    write_text_atomic(path, text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=f"{len(QUICK_PHOTOS)} photos, 2048 px only")
    p.add_argument("--sizes", default="2048,native", help=f"comma-separated, from {', '.join(SIZES)}")
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--strategy", default="auto", help="glcic's --strategy (default auto)")
    p.add_argument("--photos", type=int, default=0, help="use only the first N photos (0 = all)")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--work", type=Path, default=None, help="where cases and results go (default: a temp folder)")
    p.add_argument("--output", type=Path, default=None, help=f"write the table into this Markdown file between {MARK_START} and {MARK_END}")
    p.add_argument("--grid", type=Path, default=None, help="write the 1:1 crop grid here (PNG; with --output: docs/images/hires_grid.png)")
    p.add_argument("--json", type=Path, default=None, help="also write every per-photo record here (JSON lines)")
    p.add_argument("--note", default="", help="a line under the table (e.g. the machine's load)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--cases", default=None, help=argparse.SUPPRESS)
    p.add_argument("--results", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    from glcic.io import save_image
    from glcic.precision import cpu_model

    sizes = ["2048"] if args.quick else args.sizes.split(",")
    families, methods = args.families.split(","), args.methods.split(",")
    for f in families:
        if f not in FAMILIES:
            raise SystemExit(f"--families: unknown hole family {f!r}; pick from {', '.join(FAMILIES)}")
    for s in sizes:
        if s not in SIZES:
            raise SystemExit(f"--sizes: unknown size {s!r}; pick from {', '.join(SIZES)}")
    photos = sorted(args.data.glob("*.jpg"))
    index = {q.stem: i for i, q in enumerate(photos)}  # seeds by the full set: --quick draws the same holes
    if not photos:
        raise SystemExit(f"no photos (*.jpg) in {args.data}; see ../shared/data/hires/LICENSES.md")
    if args.quick:
        photos = [q for q in photos if q.stem in QUICK_PHOTOS]
    if args.photos:
        photos = photos[: args.photos]
    work = args.work or Path(tempfile.mkdtemp(prefix="glcic-hires-"))
    load0 = os.getloadavg()
    records: list[dict] = []
    for size in sizes:
        cases = work / size
        truth: dict[str, np.ndarray] = {}
        for path in photos:
            rgb = photo_at(path, size)
            for fam in families:
                case = f"{path.stem}_{fam}"
                hole = make_hole(fam, rgb.shape[:2], seed=1000 * index[path.stem] + FAMILIES.index(fam))
                truth[case] = rgb
                for sub in ("images", "masks", "truth"):
                    (cases / sub).mkdir(parents=True, exist_ok=True)
                if not (cases / "images" / f"{case}.png").is_file():
                    save_image(cases / "truth" / f"{case}.png", rgb)
                    save_image(cases / "images" / f"{case}.png", np.where(hole[:, :, None], 0, rgb).astype(np.uint8))
                    save_image(cases / "masks" / f"{case}.png", hole.astype(np.uint8) * 255)
        for m in methods:
            label = m if m != "glcic" or args.strategy == "auto" else f"glcic-{args.strategy}"
            lines, rss = run_worker(label, cases, cases / label, args.strategy)
            scores = score(cases / label, cases, truth)
            for ln in lines:
                fam = ln["case"].rsplit("_", 1)[1]
                h, w = truth[ln["case"]].shape[:2]
                rec = {"size": size, "method": label, "family": fam, "rss_mb": rss, "mp": h * w / 1e6, **ln,
                       **scores[ln["case"]]}
                records.append(rec)
                print(json.dumps(rec), file=sys.stderr)
    labels = [m if m != "glcic" or args.strategy == "auto" else f"glcic-{args.strategy}" for m in methods]
    rows = summary_rows(records, sizes, families, labels)
    cpu = cpu_model()
    md = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {cpu} ({os.cpu_count()} cores), "
          f"load average at start {load0[0]:.1f}{' (quick run: ' + str(len(photos)) + ' photos)' if args.quick else ''}; "
          f"`python benchmarks/hires.py {' '.join(argv if argv is not None else sys.argv[1:])}`."]
    if args.note:
        md.append(args.note)
    table = "\n".join(md) + "\n\n" + "| " + " | ".join(HEADERS) + " |\n|" + "---|" * len(HEADERS) + "\n"
    table += "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n"
    print(table)
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in records))
    grid = args.grid or (REPO / "docs/images/hires_grid.png" if args.output else None)
    if grid is not None and "2048" in sizes:
        draw_grid(work, labels, grid)
    if args.output:
        write_block(args.output, table)
        print(f"(written to {args.output})", file=sys.stderr)
    print(f"(cases and results in {work})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
