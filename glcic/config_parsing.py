"""Reading a config from text: YAML presets and files, ``key=value`` overrides, plain dicts.

:func:`glcic.config.load_config` resolves a run's config from these parts: the preset
or YAML file (:func:`_find_preset`, :func:`_read_yaml`), then the ``--set`` overrides
(:func:`apply_overrides`), then :func:`dataclass_from_dict` builds the typed dataclasses of
:mod:`glcic.config` from the plain dict, key by key and type by type. Every mistake is a
:class:`~glcic.errors.ConfigError` that says what was expected.
"""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from glcic.errors import ConfigError

# The presets ship inside the package; the repository's configs/ is a link to this folder.
PRESET_DIRS = (Path(__file__).resolve().parent / "configs",)


def preset_names() -> list[str]:
    names: set[str] = set()
    for d in PRESET_DIRS:
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)


def _find_preset(name: str) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ConfigError(f"config file {p} not found; give a preset ({', '.join(preset_names())}) or a YAML path")
        return p
    for d in PRESET_DIRS:
        cand = d / f"{name}.yaml"
        if cand.is_file():
            return cand
    raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(preset_names())}, or give a YAML file path")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from e
    return data or {}


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """Write ``key=value`` overrides into the plain config dict ``raw``, in place.

    Args:
        raw: the config as read from a preset or YAML file (sections of plain values).
        overrides: strings like ``train.batch_size=32`` or ``model.dilations=[1,2,4,8]``;
            each value is read as YAML (kept as the string where that fails or gives null).
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value, e.g. train.batch_size=32")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) != 2:
            raise ConfigError(f"override key {key!r} must be section.key, e.g. train.batch_size")
        try:
            parsed = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            parsed = value
        if parsed is None:
            parsed = value
        raw.setdefault(parts[0], {})
        if not isinstance(raw[parts[0]], dict):
            raise ConfigError(f"config section {parts[0]!r} must be a mapping")
        raw[parts[0]][parts[1]] = parsed


def dataclass_from_dict(cls: type, d: dict[str, Any], prefix: str = "") -> Any:
    """Build the config dataclass ``cls`` from a plain dict, checking keys and types.

    ``prefix`` (e.g. ``"model."``) names the section in error messages.

    Raises:
        ConfigError: an unknown key, or a value of the wrong type.
    """
    if not isinstance(d, dict):
        raise ConfigError(f"{prefix or 'config'} must be a mapping; got {type(d).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + k for k in unknown)}; "
            f"known keys{' under ' + prefix.rstrip('.') if prefix else ''}: {', '.join(sorted(known))}"
        )
    kwargs = {}
    for name, value in d.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = dataclass_from_dict(tp, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, tp, f"{prefix}{name}")
    return cls(**kwargs)


def _coerce(value: Any, tp: Any, name: str) -> Any:
    origin = get_origin(tp)
    try:
        if origin is list:
            (inner,) = get_args(tp)
            if isinstance(value, str):
                value = yaml.safe_load(value if value.startswith("[") else f"[{value}]")
            if not isinstance(value, (list, tuple)):
                raise TypeError
            return [_coerce(v, inner, name) for v in value]
        if tp is bool:
            if isinstance(value, str):
                low = value.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise TypeError
            if not isinstance(value, bool):
                raise TypeError
            return value
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if tp is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if tp is str:
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    tname = getattr(tp, "__name__", str(tp))
    raise ConfigError(f"{name} expects {tname}; got {value!r}")
