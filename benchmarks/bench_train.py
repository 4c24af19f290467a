"""Training throughput per phase of Algorithm 1 (images/s), with achieved GFLOP/s.

For each case (a preset with optional overrides) and each precision variant, one
training step of each phase (completion only, discriminator only, joint) is timed on a
synthetic batch: random images and the preset's own training masks. The step is the
training loop's own :func:`glcic.training.step.training_step`, so optimiser updates,
autocast and the phase's ``requires_grad_`` switches are all included; data loading is
not (the loop slices an in-memory cache, which costs well under a millisecond here).

FLOPs of a step are counted once per case and phase with ``FlopCounterMode`` (forward
and backward convs and matmuls); GFLOP/s divides them by the median step time, and
"% of peak" compares that with the conv peak probe of the same precision.

    python benchmarks/bench_train.py                    # face64 (batch 32) and report at 160 px (batch 8)
    python benchmarks/bench_train.py --quick            # smoke run: face64, batch 8, 2 steps
    python benchmarks/bench_train.py --case "face64,train.batch_size=64" --case "report,model.width=0.5"
    python benchmarks/bench_train.py --compile          # adds torch.compile variants (20-55 s to compile each)
    python benchmarks/bench_train.py --against 0de1141  # an older commit and this tree, alternating (against.py)
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, replace

import torch
from common import (
    bench_main,
    conv_peak,
    count_flops,
    md_table,
    median_time,
)

DEFAULT_CASES = ("face64", "report,train.batch_size=8")
QUICK_CASES = ("face64,train.batch_size=8",)


@dataclass(frozen=True)
class Variant:
    name: str
    bf16: bool
    channels_last: bool
    compile: bool = False


VARIANTS = (
    Variant("fp32", False, False),
    Variant("bf16", True, False),
    Variant("bf16+cl", True, True),
)
COMPILE_VARIANTS = (
    Variant("fp32+compile", False, False, True),
    Variant("bf16+cl+compile", True, True, True),
)


def parse_case(text: str):
    """``PRESET[,section.key=value,...]`` -> a validated Config."""
    from glcic.config import load_config

    preset, *overrides = [t.strip() for t in text.split(",") if t.strip()]
    return load_config(preset, overrides)


def describe(cfg) -> str:
    m, d = cfg.model, cfg.data
    return (
        f"width {m.width:g}, {d.size} px, batch {cfg.train.batch_size}"
        f"{', K=' + str(m.attributes) if m.attributes else ''}"
    )


class Bench:
    """Networks, optimisers and a fixed synthetic batch for one case and variant.

    The networks come from the training loop's own :func:`glcic.training.step.build_nets`,
    with ``train.precision`` and ``train.channels_last`` set by the variant.
    """

    def __init__(self, cfg, variant: Variant) -> None:
        from glcic.data.masks import build_mask_generator
        from glcic.training.batches import sample_holes
        from glcic.training.step import Batch, build_nets, memory_format

        train = replace(cfg.train, precision="bf16" if variant.bf16 else "fp32", channels_last=variant.channels_last)
        self.cfg = cfg = replace(cfg, train=train)
        torch.manual_seed(0)
        self.nets = build_nets(cfg, torch.device("cpu"))
        if variant.compile:
            self.nets.netC = torch.compile(self.nets.netC)
            self.nets.netD = torch.compile(self.nets.netD)
        g = torch.Generator().manual_seed(0)
        b, size, fmt = train.batch_size, cfg.data.size, memory_format(train)
        lo, hi = cfg.model.value_range
        x = torch.rand(b, 3, size, size, generator=g) * (hi - lo) + lo  # (B, 3, H, W)
        mask_gen = build_mask_generator(cfg.mask, size)
        m, win_c, win_d = sample_holes(mask_gen, b, size, cfg.mask.local_size, g)  # (B, 1, H, W), (B, 2), (B, 2)
        attrs = (torch.rand(b, cfg.model.attributes, generator=g) > 0.5).float()  # (B, K)
        self.batch = Batch(x.contiguous(memory_format=fmt), attrs, m.contiguous(memory_format=fmt), win_c, win_d)
        self.mean = torch.full((3,), (lo + hi) / 2)

    def step(self, phase) -> dict[str, float]:
        from glcic.training.step import training_step

        return training_step(self.nets, self.batch, phase, self.cfg, self.mean)

    def flops(self, phase) -> int:
        """FLOPs of one step of ``phase``, counted on the plain networks.

        FlopCounterMode does not see oneDNN's fused convolutions, which the discriminator
        phase runs through the completion network's folded copy; the count is the same
        convolutions run plainly.
        """
        plain = self.nets.frozen_c.get
        self.nets.frozen_c.get = lambda net, dtype: net
        try:
            return count_flops(lambda: self.step(phase))
        finally:
            self.nets.frozen_c.get = plain


def run(args: argparse.Namespace, peak: dict[str, dict[str, float]]) -> str:
    """Time every case x variant x phase; return the Markdown section."""
    from glcic.training.step import PHASES

    cases = args.case or (QUICK_CASES if args.quick else DEFAULT_CASES)
    variants = VARIANTS + (COMPILE_VARIANTS if args.compile else ())
    warmup, steps = (1, 2) if args.quick else (args.warmup, args.steps)
    rows = []
    for text in cases:
        cfg = parse_case(text)
        flops: dict[str, int] = {}
        for phase_name, phase in PHASES.items():
            # FLOPs do not depend on the precision: count them once, in fp32.
            b = Bench(cfg, VARIANTS[0])
            flops[phase_name] = b.flops(phase)
        for v in variants:
            for phase_name, phase in PHASES.items():
                b = Bench(cfg, v)
                compile_s = None
                if v.compile:  # the first call compiles; report it apart from the step time
                    t0 = time.perf_counter()
                    b.step(phase)
                    compile_s = time.perf_counter() - t0
                t = median_time(lambda b=b, phase=phase: b.step(phase), warmup, steps)
                bs = cfg.train.batch_size
                gflop = flops[phase_name] / 1e9
                rows.append(
                    [
                        text,
                        describe(cfg),
                        v.name,
                        phase_name,
                        f"{bs / t:.1f}",
                        f"{t * 1e3:.0f}",
                        f"{gflop / bs:.1f}",
                        f"{gflop / t:.0f}",
                        f"{100 * gflop / t / conv_peak(peak, v.bf16):.0f} %",
                        "" if compile_s is None else f"{compile_s:.0f}",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
    headers = [
        "case",
        "network",
        "variant",
        "phase",
        "images/s",
        "ms/step",
        "GFLOP/image",
        "GFLOP/s",
        "of conv peak",
        "compile s",
    ]
    return (
        f"### Training throughput (median of {steps} steps after {warmup} warm-up)\n\n"
        + md_table(headers, rows)
    )


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--case",
        action="append",
        default=None,
        help="PRESET[,section.key=value,...]; repeatable (default: face64 and "
        "'report,train.batch_size=8')",
    )
    p.add_argument("--steps", type=int, default=5, help="timed steps per phase (default: 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: 2)")
    p.add_argument(
        "--compile",
        action="store_true",
        help="add torch.compile variants (slow: 20-55 s to compile each)",
    )
    p.add_argument(
        "--against",
        metavar="REV",
        default=None,
        help="instead: time face64 (each phase), full width 160 px batch 8 (joint) and the shipped "
        "model at 512² for commit REV and for this tree, alternately in fresh processes (see against.py)",
    )
    p.add_argument("--rounds", type=int, default=3, help="with --against: alternating rounds (default: 3)")


def run_against(args: argparse.Namespace, peak: dict[str, dict[str, float]]) -> str:
    """The side-by-side table of ``--against REV``: old and new medians, their ratio, new % of peak."""
    import against

    cases = against.default_cases(args.quick)
    results = against.run_side_by_side(args.against, cases, args.rounds, args.threads)
    rows = []
    for case in cases:
        res = results[case.label]
        old, new = statistics.median(res.old), statistics.median(res.new)
        ratios = [o / n for o, n in zip(res.old, res.new, strict=True)]
        gflop = case_gflop(case)
        if case.is_train:  # throughput: images/s, higher is better
            cells = [f"{case.batch / old:.1f} img/s", f"{case.batch / new:.1f} img/s"]
        else:  # latency
            cells = [f"{old * 1e3:.0f} ms", f"{new * 1e3:.0f} ms"]
        rows.append(
            [
                case.label,
                *cells,
                f"**{old / new:.2f}x**",
                f"{min(ratios):.2f}–{max(ratios):.2f}",
                f"{gflop:.1f}",
                f"{100 * gflop / old / conv_peak(peak, True):.0f} % → {100 * gflop / new / conv_peak(peak, True):.0f} %",
            ]
        )
    headers = ["case", f"`{args.against}`", "this tree", "speed-up", "per round", "GFLOP / step or call",
               "of bf16 conv peak"]
    return (
        f"### Side by side: `{args.against}` against this tree ({args.rounds} alternating rounds, "
        "fresh processes; medians)\n\n" + md_table(headers, rows)
    )


def case_gflop(case) -> float:
    """GFLOP of one step (training: forward and backward) or one call (inference) of a side-by-side case."""
    from glcic.training.step import PHASES

    if case.is_train:
        cfg = parse_case(",".join([case.preset, *case.overrides]))
        b = Bench(cfg, VARIANTS[0])
        return b.flops(PHASES[case.phase]) / 1e9
    from glcic.pipeline import InpaintPipeline

    net = InpaintPipeline.from_pretrained("default", device="cpu", precision="fp32").net
    x = torch.rand(1, 3, case.size, case.size)
    with torch.inference_mode():
        return count_flops(lambda: net(x, torch.zeros(1, 1, case.size, case.size))) / 1e9


def dispatch(args: argparse.Namespace, peak: dict[str, dict[str, float]]) -> str:
    return run(args, peak) if args.against is None else run_against(args, peak)


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, "Training benchmark", dispatch, add_args, argv)

if __name__ == "__main__":
    raise SystemExit(main())
