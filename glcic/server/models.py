"""The models a server holds, by name; a request picks one with its ``model`` field.

A shipped model is named as it is shipped (``faces``, ``scenes``: :data:`glcic.options.SHIPPED_MODELS`),
a bundle folder by its folder's name, a pipeline handed to ``create_app`` by its bundle's
name. ``default`` (:data:`glcic.options.DEFAULT_MODEL`) always names the server's default
model, which is the first one given unless told otherwise. Every model is loaded at start
(about 6 MB each), so a missing or broken one fails there, not on a request.

``GET /api/v1/models`` describes each model for people (:func:`describe_model`): what it is
for, the resolution once, the training data by what it is (never the folder it was read
from on the machine that trained it), and the licence; ``summary`` says it in one line.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glcic.errors import BundleError
from glcic.options import DEFAULT_MODEL
from glcic.server.errors import ApiError


@dataclass(frozen=True)
class ModelSet:
    """The loaded pipelines by name, and the name of the default one.

    Raises:
        ValueError: no pipeline, a name that is not non-empty text, a ``default`` that is
            not among them, or a model named ``default`` that is not the default.
    """

    pipelines: Mapping[str, Any]
    """Name -> :class:`glcic.pipeline.InpaintPipeline` (or anything with ``info`` and ``run``)."""
    default: str

    def __post_init__(self) -> None:
        if not self.pipelines:
            raise ValueError("a server needs at least one model; got none")
        bad = [n for n in self.pipelines if not isinstance(n, str) or not n.strip()]
        if bad:
            raise ValueError(f"model names must be non-empty text; got {', '.join(map(repr, bad))}")
        if self.default not in self.pipelines:
            raise ValueError(
                f"the default model must be one of the loaded ones ({', '.join(map(repr, self.names))}); "
                f"got {self.default!r}"
            )
        if DEFAULT_MODEL in self.pipelines and self.default != DEFAULT_MODEL:
            raise ValueError(
                f"a model named {DEFAULT_MODEL!r} must be the default: requests use that name for "
                f"the default ({self.default!r}); rename it"
            )

    @classmethod
    def single(cls, pipeline: Any) -> ModelSet:
        """One pipeline, named after its bundle (``info["name"]``), or ``default``."""
        info = getattr(pipeline, "info", None) or {}
        name = info.get("name") or DEFAULT_MODEL
        return cls({name: pipeline}, name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.pipelines)

    def choices(self) -> str:
        """What a request may name, for error messages: ``'scenes', 'faces' or 'default' (= 'scenes')``."""
        names = ", ".join(repr(n) for n in self.names if n != DEFAULT_MODEL)
        alias = f"{DEFAULT_MODEL!r} (= {self.default!r})"
        return f"{names} or {alias}" if names else alias

    def resolve(self, value: Any, status: int = 422) -> str:
        """The loaded model that ``value`` names (``default``: the default).

        Raises:
            ApiError: ``status`` ``unknown_model``, listing the names this server has.
        """
        if value == DEFAULT_MODEL:
            return self.default
        if isinstance(value, str) and value in self.pipelines:
            return value
        raise ApiError(
            status,
            "unknown_model",
            f"model must name one of this server's models: {self.choices()}, listed by "
            f"GET /api/v1/models; got {reprlib.repr(value)}",
        )

    def describe(self, name: str) -> dict[str, Any]:
        """``name``'s entry in ``GET /api/v1/models``: its name here, whether it is the default,
        its bundle's own name and the pipeline's ``info`` (resolution, licence, ...)."""
        pipeline = self.pipelines[name]
        info = dict(pipeline.info)
        bundle_name = info.pop("name", name)
        bundle = getattr(pipeline, "bundle_info", None)
        data = bundle.train_section("data") if hasattr(bundle, "train_section") else {}
        return {
            "name": name,
            "default": name == self.default,
            "bundle_name": bundle_name,
            **info,
            **describe_model(info, data),
        }


# --------------------------------------------------------------------------- for people

KNOWN_DATA = {
    "celeba": ("CelebA", "CelebA aligned face photos (Liu et al., ICCV 2015)"),
    "scenes": (
        "natural-scene photographs",
        "4,311 natural-scene photographs (landscapes, streets, buildings, rooms, animals, objects "
        "from the Kaggle photo set, ImageNet, Urban100, Sun-Hays 80 and CamVid)",
    ),
}
"""Training sets this project trains on, by the folder name its configs read them from ->
(a short name, what they are). A shipped bundle's ``training_data`` is the folder it was
read from; people are told what the data is instead."""
PATH = re.compile(r"(?<![\w.])(?:~|\.{1,2})?/[^\s,;:()]+|\b[A-Za-z]:\\[^\s,;:()]+")
"""A file path in free text: ``../shared/data/scenes``, ``/data/x``, ``~/x``, ``C:\\x``."""
RESOLUTION_CLAUSE = re.compile(r"\s*[;,(]?\s*trained at \d+\s*px\)?\.?\s*$", re.IGNORECASE)
"""A description's closing "; trained at 128 px": the resolution has a field of its own."""


