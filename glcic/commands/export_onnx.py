"""`glcic export-onnx`: write the completion network as ONNX and check it against PyTorch."""

from __future__ import annotations

import argparse
from pathlib import Path

from glcic.errors import InputError
from glcic.options import DEFAULT_MODEL, MODEL_HELP


def register(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help="export the completion network to ONNX (dynamic batch, height, width)",
        description="Write the completion network of a bundle as an ONNX graph (inputs: image "
        "(B, 3, H, W) in the model's value range with holes filled by the mean pixel, mask "
        "(B, 1, H, W), 1 = hole; H and W multiples of 4) and print the largest difference "
        "between onnxruntime and PyTorch on random inputs. Saved as BUNDLE/model.onnx, it is "
        "used by `glcic inpaint --backend onnxruntime`.",
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    p.add_argument("--output", "-o", required=True, type=Path, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    p.add_argument(
        "--tolerance",
        type=float,
        default=1e-4,
        help="exit 1 when onnxruntime and PyTorch differ by more than this (default 1e-4)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    if args.output.suffix.lower() != ".onnx":
        raise InputError(f"--output should end in .onnx; got {args.output.name!r}")
    if args.output.is_dir():
        raise InputError(f"--output {args.output} is a folder; give a file such as {args.output / 'model.onnx'}")

    from glcic.bundle import load_bundle
    from glcic.onnx_export import check_onnx, export_onnx

    net, _ = load_bundle(args.model)
    export_onnx(net, args.output, opset=args.opset)
    sizes = ((64, 64), (96, 128))
    diff = check_onnx(net, args.output, sizes=sizes)
    shown = ", ".join(f"{h}x{w}" for h, w in sizes)
    print(f"glcic export-onnx: wrote {args.output}")
    print(f"max abs difference onnxruntime vs PyTorch (fp32, batch 2, {shown}): {diff:.3g}")
    if diff > args.tolerance:
        print(f"glcic export-onnx: difference {diff:.3g} is above --tolerance {args.tolerance:g}")
        return 1
    return 0
