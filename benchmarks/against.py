"""Side-by-side timing of an older commit and the working tree, alternating, in one run.

The machine is shared and its speed drifts by +-20 % between minutes, so two
benchmark runs made at different times cannot be compared. Here each case runs in a
fresh process for the old commit (checked out as a git worktree under /tmp, removed
afterwards) and for the working tree, alternately (old, new, new, old, ...), round
after round, and every row prints the ratio of the two medians. Both trees are driven
through interfaces that every version has:

- training: ``python -m glcic.cli train --config PRESET --max-steps N`` with ``t_c`` /
  ``t_d`` set so that the timed phase runs from step 0, on ``data.max_images`` images of
  the preset's data (256 images, no extra roots); the step time is the median over the
  log ticks after the warm-up steps of ``speed/s_per_step`` in ``stats.jsonl``, so it
  includes the loop's own batch preparation and logging, as a real run does;
- inference: ``InpaintPipeline.from_pretrained(BUNDLE)`` and its ``_run_net`` (the
  network call of the pipeline: bf16 autocast and channels_last on CPUs with native
  bf16) on a 512x512 image with a centred square hole, median over calls. BUNDLE is the
  model the old commit shipped (``glcic/weights/default``, else ``glcic/weights/faces``
  of the old tree), in both trees: the same network, and old code cannot read newer
  bundles (their config keys are unknown to it). Where a tree's network has the method
  ``for_inference`` (batch norm folded, before the pipeline folded by itself) the worker
  runs that copy, as later pipelines do (``glcic.models.inference.inference_copy``).

    python benchmarks/bench_train.py --against 0de1141            # all cases, 3 rounds
    python benchmarks/bench_train.py --against HEAD~3 --rounds 1 --quick

The worker half of this file (``python against.py infer ...``) imports only the
standard library at the top, so that ``PYTHONPATH`` decides which tree's ``glcic`` runs.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIG = 10**9


@dataclass(frozen=True)
class Case:
    """One row: a training phase of a preset (with overrides), or the inference latency."""

    label: str
    preset: str = ""
    phase: str = ""  # completion | discriminator | joint; "" = inference
    overrides: tuple[str, ...] = ()
    batch: int = 1
    warmup: int = 5  # steps (training) or calls (inference) not timed; a multiple of log_every
    steps: int = 20
    log_every: int = 5  # training: stats.jsonl ticks; each tick's s/step is one sample
    size: int = 512  # inference only

    @property
    def is_train(self) -> bool:
        return bool(self.phase)


PHASE_SCHEDULE = {  # (t_c, t_d): the phase runs from step 0
    "completion": (BIG, 0),
    "discriminator": (0, BIG),
    "joint": (0, 0),
}


def default_cases(quick: bool) -> list[Case]:
    """face64 (every phase), the full-width network at 160 px batch 8 (joint), inference 512²."""
    if quick:
        return [
            Case("face64 joint, batch 8", "face64", "joint", ("train.batch_size=8",), 8, 2, 4, 2),
            Case("shipped model 256², _run_net", size=256, warmup=1, steps=3),
        ]
    face = [Case(f"face64 {p}", "face64", p, (), 32, steps=40) for p in PHASE_SCHEDULE]
    full = Case("full width 160 px batch 8 joint", "report", "joint", ("train.batch_size=8",), 8, 2, 12, 2)
    return [*face, full, Case("shipped model 512², _run_net", size=512, warmup=5, steps=30)]


@dataclass
class Result:
    """Per-process medians (seconds per step or per call) of one case, for each tree."""

    old: list[float] = field(default_factory=list)
    new: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------- parent side


@contextmanager
def worktree(rev: str):
    """A detached git worktree of ``rev`` under /tmp, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="glcic-against-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev],
                   check=True, capture_output=True, text=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                       capture_output=True, text=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], capture_output=True, text=True)


def _data_root_overrides(preset: str) -> list[str]:
    """The preset's data roots made absolute (the old tree runs elsewhere), one small root only."""
    sys.path.insert(0, str(REPO))
    from glcic.config import load_config

    cfg = load_config(preset)
    root = Path(cfg.data.root)
    root = root if root.is_absolute() else (REPO / root).resolve()
    return [f"data.root={root}", "data.extra_roots=[]", "data.max_images=256"]


