"""Inference latency of the full-width completion network (batch 1), with achieved GFLOP/s.

The timed call is the network's forward pass on a mean-filled image and its mask under
``torch.inference_mode`` (what :class:`glcic.pipeline.InpaintPipeline` runs; reading,
padding and compositing cost well under a millisecond here). Variants:

- ``fp32``: plain float32, contiguous (NCHW);
- ``bf16``: ``torch.autocast(bfloat16)``, contiguous;
- ``cl``: float32, channels_last;
- ``bf16+cl``: autocast bf16 with channels_last (what the pipeline's ``precision="auto"``
  does on CPUs with native bf16);
- ``fp32+folded``, ``bf16+cl+folded``: the same on the network's inference copy
  (:func:`glcic.models.inference.inference_copy`: batch norm folded into the
  convolutions, activations inside oneDNN's convolution, weights stored in the dtype);
- ``fp32+compile``, ``bf16+cl+compile``: ``torch.compile`` (only with ``--compile``;
  the compile time of each size is listed apart);
- ``onnxruntime``: fp32, exported once with dynamic axes by
  :func:`glcic.onnx_export.export_onnx`, run with the same thread count.

    python benchmarks/bench_inference.py                  # 160², 512², 1024²
    python benchmarks/bench_inference.py --quick          # 160² only, 2 repeats
    python benchmarks/bench_inference.py --sizes 256 --width 0.5 --compile
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from common import (
    bench_main,
    conv_peak,
    count_flops,
    md_table,
    median_time,
)

from glcic.models.inference import inference_copy
from glcic.precision import autocast

# (name, bf16, channels_last, compile)
VARIANTS = (
    ("fp32", False, False, False),
    ("bf16", True, False, False),
    ("cl", False, True, False),
    ("bf16+cl", True, True, False),
    ("fp32+folded", False, True, False),
    ("bf16+cl+folded", True, True, False),
)
COMPILE_VARIANTS = (
    ("fp32+compile", False, False, True),
    ("bf16+cl+compile", True, True, True),
)
DEFAULT_SIZES = (160, 512, 1024)


def repeats_for(size: int, quick: bool) -> tuple[int, int]:
    """(warm-up, repeats): fewer for the big sizes, whose single call takes seconds."""
    if quick:
        return 1, 2
    if size <= 256:
        return 2, 10
    if size <= 512:
        return 1, 5
    return 1, 3


def make_input(size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A mean-filled image (1, 3, S, S) in [0, 1] with a centred square hole (1, 1, S, S)."""
    from glcic.models import fill_holes

    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, size, size, generator=g)
    m = torch.zeros(1, 1, size, size)
    m[:, :, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return fill_holes(x, m, torch.full((3,), 0.5)), m


def torch_runner(net, x, m, bf16: bool, channels_last: bool, compile_: bool, folded: bool = False):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    if folded:
        net = inference_copy(net, torch.bfloat16 if bf16 else None)
    if compile_:
        net = torch.compile(net)
    x, m = x.contiguous(memory_format=fmt), m.contiguous(memory_format=fmt)
    dtype = torch.bfloat16 if bf16 else None

    def call() -> torch.Tensor:
        with torch.inference_mode(), autocast(torch.device("cpu"), dtype):
            return net(x, m)

    return call


def onnx_runner(path: Path, x, m, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    feed = {"image": x.numpy(), "mask": m.numpy()}
    return lambda: sess.run(None, feed)


def export(net, folder: Path) -> Path:
    """ONNX with dynamic batch/height/width: glcic's exporter when present, else torch's."""
    path = folder / "completion.onnx"
    try:
        from glcic.onnx_export import export_onnx
    except ImportError:
        x, m = make_input(64)
        axes = {0: "batch", 2: "height", 3: "width"}
        torch.onnx.export(
            net,
            (x, m),
            str(path),
            dynamo=False,
            input_names=["image", "mask"],
            output_names=["output"],
            dynamic_axes={"image": axes, "mask": axes, "output": axes},
        )
        return path
    return export_onnx(net, path)


def run(args: argparse.Namespace, peak: dict[str, dict[str, float]]) -> str:
    from glcic.config import ModelConfig
    from glcic.models import CompletionNetwork

    sizes = args.sizes or ((160,) if args.quick else DEFAULT_SIZES)
    variants = VARIANTS + (COMPILE_VARIANTS if args.compile else ())
    torch.manual_seed(0)
    base = CompletionNetwork(ModelConfig(width=args.width)).eval()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = None
        if not args.no_onnx:
            t0 = time.perf_counter()
            onnx_path = export(base, Path(tmp))
            print(f"onnx export: {time.perf_counter() - t0:.1f} s", flush=True)
        for size in sizes:
            x, m = make_input(size)
            with torch.inference_mode():
                gflop = count_flops(lambda x=x, m=m: base(x, m)) / 1e9
            warmup, reps = repeats_for(size, args.quick)
            cases: list[tuple[str, bool, Any, bool]] = []
            for name, bf16, cl, comp in variants:
                net = CompletionNetwork(ModelConfig(width=args.width)).eval()
                net.load_state_dict(base.state_dict())
                call = torch_runner(net, x, m, bf16, cl, comp, folded=name.endswith("folded"))
                cases.append((name, bf16, call, comp))
            if onnx_path is not None:
                cases.append(
                    ("onnxruntime", False, onnx_runner(onnx_path, x, m, args.threads), False)
                )
            for name, bf16, call, comp in cases:
                compile_s = ""
                if comp:
                    t0 = time.perf_counter()
                    call()
                    compile_s = f"{time.perf_counter() - t0:.0f}"
                t = median_time(call, warmup, reps)
                row = [
                    f"{size}²",
                    name,
                    f"{t * 1e3:.1f}",
                    f"{gflop:.1f}",
                    f"{gflop / t:.0f}",
                    f"{100 * gflop / t / conv_peak(peak, bf16):.0f} %",
                    compile_s,
                ]
                rows.append(row)
                print(" | ".join(row), flush=True)
    headers = ["size", "variant", "ms / image", "GFLOP", "GFLOP/s", "of conv peak", "compile s"]
    return (
        f"### Inference latency, completion network width {args.width:g}, batch 1 "
        "(median after warm-up)\n\n" + md_table(headers, rows)
    )


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="image sides (multiples of 4; default: 160 512 1024)",
    )
    p.add_argument(
        "--width",
        type=float,
        default=1.0,
        help="network width multiplier (default: 1, the paper's)",
    )
    p.add_argument("--compile", action="store_true", help="add torch.compile variants (slow)")
    p.add_argument("--no-onnx", action="store_true", help="skip the onnxruntime rows")


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, "Inference benchmark", run, add_args, argv)

if __name__ == "__main__":
    raise SystemExit(main())
