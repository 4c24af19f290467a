"""Release bundles: what `glcic export` writes and inference loads.

A bundle is a folder with two files:

- ``model.safetensors``: the completion network's weights (no pickle);
- ``config.json``: ``{"format": "glcic-bundle", "version": 1, "model": ModelConfig,
  "resolution": int, "mean_pixel": [r, g, b] in [0, 1], "value_range": [lo, hi],
  "training_data": str, "license": str, "name": str, ...}``.

The shipped models live in ``glcic/weights/NAME`` (:data:`glcic.options.SHIPPED_MODELS`);
``default`` names :data:`glcic.options.DEFAULT_MODEL_TARGET`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from glcic.atomic import write_bytes_atomic, write_text_atomic
from glcic.config import Config, ModelConfig, dataclass_from_dict
from glcic.errors import BundleError, ConfigError
from glcic.models.completion import CompletionNetwork
from glcic.options import DEFAULT_MODEL, DEFAULT_MODEL_TARGET, MODEL_NAMES, SHIPPED_MODELS

BUNDLE_FORMAT = "glcic-bundle"
BUNDLE_VERSION = 1
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Where the shipped models live, one bundle folder per name."""
DEFAULT_BUNDLE = WEIGHTS_DIR / DEFAULT_MODEL_TARGET
"""The bundle ``default`` names."""

