"""The face ablation of docs/ablations.md: the paper's baseline and each improvement alone.

Every variant is the ``ablation64`` preset (the paper's choices at 64 px, mixed holes) with
ONE override, except the final models' candidates, which combine two to five
(``skip+telea``, ``skip+biharmonic`` and the ``+residual`` rows). Each is
trained with ``glcic train`` for the same number of steps (the preset's ``t_c`` / ``t_d``
and ``--steps`` in all): equal step budgets, which unlike a wall-clock budget survive
interruptions and the project's two CPU kinds. The variants do not cost the same per step
(the biharmonic pre-fill about doubles it), so the table reports each variant's images/s
and training minutes beside its scores. Each is exported and evaluated with ``glcic
evaluate`` on the CelebA val partition with the literature's binned NVIDIA masks and the
``rect``, ``center`` and ``freeform`` sets (the same seeded holes for every variant; the
classical methods are scored once, in the ``paper`` variant's evaluation, on those same
holes).

Re-running the command continues where it stopped: a finished variant is skipped, an
interrupted one resumes from its last checkpoint (``--resume``). Nothing is written into
the repository except with ``--markdown``.

    python experiments/ablate.py --out ~/glcic-runs/ablation --steps 3500
    python experiments/ablate.py --out ~/glcic-runs/ablation --only paper,skip-links
    python experiments/ablate.py --out ~/glcic-runs/ablation --speed 40     # images/s, one pass
    python experiments/ablate.py --out ~/glcic-runs/ablation --report-only --markdown table.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from glcic.evaluation.report import family_scores
from glcic.options import DEFAULT_DATA_ROOT
from glcic.precision import cpu_model

PRESET = "ablation64"
VARIANTS: dict[str, list[str]] = {
    "mse-only": ["train.t_c=1000000"],  # never leaves the completion phase: eq. (1) alone
    "paper": [],
    # The paper's schedule with the adversarial term weighted 0: mse-only's control. The joint
    # phase also lowers the completion network's rate (lr_joint), which mse-only never does.
    "paper-alpha0": ["train.alpha=0"],
    "skip-links": ["model.skip=true"],
    "attributes": ["model.attributes=40"],  # the report's semi-supervised discriminator
    "tanh": ["model.output=tanh"],  # inputs in [-1, 1], tanh output
    "nonsaturating": ["train.nonsaturating=true"],
    "no-batch-norm": ["model.norm=none"],  # the paper and the report both use batch norm
    "label-smoothing": ["train.real_label=0.75"],  # one-sided, positives 0.75
    "telea-prefill": ["model.prefill=telea"],
    # Not one of the report's: the two that the scene yardstick found work together
    # (../shared/MEASUREMENTS.md), measured here as the final model's candidate.
    "skip+telea": ["model.skip=true", "model.prefill=telea"],
    # The same with the best classical answer on thin holes as the start (slower per step).
    "skip+biharmonic": ["model.skip=true", "model.prefill=biharmonic"],
    # The output as a correction of the pre-fill (model.residual): skip+biharmonic made its
    # biharmonic start worse on the thinnest holes; here keeping the start costs nothing.
    "skip+telea+residual": ["model.skip=true", "model.prefill=telea", "model.residual=true"],
    "skip+biharmonic+residual": ["model.skip=true", "model.prefill=biharmonic", "model.residual=true"],
    # And with every image's hole weighing the same in the losses (thin holes count as much as blobs).
    "skip+biharmonic+residual+per-image": ["model.skip=true", "model.prefill=biharmonic", "model.residual=true",
                                           "train.hole_weighting=image"],
    # And with an L1 term on the hole beside eq. (1), as the scene model's last steps: hole L1
    # is the other half of what a model must win, and MSE networks trail in it on large holes.
    "skip+biharmonic+residual+per-image+l1": ["model.skip=true", "model.prefill=biharmonic", "model.residual=true",
                                              "train.hole_weighting=image", "train.l1_weight=0.1"],
}
"""Variant name -> its overrides on the preset (beside the shared budget overrides): one
per variant, except the final models' candidates from ``skip+telea`` on, which combine them."""
BUDGET = ["train.ckpt_every=250"]
MASKS = ("nvidia-bins", "rect", "center", "freeform")
CLASSICAL = "telea,ns,biharmonic"
DATA = DEFAULT_DATA_ROOT