def _env(tree: Path, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def time_train(case: Case, tree: Path, threads: int) -> float:
    """Median seconds per step of ``case`` in a fresh ``glcic train`` process of ``tree``."""
    t_c, t_d = PHASE_SCHEDULE[case.phase]
    sets = [
        *_data_root_overrides(case.preset),
        *case.overrides,
        f"train.t_c={t_c}", f"train.t_d={t_d}", f"train.t_train={2 * BIG}",
        f"train.log_every={case.log_every}", f"train.sample_every={BIG}", f"train.ckpt_every={BIG}",
    ]
    with tempfile.TemporaryDirectory(prefix="glcic-bench-run-") as run_dir:
        cmd = [sys.executable, "-m", "glcic.cli", "train", "--config", case.preset, "--run-dir", run_dir,
               "--device", "cpu", "--max-steps", str(case.warmup + case.steps)]
        for s in sets:
            cmd += ["--set", s]
        proc = subprocess.run(cmd, cwd=tree, env=_env(tree, threads), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"glcic train failed in {tree}:\n{proc.stderr[-3000:]}")
        rows = [json.loads(line) for line in (Path(run_dir) / "stats.jsonl").read_text().splitlines() if line]
    times = [r["speed/s_per_step"] for r in rows if r["step"] > case.warmup]
    return statistics.median(times)


def shipped_bundle(old_tree: Path) -> Path:
    """The model the old commit shipped (its default), which both trees can load."""
    for name in ("default", "faces"):
        if (old_tree / "glcic" / "weights" / name / "config.json").exists():
            return old_tree / "glcic" / "weights" / name
    raise FileNotFoundError(f"no shipped bundle (glcic/weights/default or faces) in {old_tree}")


def time_infer(case: Case, tree: Path, threads: int, bundle: Path) -> float:
    """Median seconds per network call of ``bundle`` in a fresh process of ``tree``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "infer", str(tree), str(bundle), str(case.size),
           str(case.warmup), str(case.steps)]
    proc = subprocess.run(cmd, cwd=tree, env=_env(tree, threads), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"inference worker failed in {tree}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["median_s"]


def run_side_by_side(rev: str, cases: list[Case], rounds: int, threads: int, log=print) -> dict[str, Result]:
    """Time every case for ``rev`` and the working tree, alternating; return the per-process medians."""
    results = {c.label: Result() for c in cases}
    # A timeout's SIGTERM should still remove the worktree (the finally clause of worktree()).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with worktree(rev) as old_tree:
        for r in range(rounds):
            for i, case in enumerate(cases):
                # Alternate which tree goes first, so that a slow minute hits both alike.
                order = [("old", old_tree), ("new", REPO)]
                if (r + i) % 2:
                    order.reverse()
                for name, tree in order:
                    t0 = time.perf_counter()
                    if case.is_train:
                        t = time_train(case, tree, threads)
                    else:
                        t = time_infer(case, tree, threads, shipped_bundle(old_tree))
                    getattr(results[case.label], name).append(t)
                    log(f"round {r + 1} | {case.label} | {name} | {t * 1e3:.1f} ms "
                        f"({time.perf_counter() - t0:.0f} s with start-up)")
    return results


# --------------------------------------------------------------------------- worker side


def infer_worker(tree: str, bundle: str, size: int, warmup: int, steps: int) -> None:
    """Print ``{"median_s": ...}`` for the pipeline's network call of ``bundle`` on a size² image."""
    import torch

    import glcic
    from glcic.pipeline import InpaintPipeline

    if not Path(glcic.__file__).resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"imported glcic from {glcic.__file__}, not from {tree}")
    pipe = InpaintPipeline.from_pretrained(bundle, device="cpu")
    folded = hasattr(pipe.net, "for_inference")
    if folded:  # what the pipeline runs once it adopts the folded copy
        pipe.net = pipe.net.for_inference(getattr(pipe, "_dtype", None))
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, size, size, generator=g)  # (1, 3, S, S)
    m = torch.zeros(1, 1, size, size)  # (1, 1, S, S), 1 = hole
    m[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    x = x * (1 - m) + 0.5 * m
    for _ in range(warmup):
        pipe._run_net(x, m)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        pipe._run_net(x, m)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"median_s": statistics.median(times), "folded": folded}))


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "infer":
        infer_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        raise SystemExit("usage: python benchmarks/bench_train.py --against REV (this file's CLI is its worker)")
