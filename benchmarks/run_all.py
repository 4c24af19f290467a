"""Every benchmark in one process: peak probe, training, inference, classical methods.

One peak probe at the start serves as the yardstick for all tables (they are measured
in the same process, minutes apart; on a shared machine check the load average in the
header). ``--output docs/benchmarks.md`` replaces the results section of that file
and keeps the rest.

    python benchmarks/run_all.py --output docs/benchmarks.md             # the full run (~10-20 min)
    python benchmarks/run_all.py --quick                                 # smoke run (~1 min)
    python benchmarks/run_all.py --only inference,classical --compile
"""

from __future__ import annotations

import bench_classical
import bench_inference
import bench_train
from common import base_parser, emit, header_md, peak_md, peak_probe, setup, system_info

SECTIONS = ("train", "inference", "classical")


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__)
    p.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {', '.join(SECTIONS)} (default: all)",
    )
    p.add_argument(
        "--case",
        action="append",
        default=None,
        help="training case PRESET[,section.key=value,...]; repeatable",
    )
    p.add_argument("--steps", type=int, default=5, help="timed training steps per phase")
    p.add_argument("--warmup", type=int, default=2, help="untimed training steps first")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="inference image sides")
    p.add_argument("--width", type=float, default=1.0, help="inference network width")
    p.add_argument("--compile", action="store_true", help="add torch.compile variants (slow)")
    p.add_argument("--no-onnx", action="store_true", help="skip the onnxruntime rows")
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        p.error(
            f"--only: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}"
        )
    setup(args)
    info = system_info()
    peak = peak_probe(args.quick)
    parts = [header_md("Benchmarks", info, args.quick, args.note), peak_md(peak)]
    print("\n".join(parts), flush=True)
    if "train" in only:
        parts.append(bench_train.run(args, peak))
    if "inference" in only:
        parts.append(bench_inference.run(args, peak))
    if "classical" in only:
        parts.append(bench_classical.run(args))
    emit("\n".join(parts), args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
