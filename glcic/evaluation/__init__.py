"""Evaluation: the completion network against classical baselines on held-out images.

:func:`evaluate` runs each method on the first N images of a folder (or of a CelebA
partition, or of a folder's training split), each with a hole mask drawn
deterministically from ``(seed, image index)``, and measures the result against the
ground truth with :func:`glcic.metrics.all_metrics`:

- ``psnr``, ``ssim``: the whole image (known pixels included), in [0, 1] units;
- ``hole_psnr``, ``hole_l1``: the hole only (MSE / mean absolute error over hole pixels
  and the three channels), in [0, 1] units;
- ``detail``, ``colour_detail``, ``grid_peak_4``, ``grid_peak_2``, ``stripe_peak``: the fill's
  texture and colour variation against the photo's, its 4 px / 2 px upsampling pattern, and
  its strongest stripes of any period from 2 to 16 px (:func:`glcic.metrics.texture_metrics`),
  as median and mean over the images.

By default images are preprocessed as the model was trained (centre crop to a square,
resize to the bundle's resolution, :func:`glcic.data.preprocess`) and the network runs
alone, composited. With ``size="native"`` each image keeps its own size and every
method runs through :class:`glcic.pipeline.InpaintPipeline` with ``glcic inpaint``'s
defaults: what a user gets. ``masks="nvidia-bins"`` evaluates the same images on
NVIDIA masks of each hole-area bin of the literature, as one table. Unreadable images
are skipped with a warning naming each, and counted in the report. Mask convention:
**1 / white / non-zero = hole**.

The modules, in the order the data flows:

- :mod:`~glcic.evaluation.masks`: mask specs (``--masks``) and the masks of each image;
- :mod:`~glcic.evaluation.images`: which images, preprocessed, and what each method sees;
- :mod:`~glcic.evaluation.methods`: method names, the network's bundle, one call per method;
- :mod:`~glcic.evaluation.scoring`: PSNR / SSIM / hole metrics, LPIPS and FID;
- :mod:`~glcic.evaluation.runner`: every method on every image, warmed up and timed;
- :mod:`~glcic.evaluation.report`: averages, hole-area bins, the JSON report;
- :mod:`~glcic.evaluation.markdown`: the report as Markdown tables;
- :mod:`~glcic.evaluation.grid`: the comparison picture.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from glcic.errors import InputError
from glcic.evaluation.grid import grid_size, write_grid
from glcic.evaluation.images import list_eval_images
from glcic.evaluation.markdown import format_markdown
from glcic.evaluation.mask_specs import MaskSpec, mask_bins, parse_mask_spec
from glcic.evaluation.masks import (
    EvalMasks,
    MaskMaker,
    build_masks,
    default_nvidia_folder,
    mask_folder,
    resolve_rect_params,
    save_masks,
)
from glcic.evaluation.methods import (
    build_methods,
    inference_options,
    parse_methods,
    read_model_info,
)
from glcic.evaluation.report import (
    aggregate,
    area_bin,
    build_report,
    family_scores,
)
from glcic.evaluation.runner import run_methods
from glcic.evaluation.scoring import Scorer
from glcic.options import DEFAULT_DATA_ROOT, DEFAULT_MODEL, METHODS, METRICS, NATIVE_SIZE

__all__ = [
    "METHODS",
    "METRICS",
    "EvalMasks",
    "MaskMaker",
    "MaskSpec",
    "aggregate",
    "area_bin",
    "build_masks",
    "default_nvidia_folder",
    "evaluate",
    "family_scores",
    "format_markdown",
    "grid_size",
    "list_eval_images",
    "mask_bins",
    "parse_mask_spec",
    "resolve_rect_params",
    "save_masks",
    "write_grid",
]


def evaluate(
    model: str | os.PathLike | None = DEFAULT_MODEL,
    data: str | os.PathLike = DEFAULT_DATA_ROOT,
    masks: str = "rect",
    limit: int | None = 100,
    seed: int = 0,
    methods: str | Sequence[str] | None = None,
    size: int | str | None = None,
    split: str | None = None,
    grid: str | os.PathLike | None = None,
    save_masks_to: str | os.PathLike | None = None,
    lpips_weights: str | os.PathLike | None = None,
    fid_weights: str | os.PathLike | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    pipeline: Any | None = None,
    progress: bool | None = None,
    val_fraction: float | None = None,
    strategy: str | None = None,
) -> dict[str, Any]:
    """Evaluate the network and classical baselines on held-out images.

    Args:
        model: a shipped model's name (``faces``, ``scenes``, ``default``) or a bundle folder. Needed for ``glcic`` and for the default
            ``size`` and the ``rect`` hole sizes; without ``glcic`` among the methods an
            unreadable model is allowed when ``size`` is given.
        data: a CelebA root or a folder of images.
        masks: a mask spec (see :func:`parse_mask_spec`); ``nvidia-bins`` runs every
            bin of :data:`glcic.options.NVIDIA_AREA_BINS` on the same images.
        limit: the first N images in sorted order (None or 0 = all).
        seed: seed of the masks; image i's mask depends on (seed, i) only.
        methods: names from :data:`METHODS`, a list or a comma-separated string; None
            (default): the network and every classical method that can run here
            (:func:`glcic.classical.available_methods`).
        size: side the images are cropped and resized to (default: the bundle's
            resolution), or ``"native"``: each image at its own size, every method
            through the pipeline with ``glcic inpaint``'s defaults.
        split: CelebA partition (default ``val``); for a plain folder ``train`` / ``val``
            is the split training makes of it (default: every image).
        grid: write a comparison picture (PNG) of the first rows here.
        save_masks_to: write the masks as PNGs into this folder.
        lpips_weights, fid_weights: local weight files (never downloaded): the ``lpips``
            package's AlexNet LPIPS state dict and pytorch-fid's Inception-v3
            (see :mod:`glcic.feature_metrics`). Add ``lpips`` (mean per image, lower is
            better) and ``fid`` (completed set against the ground-truth set) per method.
        device, precision: for the network (``precision`` as in InpaintPipeline:
            ``fp32`` by default so that the numbers do not depend on the CPU's bf16 support).
        pipeline: an InpaintPipeline to use instead of loading ``model``.
        progress: show a progress bar (default: when stderr is a terminal).
        strategy: the network's scale rule (:data:`glcic.options.STRATEGIES`); default
            ``original`` at a square size (the network alone, as trained), ``auto`` with
            ``native``. ``auto`` scores a model at a size it was not trained for as
            ``glcic inpaint`` would run it.
        val_fraction: a plain folder's held-out share for ``split`` (default: the one the
            bundle was trained with, from its ``train_config``; else ``DataConfig``'s).

    Returns:
        The report, a JSON-able dict (keys in :mod:`glcic.evaluation.report`).

    Raises:
        InputError: bad paths, specs, methods or weights, or no readable image.

    Warns:
        UserWarning: once per image that cannot be read (it is skipped and counted).
    """
    # 1. Check every option (LPIPS / FID weights loaded here) before any work.
    scorer = Scorer(lpips_weights, fid_weights)
    names = parse_methods(methods)
    spec = parse_mask_spec(masks) if isinstance(masks, str) else masks
    native = _check_size(size)
    opts = inference_options(native, strategy)  # a bad strategy fails before any work

    # 2. The bundle sets the default size and the training holes of ``rect``.
    need_model = "glcic" in names or size is None
    info, model_path = read_model_info(model, pipeline, required=need_model)
    px = None if native else int(info.resolution if size is None else size)

    # 3. The images, and who draws their masks (image i's from (seed, i), one per bin).
    if val_fraction is None:  # a folder is held out as the model's training held it out
        val_fraction = trained_val_fraction(info)
    paths, split = list_eval_images(data, split, limit, val_fraction)
    makers = [MaskMaker(s, seed, info, px, label) for label, s in mask_bins(spec)]
    params = makers[0].params if len(makers) == 1 else {
        "kind": spec.kind, "bins": {m.label: m.params for m in makers}
    }

    # 4. Every method on every image: warmed up, timed, scored.
    runners = build_methods(names, model, device, precision, pipeline, native=native, strategy=strategy)
    out_dir = mask_folder(save_masks_to) if save_masks_to is not None else None
    results = run_methods(paths, px, makers, runners, scorer, progress, out_dir)

    # 5. The report, and the comparison picture of the first images.
    report = build_report(
        masks_text=spec.text, seed=seed, size=px, data=data, split=split, model_info=info,
        model_path=model_path, mask_params=params, inference=opts,
        results=results, scorer=scorer,
    )  # fmt: skip
    if grid is not None:
        write_grid(grid, results.grid_rows, names)
    return report


def trained_val_fraction(info: Any | None) -> float | None:
    """``data.val_fraction`` of the bundle's training config (None when it does not say)."""
    value = info.train_section("data").get("val_fraction") if info is not None else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _check_size(size: int | str | None) -> bool:
    """True for ``"native"``; None or an int >= 16 (SSIM's 7x7 window) is a square side."""
    if size == NATIVE_SIZE:
        return True
    if size is not None and (isinstance(size, str) or int(size) != size or size < 16):
        raise InputError(
            f"--size must be an integer >= 16 (SSIM uses a 7x7 window) or {NATIVE_SIZE}; got {size!r}"
        )
    return False