MAX_WIDTH = 4.0
"""Largest ``model.width`` / ``model.disc_width`` a bundle may ask for (the paper: 1, the
shipped model: 0.5). Checked before the network is built: a width of 40 would allocate
gigabytes before the weights are found not to fit."""
MAX_RESOLUTION = 4096
"""Largest training resolution a bundle may give (the paper: 256); the inference
strategies crop and scale to it."""
TEXT_FIELDS = ("name", "training_data", "license", "description")
"""The free-text fields of config.json (each optional, each a string)."""
KNOWN_FIELDS = {"format", "version", "model", "resolution", "mean_pixel", "value_range", *TEXT_FIELDS}
"""The fields :class:`BundleInfo` reads; the others (``step``, ``train_config``) go to ``extra``."""


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
    description: str = ""
    """What the model is for, in one sentence (``glcic export --description``)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def value_range(self) -> tuple[float, float]:
        return self.model.value_range

    def train_section(self, section: str) -> dict[str, Any]:
        """A section (``"mask"``, ``"data"``, ...) of the training config the bundle was
        exported with (``extra["train_config"]``); ``{}`` when the bundle does not carry it."""
        tc = self.extra.get("train_config") if isinstance(self.extra, dict) else None
        value = tc.get(section) if isinstance(tc, dict) else None
        return value if isinstance(value, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "name": self.name,
            "description": self.description,
            "model": asdict(self.model),
            "resolution": self.resolution,
            "mean_pixel": [float(x) for x in self.mean_pixel],
            "value_range": list(self.value_range),
            "training_data": self.training_data,
            "license": self.license,
            **self.extra,
        }


def save_bundle(directory: str | Path, model: CompletionNetwork, info: BundleInfo) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``directory`` (atomically each).

    Raises:
        DiskFullError: no room on the disk; no partial file is left.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().float() if v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    write_bytes_atomic(directory / "model.safetensors", safetensors_bytes(state, metadata={"format": BUNDLE_FORMAT}))
    write_text_atomic(directory / "config.json", json.dumps(info.to_json(), indent=2) + "\n")
    return directory


def shipped_name(path: str | Path | None) -> str | None:
    """The shipped model a name stands for (``"default"`` and None -> its target), or None
    when ``path`` names no shipped model (then it is a bundle folder)."""
    if path is None or str(path) == DEFAULT_MODEL:
        return DEFAULT_MODEL_TARGET
    return str(path) if str(path) in SHIPPED_MODELS else None


def installed_models() -> list[str]:
    """The shipped models found in the package (``WEIGHTS_DIR/NAME/config.json``), in
    :data:`~glcic.options.SHIPPED_MODELS` order, the default target first."""
    found = [n for n in SHIPPED_MODELS if (WEIGHTS_DIR / n / "config.json").is_file()]
    return sorted(found, key=lambda n: n != DEFAULT_MODEL_TARGET)


def resolve_bundle_path(path: str | Path | None) -> Path:
    """A shipped model's name (``faces``, ``scenes``, ``default``; None = ``default``) -> its
    folder in the package; anything else -> that bundle folder (or its config.json)."""
    name = shipped_name(path)
    if name is not None:
        where = WEIGHTS_DIR / name
        if not (where / "config.json").is_file():
            others = [n for n in SHIPPED_MODELS if n != name]
            raise BundleError(
                f"the shipped model {name!r} is missing from {where}; reinstall glcic, name another "
                f"({', '.join(others)}), or pass --model PATH to a bundle written by `glcic export`"
            )
        return where
    p = Path(path)
    if p.is_file() and p.name in ("config.json", "model.safetensors"):
        p = p.parent
    if not p.exists():
        raise BundleError(
            f"model path {p} does not exist; give a folder written by `glcic export` or a shipped "
            f"model's name ({', '.join(MODEL_NAMES)})"
        )
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
    """Parse and check a bundle's config.json, field by field, before anything is allocated.

    Raises:
        BundleError: naming the file and the field, what was expected and what arrived.
    """
    where = resolve_bundle_path(path) / "config.json"
    try:
        raw = json.loads(where.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise BundleError(f"{where} is not valid JSON ({e}); is this a glcic bundle?") from e
    try:
        return bundle_info_from_json(raw)
    except (ConfigError, ValueError) as e:
        raise BundleError(f"{where} is invalid: {e}") from e


def bundle_info_from_json(raw: Any) -> BundleInfo:
    """A :class:`BundleInfo` from a parsed config.json, every field checked.

    Raises:
        ValueError: naming the field, what was expected and what arrived
            (``ConfigError`` for the model's fields, with the training config's rules).
    """
    if not isinstance(raw, dict) or raw.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"it does not say format={BUNDLE_FORMAT!r}; is this a glcic bundle?")
    version = raw.get("version")
    if not _is_int(version) or version < 1:
        raise ValueError(f"version must be a whole number >= 1 (this glcic writes {BUNDLE_VERSION}); got {version!r}")
    if version > BUNDLE_VERSION:
        raise ValueError(f"it is bundle version {version}; this glcic reads up to {BUNDLE_VERSION}: upgrade glcic")
    missing = [k for k in ("model", "resolution", "mean_pixel") if k not in raw]
    if missing:
        raise ValueError(f"{', '.join(missing)} missing; a bundle written by `glcic export` has them")
    resolution = raw["resolution"]
    if not _is_int(resolution) or not 16 <= resolution <= MAX_RESOLUTION or resolution % 4:
        raise ValueError(
            f"resolution (the training data.size) must be a multiple of 4 from 16 to {MAX_RESOLUTION}; got {resolution!r}"
        )
    model = check_bundle_model(raw["model"], resolution)
    if "value_range" in raw and raw["value_range"] != list(model.value_range):
        raise ValueError(
            f"value_range {raw['value_range']!r} does not match model.output={model.output!r}, "
            f"which gives {list(model.value_range)}"
        )
    texts = {k: raw.get(k, "") for k in TEXT_FIELDS}
    bad = [k for k, v in texts.items() if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{', '.join(bad)} must be text; got {', '.join(repr(texts[k]) for k in bad)}")
    extra = {k: v for k, v in raw.items() if k not in KNOWN_FIELDS}
    if "step" in extra and (not _is_int(extra["step"]) or extra["step"] < 0):
        raise ValueError(f"step must be a whole number >= 0; got {extra['step']!r}")
    if "train_config" in extra and not isinstance(extra["train_config"], dict):
        raise ValueError(f"train_config must be a mapping; got {type(extra['train_config']).__name__}")
    texts["name"] = texts["name"] or "glcic"
    return BundleInfo(model, resolution, check_mean_pixel(raw["mean_pixel"]), **texts, extra=extra)


def check_bundle_model(raw: Any, resolution: int) -> ModelConfig:
    """``model`` of config.json as a :class:`ModelConfig`: the training config's rules, plus bounds.

    Raises:
        ConfigError: a field fails a training-config rule (``model.dilations must be ...``).
        ValueError: a width over :data:`MAX_WIDTH`, or a dilation over ``resolution``.
    """
    model = dataclass_from_dict(ModelConfig, raw, "model.")  # keys and types
    Config(model=model).validate()  # choices, dilations >= 1, widths > 0, attributes >= 0: one set of rules
    for name in ("width", "disc_width"):
        value = getattr(model, name)
        if not math.isfinite(value) or value > MAX_WIDTH:
            raise ValueError(
                f"model.{name} must be a number in (0, {MAX_WIDTH:g}] (the paper's network is 1); got {value!r}"
            )
    if max(model.dilations) > resolution:
        raise ValueError(
            f"model.dilations must be at most the resolution ({resolution}); a larger one reads only padding; "
            f"got {model.dilations}"
        )
    return model


def check_mean_pixel(value: Any) -> list[float]:
    """Three finite numbers in [0, 1] (a dataset's mean RGB) as floats.

    Raises:
        ValueError: anything else, saying what arrived.
    """
    ok = isinstance(value, (list, tuple)) and len(value) == 3
    ok = ok and all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x <= 1 for x in value)
    if not ok:  # NaN fails 0 <= x <= 1
        raise ValueError(f"mean_pixel must be 3 numbers in [0, 1] (the mean RGB); got {value!r}")
    return [float(x) for x in value]


def _is_int(value: Any) -> bool:
    """A JSON whole number (``True`` and ``"1"`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def load_bundle(path: str | Path | None = DEFAULT_MODEL, map_location: str | torch.device = "cpu") -> tuple[CompletionNetwork, BundleInfo]:
    """Load a completion network and its info from a bundle folder or a shipped model's name."""
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