def describe_model(info: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A model's text for people, from its ``info`` and its bundle's training ``data`` config.

    Returns:
        ``description`` (what it is for, without a closing "trained at N px"),
        ``training_data`` (what the data is; a known set by name, never a path),
        ``license`` (the bundle's, a path in it replaced by the data's name) and
        ``summary``: one line saying each of them once, which the page shows.
    """
    short, what = _training_data(str(info.get("training_data") or ""), data)
    description = RESOLUTION_CLAUSE.sub("", str(info.get("description") or "")).strip()
    license_text = PATH.sub(short, str(info.get("license") or "")).strip()
    parts = [description.rstrip(".") + "." if description else ""]
    resolution = info.get("resolution")
    trained = f"Trained at {resolution} px" if resolution else ""
    if what:
        trained = f"{trained} on {what}" if trained else f"Trained on {what}"
    parts.append(trained + "." if trained else "")
    terms = _terms(license_text) if what else license_text
    parts.append(f"Licence: {terms.rstrip('.')}." if terms else "")
    return {
        "description": description,
        "training_data": what,
        "license": license_text,
        "summary": " ".join(p for p in parts if p),
    }


def _training_data(text: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """(a short name, what the data is) for a bundle's ``training_data`` text and data config.

    The bundle's own words win when they describe the data; a known set (:data:`KNOWN_DATA`,
    found in the data config's folders or the text) is named when the text is a folder or
    missing."""
    places = [str(data.get("root") or ""), *map(str, data.get("extra_roots") or ()), text]
    if data.get("format") == "celeba":
        places.insert(0, "celeba")
    parts = (part for place in places for part in reversed(re.split(r"[\\/\s()]+", place.lower())))
    short, known = next((KNOWN_DATA[p] for p in parts if p in KNOWN_DATA), ("its training images", ""))
    if text and not PATH.search(text):
        return short, text
    if known or not text:
        return short, known
    # A folder on the machine that trained it: says nothing here.
    return short, "images from a folder the bundle does not describe"


def _terms(license_text: str) -> str:
    """The licence without a leading "Weights trained on X:", which the data already says."""
    m = re.match(r"\s*weights trained on [^:]*:\s*(.+)", license_text, re.IGNORECASE | re.DOTALL)
    return m.group(1) if m else license_text


# --------------------------------------------------------------------------- loading


def split_models(values: Sequence[str] | None) -> list[str]:
    """``--model`` values as a list: each may hold several, separated by commas (a value that
    is an existing path is kept whole, commas and all).

    Raises:
        BundleError: an empty entry (``faces,`` or ``,``).
    """
    specs: list[str] = []
    for value in values or ():
        parts = [value] if Path(value).exists() else value.split(",")
        for part in parts:
            if not part.strip():
                raise BundleError(
                    f"--model {value!r} has an empty entry; give model names or bundle folders "
                    "separated by commas, e.g. --model faces,scenes"
                )
            specs.append(part.strip())
    return specs


def model_name(spec: str) -> str:
    """The name a model goes by on the server: a shipped model's (``default`` -> its target),
    else the bundle folder's own name.

    Raises:
        BundleError: a shipped model that is not installed, or a path that is no bundle.
    """
    from glcic.bundle import resolve_bundle_path, shipped_name

    folder = resolve_bundle_path(spec)  # checks it is there, with a message that says what to do
    return shipped_name(spec) or folder.name


def load_models(specs: Sequence[str] | str | None = None, device: str = "cpu") -> ModelSet:
    """Load every model of ``specs`` (shipped names or bundle folders); the first is the default.

    Without ``specs``: every installed shipped model, :data:`~glcic.options.DEFAULT_MODEL_TARGET`
    the default. One string is one model (not a sequence of one-letter names).

    Raises:
        BundleError: a model that is missing or broken, or two that go by the same name.
    """
    from glcic.bundle import installed_models
    from glcic.pipeline import InpaintPipeline

    if isinstance(specs, (str, Path)):
        specs = [str(specs)]
    # None installed: 'default' fails, saying which model is missing and what to do.
    specs = list(specs) if specs else installed_models() or [DEFAULT_MODEL]
    named: dict[str, str] = {}
    for spec in specs:
        name = model_name(spec)
        if name in named:
            raise BundleError(
                f"--model {named[name]!r} and --model {spec!r} both go by the name {name!r} on the "
                "server; give each model once, and bundle folders distinct folder names"
            )
        if name == DEFAULT_MODEL:
            raise BundleError(
                f"the bundle folder {spec!r} is named {DEFAULT_MODEL!r}, which requests use for the "
                "default model; rename the folder"
            )
        named[name] = spec
    pipelines = {
        name: InpaintPipeline.from_pretrained(spec, device=device) for name, spec in named.items()
    }
    return ModelSet(pipelines, next(iter(pipelines)))
