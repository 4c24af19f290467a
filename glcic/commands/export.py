"""`glcic export`: turn a training run into a release bundle (safetensors + config.json)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

CELEBA_LICENSE = (
    "Weights trained on CelebA (Liu et al., ICCV 2015): non-commercial research use only, "
    "following the CelebA terms of use."
)


def register(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help="write the release bundle (model.safetensors + config.json) of a run",
        description="Export the completion network of a run folder or checkpoint as a bundle that "
        "`glcic inpaint --model DIR` and InpaintPipeline.from_pretrained(DIR) load.",
    )
    p.add_argument("source", type=Path, help="a run folder (its latest checkpoint) or a ckpt_*.pt file")
    p.add_argument("--output", "-o", required=True, type=Path, help="bundle folder to write")
    p.add_argument("--name", default=None, help="model name stored in config.json")
    p.add_argument("--license", default=None, help="licence text of the weights (default: from the data)")
    p.add_argument(
        "--training-data", default=None,
        help="what the weights were trained on, for people (e.g. '4,311 natural-scene photographs'); "
             "default: the data folders of the run's config",
    )
    p.add_argument(
        "--keep-thin", type=int, default=None, metavar="PX",
        help="hole parts at most 2 x PX wide keep the pre-fill (model.keep_thin; a residual "
             "network only); default: the run's own setting",
    )
    p.add_argument(
        "--description",
        default="",
        help="what the model is for, in one sentence (shown by pipe.info and the web page), e.g. "
        "'Completes holes in 64x64 face crops; trained on rectangular holes.'",
    )
    return p


def home_relative(value: Any, home: str | None = None) -> Any:
    """``value`` with every path under the exporter's home directory written from ``~``.

    A shell expands ``--init-from ~/runs/x`` before glcic sees it, so a run's config holds
    the maker's absolute paths; a published bundle should neither leak them nor pretend they
    hold elsewhere. Nested mappings and lists are walked; other values are kept.
    """
    home = (home or str(Path.home())).rstrip("/")
    if isinstance(value, dict):
        return {k: home_relative(v, home) for k, v in value.items()}
    if isinstance(value, list):
        return [home_relative(v, home) for v in value]
    if isinstance(value, str) and home and (value == home or value.startswith(home + "/")):
        return "~" + value[len(home):]
    return value


def run(args: argparse.Namespace) -> int:
    import sys

    from glcic.atomic import DiskFullError
    from glcic.bundle import BundleInfo, save_bundle
    from glcic.config import Config
    from glcic.models import CompletionNetwork
    from glcic.training.checkpoint import load_checkpoint

    state = load_checkpoint(args.source)
    cfg = Config.from_dict(state["config"])
    if args.keep_thin is not None:  # inference only: it changes no weight
        cfg.model.keep_thin = args.keep_thin
        cfg.validate()
    net = CompletionNetwork(cfg.model)
    net.load_state_dict(state["completion"])
    roots = [cfg.data.root, *cfg.data.extra_roots]
    is_celeba = any("celeba" in r.lower() for r in roots)
    info = BundleInfo(
        model=cfg.model,
        resolution=cfg.data.size,
        mean_pixel=[float(x) for x in state["mean_pixel"]],
        name=args.name or f"glcic-{Path(args.source).resolve().name}",
        training_data=args.training_data or ", ".join(roots) + f" ({cfg.data.train_split} split)",
        license=args.license or (CELEBA_LICENSE if is_celeba else "as the training data's licence allows"),
        description=args.description,
        extra={"step": int(state["step"]), "train_config": home_relative(state["config"])},
    )
    try:
        save_bundle(args.output, net, info)
    except DiskFullError as e:
        print(f"glcic export: error: {e}", file=sys.stderr)
        return 1
    print(f"glcic export: wrote {args.output}/model.safetensors and config.json (step {state['step']})")
    return 0
