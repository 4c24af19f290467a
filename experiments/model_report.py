"""A shipped model's evidence: every hole family, every classical method, every margin.

Evaluates one model (a shipped name or a bundle folder) on a val split at its own
resolution with ``glcic.evaluation.evaluate``: the paper's rectangles, the centred
square, local ``freeform`` strokes, image-scale ``strokes`` and ``blobs``, and the
literature's NVIDIA bins; against Telea, Navier-Stokes and biharmonic on every image,
and against OpenCV contrib's FSR (about a second a call) on the first ``--fsr-limit``
images. With ``--against OTHER`` the other model is scored on exactly the same images
and holes (the masks are saved by the first run and read back), so a new model can be
compared with the one it replaces.

Prints one markdown table: per family, the model's hole PSNR and hole L1, the best
classical method's (Telea, Navier-Stokes, biharmonic, PatchMatch), and the margins
(positive = the model is better); the margin over PatchMatch on its own; and the texture
of the fills (``glcic.metrics.texture_metrics``, medians over the images): the model's
detail beside PatchMatch's (1 = the photo's own texture), and the model's grid peaks at
4 px and 2 px beside the photo's own (about 1). Every evaluation is written as JSON (and
a grid) into ``--out`` and skipped when already there, so an interrupted report
continues (a cached report from before PatchMatch or the texture measures shows ``—``
there; delete it to measure again). Model cards quote this table.

    python experiments/model_report.py --model faces --data ../shared/data/celeba --out ~/glcic-runs/report-faces
    python experiments/model_report.py --model scenes --data ../shared/data/scenes/images \\
        --out ~/glcic-runs/report-scenes --markdown ~/glcic-runs/report-scenes/table.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from glcic.classical import available_methods
from glcic.evaluation import evaluate, family_scores

SPECS = ("rect", "center", "freeform", "strokes", "blobs", "nvidia-bins")
CLASSICAL = ("telea", "ns", "biharmonic", "patchmatch")
"""Scored on every image; ``fsr`` (slow) on the first ``--fsr-limit``. ``patchmatch`` is left
out (with a note) where PyPatchMatch cannot run."""
SEED = 0


def cached(path: Path, **kwargs: Any) -> dict[str, Any]:
    """The report at ``path``; when missing, ``evaluate(**kwargs)``, written there."""
    if path.is_file():
        return json.loads(path.read_text())
    report = evaluate(**kwargs)
    path.write_text(json.dumps(report) + "\n")
    return report


def evaluate_all(args: argparse.Namespace) -> dict[str, dict[str, dict[str, Any]]]:
    """Every evaluation of the report: ``{"main" | "fsr" | "against": {spec: report}}``."""
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    common = dict(model=args.model, data=args.data, split="val", seed=SEED, limit=args.limit,
                  precision="fp32", progress=False, size=args.size or None)  # fmt: skip
    done: dict[str, dict[str, dict[str, Any]]] = {"main": {}, "fsr": {}, "against": {}}
    for spec in args.specs:
        print(f"model_report: {spec}", flush=True)
        masks_dir = out / f"masks_{spec}"
        done["main"][spec] = main = cached(
            out / f"{spec}.json", **common, masks=spec, methods=["glcic", *args.classical],
            grid=out / f"grid_{spec}.png", save_masks_to=masks_dir,
        )  # fmt: skip
        if args.fsr_limit:
            done["fsr"][spec] = cached(
                out / f"{spec}_fsr.json", **(common | {"limit": args.fsr_limit}), masks=spec,
                methods=["glcic", "fsr"],
            )  # fmt: skip
        if args.against:
            # The same images and holes: the first run's masks, read back in order (one
            # folder per bin for nvidia-bins), at the first model's resolution; a model
            # trained at another resolution runs there as `glcic inpaint` would run it.
            other = common | {"model": args.against, "size": main["size"], "strategy": args.against_strategy}
            for f in sorted(p for p in masks_dir.iterdir() if p.is_dir()) or [masks_dir]:
                fam = f"nvidia {f.name}%" if spec == "nvidia-bins" else spec
                done["against"].setdefault(spec, {})[fam] = cached(
                    out / f"{spec}_against_{f.name}.json", **other, masks=str(f), methods=["glcic"]
                )
    return done


def texture(s: dict[str, Any] | None) -> tuple[float | None, float | None, float | None]:
    """``(detail, grid 4 px, grid 2 px)`` medians of a summary; None where not measured."""
    s = s or {}
    return s.get("detail_median"), s.get("grid_peak_4_median"), s.get("grid_peak_2_median")


def rows(done: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per family: the model, the best classical method, PatchMatch, the texture
    measures, fsr, the other model."""
    table = []
    for spec, report in done["main"].items():
        model = family_scores(report, "glcic")
        ran = [m for m in CLASSICAL if m in report["methods"]]  # a cached report may lack patchmatch
        classical = {m: family_scores(report, m) for m in ran}
        original = family_scores(report, "original")
        fsr = done["fsr"].get(spec)
        for fam, g in model.items():
            best_psnr = max(ran, key=lambda m: classical[m][fam]["hole_psnr"])
            best_l1 = min(ran, key=lambda m: classical[m][fam]["hole_l1"])
            row = {"family": fam, "n": g["n_images"], "psnr": g["hole_psnr"], "l1": g["hole_l1"],
                   "best_psnr": (best_psnr, classical[best_psnr][fam]["hole_psnr"]),
                   "best_l1": (best_l1, classical[best_l1][fam]["hole_l1"]),
                   "texture": texture(g), "photo": texture(original.get(fam))}  # fmt: skip
            if "patchmatch" in classical:
                pm = classical["patchmatch"][fam]
                row["patchmatch"] = (g["hole_psnr"] - pm["hole_psnr"], pm["hole_l1"] - g["hole_l1"], texture(pm)[0])
            if fsr is not None:
                f_model, f_fsr = family_scores(fsr, "glcic")[fam], family_scores(fsr, "fsr")[fam]
                row["fsr"] = (f_model["hole_psnr"] - f_fsr["hole_psnr"], f_fsr["hole_l1"] - f_model["hole_l1"], f_fsr["n_images"])
            other = done["against"].get(spec, {}).get(fam)
            if other is not None:
                o = family_scores(other, "glcic")[other["masks"]]
                row["against"] = (g["hole_psnr"] - o["hole_psnr"], o["hole_l1"] - g["hole_l1"], texture(o))
            table.append(row)
    return table