def run(cmd: list[str], log: Path) -> None:
    """Run a glcic command, its output appended to ``log``; stop the script if it fails."""
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
    if rc != 0:
        sys.exit(f"ablate: `{' '.join(cmd)}` exited {rc}; see {log}")


def train_variant(name: str, out: Path, steps: int) -> None:
    """Train (or finish training) one variant to ``steps`` steps; note its minutes and speed."""
    run_dir = out / name
    done = run_dir / "trained.json"
    if done.is_file():
        return
    cmd = ["glcic", "train", "--config", PRESET, "--run-dir", str(run_dir)]
    cmd += [a for o in [f"train.t_train={steps}", *BUDGET, *VARIANTS[name]] for a in ("--set", o)]
    if (run_dir / "checkpoints").is_dir():
        cmd.append("--resume")  # an interrupted variant continues where it stopped
    run_dir.mkdir(parents=True, exist_ok=True)
    run(cmd, run_dir / "ablate.log")
    rows = [json.loads(x) for x in (run_dir / "stats.jsonl").read_text().splitlines() if x.strip()]
    ticks = sorted((r["step"], r["speed/s_per_step"]) for r in rows if "speed/s_per_step" in r)
    seconds = sum(s_per * (step - prev) for (prev, _), (step, s_per) in zip([(0, 0.0), *ticks], ticks, strict=False))
    speeds = sorted(r["speed/images_per_s"] for r in rows if "speed/images_per_s" in r)
    done.write_text(json.dumps({
        "minutes": seconds / 60, "steps": ticks[-1][0] if ticks else 0, "cpu": cpu_model(),
        "images_per_s": speeds[len(speeds) // 2] if speeds else None,
    }) + "\n")


def evaluate_variant(name: str, out: Path, limit: int) -> None:
    """Export the variant's bundle and evaluate it on every mask set (once)."""
    run_dir = out / name
    bundle = run_dir / "bundle"
    if not (bundle / "config.json").is_file():
        run(["glcic", "export", str(run_dir), "--output", str(bundle), "--name", f"ablation-{name}"],
            run_dir / "ablate.log")
    methods = "glcic," + CLASSICAL if name == "paper" else "glcic"
    for spec in MASKS:
        report = run_dir / f"eval_{spec}.json"
        if report.is_file():
            continue
        run(["glcic", "evaluate", "--model", str(bundle), "--data", DATA, "--split", "val",
             "--masks", spec, "--limit", str(limit), "--methods", methods, "--precision", "fp32",
             "--output", str(report), "--grid", str(run_dir / f"grid_{spec}.png")], run_dir / "ablate.log")


def speed_pass(names: list[str], out: Path, steps: int) -> None:
    """Time every variant's completion and joint phases in one run (``out/speed.json``).

    The training logs' speeds depend on what else ran at the time (and on the threads a
    resumed run got), so the table's images/s come from this pass instead: ``steps`` steps
    of each phase per variant, one after another, the pre-fill and the data pipeline
    included; the last log tick (after warm-up) counts. Compare only within one pass."""
    import shutil

    speeds: dict[str, dict[str, float]] = {}
    for name in names:
        for phase, sched in (("completion", ["train.t_c=1000000"]), ("joint", ["train.t_c=0", "train.t_d=0"])):
            run_dir = out / "_speed" / f"{name}_{phase}"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir(parents=True)
            overrides = [*VARIANTS[name], *sched, f"train.log_every={max(1, steps // 2)}", "train.ckpt_every=1000000",
                         "train.sample_every=1000000"]  # fmt: skip
            cmd = ["glcic", "train", "--config", PRESET, "--run-dir", str(run_dir), "--max-steps", str(steps)]
            run(cmd + [a for o in overrides for a in ("--set", o)], run_dir / "ablate.log")
            rows = [json.loads(x) for x in (run_dir / "stats.jsonl").read_text().splitlines() if x.strip()]
            speeds.setdefault(name, {})[phase] = [r["speed/images_per_s"] for r in rows if "speed/images_per_s" in r][-1]
            print(f"ablate: speed {name} {phase}: {speeds[name][phase]:.0f} images/s", flush=True)
    (out / "speed.json").write_text(json.dumps({"cpu": cpu_model(), "steps": steps, "images_per_s": speeds}) + "\n")


def table(out: Path, names: list[str]) -> str:
    """One markdown table: hole PSNR / hole L1 / SSIM per mask family, images/s, minutes."""
    def scores(report: dict, method: str) -> dict[str, tuple[float, float, float]]:
        return {f: (m["hole_psnr"], m["hole_l1"], m["ssim"]) for f, m in family_scores(report, method).items()}

    rows, families = [], []
    for name in names:
        run_dir = out / name
        if not (run_dir / "trained.json").is_file():
            continue
        meta = json.loads((run_dir / "trained.json").read_text())
        fams: dict[str, tuple[float, float, float]] = {}
        for spec in MASKS:
            p = run_dir / f"eval_{spec}.json"
            if p.is_file():
                fams.update(scores(json.loads(p.read_text()), "glcic"))
        families = families or list(fams)
        rows.append((name, meta, fams))
    paper = out / "paper"
    classical = []
    for method in CLASSICAL.split(","):
        fams = {}
        for spec in MASKS:
            p = paper / f"eval_{spec}.json"
            if p.is_file():
                fams.update(scores(json.loads(p.read_text()), method))
        if fams:
            classical.append((method, fams))
    speed = json.loads((out / "speed.json").read_text()) if (out / "speed.json").is_file() else None
    head = "| variant | " + " | ".join(families) + " | images/s | minutes |"
    lines = [head, "|" + "---|" * (len(families) + 3)]
    for name, meta, fams in rows:
        cells = [f"{fams[f][0]:.2f} / {fams[f][1]:.3f} / {fams[f][2]:.3f}" if f in fams else "—" for f in families]
        if speed is not None and name in speed["images_per_s"]:  # one pass: comparable
            ips = "{completion:.0f} / {joint:.0f}".format(**speed["images_per_s"][name])
        else:
            ips = f"{meta['images_per_s']:.0f} (log)" if meta.get("images_per_s") else "—"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ips} | {meta['minutes']:.1f} |")
    for method, fams in classical:
        cells = [f"{fams[f][0]:.2f} / {fams[f][1]:.3f} / {fams[f][2]:.3f}" if f in fams else "—" for f in families]
        lines.append(f"| {method} (classical) | " + " | ".join(cells) + " | — | — |")
    note = "\n\nCells: hole PSNR (dB) / hole L1 / SSIM, CelebA val at 64 px. "
    if speed is not None:
        note += f"images/s: completion / joint phase, one `--speed` pass on {speed['cpu']}. "
    note += "minutes: the variant's own training time (from its log).\n"
    return "\n".join(lines) + note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the runs (outside the repository)")
    p.add_argument("--steps", type=int, default=3500, help="training steps of every variant (all three phases)")
    p.add_argument("--limit", type=int, default=0, help="val faces per evaluation (0 = all 780)")
    p.add_argument("--only", default="", help="comma-separated variants (default: all, in order)")
    p.add_argument("--report-only", action="store_true", help="only print the table of what is done")
    p.add_argument("--markdown", type=Path, help="also write the table here")
    p.add_argument("--speed", type=int, default=0, metavar="STEPS",
                   help="only time every variant's completion and joint phases, STEPS steps each, in one pass")
    args = p.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.speed:
        speed_pass(names, args.out, args.speed)
    elif not args.report_only:
        for name in names:
            print(f"ablate: {name}", flush=True)
            train_variant(name, args.out, args.steps)
            evaluate_variant(name, args.out, args.limit)
    md = table(args.out, names)
    print(md)
    if args.markdown:
        args.markdown.write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
