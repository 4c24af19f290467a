"""The `glcic` command: a thin dispatcher over glcic.commands.*."""

from __future__ import annotations

import argparse
import importlib
import sys

from glcic import __version__

# name -> module in glcic.commands; each module has register(subparsers) and run(args).
COMMANDS = {
    "train": "train",
    "plot": "plot",
    "export": "export",
    "export-onnx": "export_onnx",
    "inpaint": "inpaint",
    "evaluate": "evaluate",
    "serve": "serve",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glcic",
        description="Globally and Locally Consistent Image Completion: train, inpaint, evaluate, serve.",
    )
    parser.add_argument("--version", action="version", version=f"glcic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"glcic.commands.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"glcic.commands.{module}":
                raise
            continue
        p = mod.register(sub, name)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from glcic.errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except InputError as e:
        print(f"glcic {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"glcic {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