def _num(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def markdown(table: list[dict[str, Any]], title: str) -> str:
    """The table: margins are model minus best (PSNR) and best minus model (L1), so > 0 wins."""
    has_fsr = any("fsr" in r for r in table)
    has_other = any("against" in r for r in table)
    head = ["holes", "images", "model hole PSNR", "best classical", "margin (dB)",
            "model hole L1", "best classical", "L1 margin", "vs patchmatch (dB / L1)",
            "detail: model / patchmatch", "grid peaks 4 / 2 px: model (photo)"]  # fmt: skip
    head += ["vs fsr (dB / L1)"] if has_fsr else []
    head += ["vs the other model (dB / L1; its detail, grid peaks)"] if has_other else []
    lines = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        (bp, bpv), (bl, blv) = r["best_psnr"], r["best_l1"]
        (d, g4, g2), (_, p4, p2) = r["texture"], r["photo"]
        pm = r.get("patchmatch")
        cells = [r["family"], str(r["n"]), f"{r['psnr']:.2f}", f"{bp} {bpv:.2f}", f"{r['psnr'] - bpv:+.2f}",
                 f"{r['l1']:.4f}", f"{bl} {blv:.4f}", f"{blv - r['l1']:+.4f}",
                 f"{pm[0]:+.2f} / {pm[1]:+.4f}" if pm else "—",
                 f"{_num(d)} / {_num(pm[2] if pm else None)}",
                 f"{_num(g4)} / {_num(g2)} ({_num(p4)} / {_num(p2)})"]  # fmt: skip
        if has_fsr:
            cells.append(f"{r['fsr'][0]:+.2f} / {r['fsr'][1]:+.4f} (n={r['fsr'][2]})" if "fsr" in r else "—")
        if has_other:
            if "against" in r:
                dp, dl, (od, o4, o2) = r["against"]
                cells.append(f"{dp:+.2f} / {dl:+.4f} ({_num(od)}; {_num(o4)} / {_num(o2)})")
            else:
                cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    lost = [r["family"] for r in table if r["psnr"] <= r["best_psnr"][1] or r["l1"] >= r["best_l1"][1]]
    lines += ["", "Margins > 0: the model is better. " + (
        f"Not ahead of the best classical method on: {', '.join(lost)}." if lost
        else "Ahead of the best classical method on every family, in hole PSNR and hole L1.")]  # fmt: skip
    lines += ["", "Detail: the fill's mean gradient over the hole's interior over the photo's (1 = the "
              "photo's own texture, a blur far below); grid peaks: the fill's fine detail on the decoder's "
              "4 px and 2 px frequency lines over nearby lines (a photo reads about 1); medians over the "
              "images (docs/evaluation.md). Detail counts only with grid peaks near 1 and a picture."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a shipped model's name or a bundle folder")
    p.add_argument("--data", required=True, help="a CelebA root or a folder (its training val split is used)")
    p.add_argument("--out", type=Path, required=True, help="folder for the JSON reports, grids and masks")
    p.add_argument("--limit", type=int, default=0, help="val images per evaluation (0 = all)")
    p.add_argument("--fsr-limit", type=int, default=100, help="images scored with fsr (0 = skip it)")
    p.add_argument("--size", type=int, default=0, help="square side (default: the model's resolution)")
    p.add_argument("--against", help="another model scored on the same images and holes")
    p.add_argument("--against-strategy", default="auto",
                   help="how --against runs at this size (default auto: as glcic inpaint would)")
    p.add_argument("--specs", default=",".join(SPECS), help=f"mask families (default {','.join(SPECS)})")
    p.add_argument("--markdown", type=Path, help="also write the table here")
    args = p.parse_args(argv)
    args.specs = [s for s in args.specs.split(",") if s]
    args.classical = [m for m in CLASSICAL if m in available_methods()]
    if len(args.classical) < len(CLASSICAL):
        print(f"model_report: leaving out {', '.join(sorted(set(CLASSICAL) - set(args.classical)))}: "
              "it cannot run here (glcic.classical.unavailable_methods() says why)", flush=True)  # fmt: skip
    table = rows(evaluate_all(args))
    title = f"`{args.model}` on the val split of `{args.data}` (seed {SEED})"
    if args.against:
        title += f", beside `{args.against}` on the same holes"
    md = markdown(table, title)
    print(md)
    if args.markdown:
        args.markdown.write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
