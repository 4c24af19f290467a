"""Release bundles: what `glcic export` writes and inference loads.

A bundle is a folder with two files:

- ``model.safetensors``: the completion network's weights (no pickle);
- ``config.json``: ``{"format": "glcic-bundle", "version": 1, "model": ModelConfig,
  "resolution": int, "mean_pixel": [r, g, b] in [0, 1], "value_range": [lo, hi],
  "training_data": str, "license": str, "name": str, ...}``.

The shipped face model lives in ``glcic/weights/default``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from glcic.config import ModelConfig, dataclass_from_dict
from glcic.errors import BundleError, ConfigError
from glcic.models.completion import CompletionNetwork

BUNDLE_FORMAT = "glcic-bundle"
BUNDLE_VERSION = 1
DEFAULT_BUNDLE = Path(__file__).resolve().parent / "weights" / "default"


@dataclass
class BundleInfo:
    """Everything inference needs to know about a completion network."""

    model: ModelConfig
    resolution: int
    mean_pixel: list[float]
    """Per-channel mean of the training set, in [0, 1]."""
    name: str = "glcic"
    training_data: str = ""
    license: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def value_range(self) -> tuple[float, float]:
        return self.model.value_range

    def to_json(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "name": self.name,
            "model": asdict(self.model),
            "resolution": self.resolution,
            "mean_pixel": [float(x) for x in self.mean_pixel],
            "value_range": list(self.value_range),
            "training_data": self.training_data,
            "license": self.license,
            **self.extra,
        }


def save_bundle(directory: str | Path, model: CompletionNetwork, info: BundleInfo) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``directory`` (atomically each)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().float() if v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".tmp", delete=False) as f:
        tmp = f.name
    save_file(state, tmp, metadata={"format": BUNDLE_FORMAT})
    os.chmod(tmp, 0o644)  # NamedTemporaryFile creates 0600; a release file is world-readable
    os.replace(tmp, directory / "model.safetensors")
    _write_text_atomic(directory / "config.json", json.dumps(info.to_json(), indent=2) + "\n")
    return directory


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def resolve_bundle_path(path: str | Path | None) -> Path:
    """'default' or None -> the shipped model; otherwise the given folder (or its config.json)."""
    if path is None or str(path) == "default":
        if not (DEFAULT_BUNDLE / "config.json").is_file():
            raise BundleError(
                f"the shipped default model is missing from {DEFAULT_BUNDLE}; reinstall glcic or "
                "pass --model PATH to a bundle written by `glcic export`"
            )
        return DEFAULT_BUNDLE
    p = Path(path)
    if p.is_file() and p.name in ("config.json", "model.safetensors"):
        p = p.parent
    if not p.exists():
        raise BundleError(f"model path {p} does not exist; give a folder written by `glcic export` or 'default'")
    if not p.is_dir():
        raise BundleError(
            f"model path {p} is a file; a glcic model is a folder with model.safetensors and config.json "
            "(write one with `glcic export RUN_DIR --output DIR`)"
        )
    missing = [n for n in ("config.json", "model.safetensors") if not (p / n).is_file()]
    if missing:
        raise BundleError(
            f"{p} is not a glcic bundle: {', '.join(missing)} missing; write one with "
            "`glcic export RUN_DIR --output DIR`"
        )
    return p


def read_bundle_info(path: str | Path | None) -> BundleInfo:
    """Parse and check a bundle's config.json."""
    p = resolve_bundle_path(path)
    try:
        raw = json.loads((p / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{p / 'config.json'} is not valid JSON ({e}); is this a glcic bundle?") from e
    if not isinstance(raw, dict) or raw.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{p / 'config.json'} does not say format={BUNDLE_FORMAT!r}; is this a glcic bundle?")
    if raw.get("version", 0) > BUNDLE_VERSION:
        raise BundleError(
            f"{p} is bundle version {raw.get('version')}; this glcic reads up to {BUNDLE_VERSION}: upgrade glcic"
        )
    try:
        model = dataclass_from_dict(ModelConfig, raw["model"], "model.")
        info = BundleInfo(
            model=model,
            resolution=int(raw["resolution"]),
            mean_pixel=[float(x) for x in raw["mean_pixel"]],
            name=str(raw.get("name", "glcic")),
            training_data=str(raw.get("training_data", "")),
            license=str(raw.get("license", "")),
        )
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise BundleError(f"{p / 'config.json'} is incomplete or invalid: {e}") from e
    known = {"format", "version", "name", "model", "resolution", "mean_pixel", "value_range", "training_data", "license"}
    info.extra = {k: v for k, v in raw.items() if k not in known}
    if len(info.mean_pixel) != 3:
        raise BundleError(f"{p / 'config.json'}: mean_pixel must have 3 values; got {info.mean_pixel}")
    return info


def load_bundle(path: str | Path | None = "default", map_location: str | torch.device = "cpu") -> tuple[CompletionNetwork, BundleInfo]:
    """Load a completion network and its info from a bundle folder (or 'default')."""
    p = resolve_bundle_path(path)
    info = read_bundle_info(p)
    net = CompletionNetwork(info.model)
    try:
        state = load_file(str(p / "model.safetensors"), device=str(map_location))
    except Exception as e:  # safetensors raises several types for corrupt files
        raise BundleError(f"{p / 'model.safetensors'} could not be read ({e}); the file may be truncated") from e
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise BundleError(f"{p / 'model.safetensors'} does not match the architecture in config.json: {e}") from e
    net.eval()
    return net, info
