"""The methods under test: their names, the network's bundle, and one call per method.

Every method is a :class:`Method`: ``run(image, mask) -> image`` on ``uint8``
(H, W, 3) pictures and ``bool`` (H, W) masks (True = hole). The network runs through
the one inference call (:class:`glcic.pipeline.InpaintPipeline`), the classical
baselines through :func:`glcic.classical.inpaint_classical` at the model's
resolution and through the pipeline at native sizes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from glcic.errors import InputError
from glcic.options import DEFAULT_MODEL, METHODS


@dataclass(frozen=True)
class Method:
    """One method: ``run(masked uint8 (H, W, 3), mask bool (H, W)) -> uint8 (H, W, 3)``.

    ``warm_up``: call it once untimed before the first timed call (one-time
    allocations and kernel choice of the network would otherwise count as its time).
    """

    name: str
    run: Callable[[np.ndarray, np.ndarray], np.ndarray]
    warm_up: bool = False


def parse_methods(methods: str | Sequence[str] | None) -> list[str]:
    """Method names from a list or a comma-separated string, each one of :data:`METHODS`.

    None is every method that can run here: the network and the classical methods of
    :func:`glcic.classical.available_methods` (``patchmatch`` needs PyPatchMatch's native
    library, ``fsr`` OpenCV's contrib module).

    Raises:
        InputError: no method, an unknown one, one listed twice, or one that cannot run
            here (the message says why and how to fix it), before any work.
    """
    from glcic.classical import available_methods, unavailable_methods

    if methods is None:
        return ["glcic", *available_methods()]
    items = (
        [m.strip() for m in methods.split(",")]
        if isinstance(methods, str)
        else [str(m).strip() for m in methods]
    )
    items = [m for m in items if m]
    if not items:
        raise InputError(f"no method given; choose from {', '.join(METHODS)}")
    bad = [m for m in items if m not in METHODS]
    if bad:
        raise InputError(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(METHODS)}")
    if len(set(items)) != len(items):
        raise InputError(f"method listed twice in {','.join(items)}; give each once")
    missing = unavailable_methods()
    for m in items:
        if m in missing:
            raise InputError(f"method {m} cannot run here: {missing[m]}")
    return items


def read_model_info(
    model: str | os.PathLike | None, pipeline: Any | None, required: bool
) -> tuple[Any | None, str | None]:
    """The bundle's :class:`glcic.bundle.BundleInfo` (resolution, training holes) and
    the model path to report.

    Taken from ``pipeline`` when it has one (path None), else read from ``model``.

    Args:
        required: re-raise when the bundle cannot be read; else return ``(None, None)``
            (classical methods with an explicit size need no model).

    Raises:
        BundleError: an unreadable bundle while ``required``.
    """
    from glcic.bundle import read_bundle_info
    from glcic.errors import BundleError

    if pipeline is not None and getattr(pipeline, "bundle_info", None) is not None:
        return pipeline.bundle_info, None
    try:
        info = read_bundle_info(model)
    except BundleError:
        if required:
            raise
        return None, None
    return info, str(model) if model is not None else DEFAULT_MODEL


def inference_options(native: bool, strategy: str | None = None) -> dict[str, str]:
    """How the pipeline is called: at a square size the completion network alone (the
    ``original`` scale, no post-processing); at native sizes what ``glcic inpaint`` does,
    its defaults read from :mod:`glcic.options` now. ``strategy`` overrides the scale rule:
    ``auto`` or ``resize`` scores a model at a size it was not trained for as a user would
    run it (``original`` runs a 64 px network on 128 px squares at twice its scale)."""
    from glcic import options

    if strategy is not None:
        options.check_choice("strategy", strategy, options.STRATEGIES)
    if not native:
        return {"strategy": strategy or "original", "postprocess": "none"}
    return {"strategy": strategy or options.DEFAULT_STRATEGY, "postprocess": options.DEFAULT_POSTPROCESS}


def build_methods(
    names: Sequence[str],
    model: str | os.PathLike | None,
    device: str,
    precision: str,
    pipeline: Any | None = None,
    native: bool = False,
    strategy: str | None = None,
) -> list[Method]:
    """One :class:`Method` per name, in order; loads the network when ``glcic`` is asked for
    (or uses ``pipeline``).

    At the model's resolution the classical methods are called directly; with
    ``native`` every method runs through the pipeline with :func:`inference_options`
    (``strategy`` overriding its scale rule).
    """
    from glcic.classical import inpaint_classical
    from glcic.pipeline import InpaintPipeline

    opts = inference_options(native, strategy)
    pipe = pipeline
    if pipe is None and "glcic" in names:
        pipe = _load_pipeline(model, device, precision)
    elif pipe is None and native:
        pipe = InpaintPipeline.classical()
    out = []
    for name in names:
        if name == "glcic" or native:
            out.append(Method(name, _pipeline_runner(pipe, name, opts), warm_up=name == "glcic"))
        else:
            out.append(Method(name, lambda img, m, name=name: inpaint_classical(name, img, m)))
    return out


def _pipeline_runner(
    pipe: Any, method: str, opts: dict[str, str]
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``method`` through the pipeline with the options ``opts`` (strategy, postprocess)."""

    def run(img: np.ndarray, m: np.ndarray) -> np.ndarray:
        return pipe(img, m.astype(np.uint8) * 255, method=method, **opts)

    return run


def _load_pipeline(model: Any, device: str, precision: str) -> Any:
    from glcic.pipeline import InpaintPipeline

    return InpaintPipeline.from_pretrained(
        model if model is not None else DEFAULT_MODEL, device=device, precision=precision
    )
