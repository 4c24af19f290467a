"""Shared pieces of the benchmarks: machine info, timing, the peak probe, FLOP counting, Markdown.

Every benchmark prints Markdown tables headed by the date, the CPU model, the torch
version, the git commit and the thread count, and includes a peak probe measured in the
same process, so that achieved GFLOP/s can be read as a fraction of what this machine
does on its best-case kernels *at that moment* (shared machines vary by +-20 % between
runs; compare rows of one run, not across runs).

Timings are medians over ``repeats`` calls after ``warmup`` calls that are not timed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from glcic.atomic import write_text_atomic
from glcic.precision import cpu_bf16_supported, cpu_model

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

MARK_START = "<!-- benchmark-results:start -->"
MARK_END = "<!-- benchmark-results:end -->"


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def base_parser(description: str) -> argparse.ArgumentParser:
    """The flags every benchmark script shares."""
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick", action="store_true", help="a fast smoke run: fewer cases, sizes and repeats"
    )
    p.add_argument(
        "--threads", type=int, default=2, help="torch / onnxruntime threads (default: 2)"
    )
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="also write the tables into this Markdown file (e.g. docs/benchmarks.md), "
        f"replacing what stands between {MARK_START} and {MARK_END}",
    )
    p.add_argument(
        "--note",
        default="",
        help="a line printed under the header (e.g. 'machine shared with a training job')",
    )
    return p


def setup(args: argparse.Namespace) -> None:
    """Apply ``--threads`` (torch intra-op threads) before anything runs."""
    if args.threads < 1:
        raise SystemExit(f"--threads must be >= 1; got {args.threads}")
    torch.set_num_threads(args.threads)


# --------------------------------------------------------------------------------------
# Machine information
# --------------------------------------------------------------------------------------


def git_commit() -> str:
    """``git rev-parse --short HEAD`` of the repository, ``+dirty`` when the tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def system_info() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "git": git_commit(),
        "bf16_native": cpu_bf16_supported(),
        "load": load,
    }


def header_md(title: str, info: dict[str, Any], quick: bool, note: str = "") -> str:
    lines = [
        f"## {title}{' (quick run)' if quick else ''}",
        "",
        f"- date: {info['date']}; git `{info['git']}`",
        f"- CPU: {info['cpu']} ({info['cores']} logical cores; native bf16: "
        f"{'yes' if info['bf16_native'] else 'no'}); {info['threads']} threads",
        f"- torch {info['torch']}, Python {info['python']}",
        "- load average at start: " + " / ".join(f"{x:.2f}" for x in info["load"]),
    ]
    if quick:
        lines.append("- **quick run**: few repeats and cases; a smoke test, not a measurement")
    if note:
        lines.append(f"- note: {note}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Timing and FLOPs
# --------------------------------------------------------------------------------------


def median_time(fn: Callable[[], Any], warmup: int, repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn`` (forward and backward), by ``FlopCounterMode``.

    Counts matmuls and convolutions (2 FLOPs per multiply-add); element-wise work is
    left out, as is customary.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


# --------------------------------------------------------------------------------------
# Peak probe
# --------------------------------------------------------------------------------------

PEAK_OPS = ("matmul 2048²", "conv 3x3 256→256, 40x40, batch 8")


def peak_probe(quick: bool = False) -> dict[str, dict[str, float]]:
    """GFLOP/s of a 2048² matmul and of the network's typical 3x3 conv, fp32 and bf16.

    The conv runs channels_last (what oneDNN prefers); bf16 uses bf16 tensors directly
    (the best case autocast can reach).

    Returns:
        ``{op: {"fp32": GFLOP/s, "bf16": GFLOP/s}}`` with ``op`` from :data:`PEAK_OPS`.
    """
    warmup, repeats = (1, 3) if quick else (2, 7)
    out: dict[str, dict[str, float]] = {op: {} for op in PEAK_OPS}
    g = torch.Generator().manual_seed(0)
    n = 2048
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).eval()
    conv_flops = 2 * 8 * 256 * 40 * 40 * 256 * 9
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        a = torch.randn(n, n, generator=g).to(dtype)
        b = torch.randn(n, n, generator=g).to(dtype)
        t = median_time(lambda a=a, b=b: torch.mm(a, b), warmup, repeats)
        out[PEAK_OPS[0]][name] = 2 * n**3 / t / 1e9
        x = (
            torch.randn(8, 256, 40, 40, generator=g)
            .to(dtype)
            .contiguous(memory_format=torch.channels_last)
        )
        c = conv.to(dtype).to(memory_format=torch.channels_last)
        with torch.inference_mode():
            t = median_time(lambda c=c, x=x: c(x), warmup, repeats)
        out[PEAK_OPS[1]][name] = conv_flops / t / 1e9
    return out


def peak_md(peak: dict[str, dict[str, float]]) -> str:
    rows = [[op, f"{v['fp32']:.0f}", f"{v['bf16']:.0f}"] for op, v in peak.items()]
    return "### Peak probe (same run)\n\n" + md_table(["op", "fp32 GFLOP/s", "bf16 GFLOP/s"], rows)


def conv_peak(peak: dict[str, dict[str, float]], bf16: bool) -> float:
    """The conv peak of the precision a variant computes in: the yardstick for the networks."""
    return peak[PEAK_OPS[1]]["bf16" if bf16 else "fp32"]


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_output(path: Path, markdown: str) -> None:
    """Put ``markdown`` between the result markers of ``path`` (only the latest results stay).

    The rest of the file (how to run, column meanings) is kept. A file without markers
    gets them appended; a missing file is created.
    """
    block = f"{MARK_START}\n{markdown.rstrip()}\n{MARK_END}\n"
    text = path.read_text() if path.is_file() else ""
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        text = head + block + tail.lstrip("\n")
    else:
        text = (text.rstrip() + "\n\n" if text else "") + block
    write_text_atomic(path, text)


def emit(markdown: str, output: Path | None) -> None:
    print(markdown)
    if output is not None:
        write_output(output, markdown)
        print(f"(written to {output})", file=sys.stderr)


def bench_main(
    doc: str,
    title: str,
    run: Callable[[argparse.Namespace, dict[str, dict[str, float]]], str],
    add_args: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: list[str] | None = None,
) -> int:
    """The command line of one benchmark script: parse, probe the peak, run, print/write."""
    p = base_parser(doc)
    if add_args is not None:
        add_args(p)
    args = p.parse_args(argv)
    setup(args)
    info = system_info()
    peak = peak_probe(args.quick)
    md = "\n".join([header_md(title, info, args.quick, args.note), peak_md(peak), run(args, peak)])
    emit(md, args.output)
    return 0
