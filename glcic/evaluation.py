"""Evaluation: the completion network against classical baselines on held-out images.

:func:`evaluate` runs each method on the first N images of a folder (or of a CelebA
partition), each with a hole mask drawn deterministically from ``(seed, image index)``,
and measures the composited result against the ground truth with
:func:`glcic.metrics.all_metrics`:

- ``psnr``, ``ssim``: the whole composited image (known pixels included), in [0, 1] units;
- ``hole_psnr``, ``hole_l1``: the hole only (MSE / mean absolute error over hole pixels
  and the three channels), in [0, 1] units.

Images are preprocessed as the model was trained (centre crop to a square, resize to
the bundle's resolution, :func:`glcic.data.preprocess`). Mask convention: **1 / white /
non-zero = hole**.

Mask specs (:func:`parse_mask_spec`):

- ``rect``: one rectangle of the training distribution (the bundle's training config
  when it is there, else sides of 29-50 % of the image), inside a random local window;
- ``center``: one centred square of half the side;
- ``freeform``: brush strokes (:class:`glcic.data.FreeFormMaskGenerator`);
- ``nvidia:LO-HI`` or ``nvidia:LO-HI@FOLDER``: NVIDIA irregular masks whose hole area is
  LO-HI percent (measured on the 512 px originals, from the index CSV);
- any other value: a folder of mask images, used in sorted order (image i gets mask
  ``i mod count``), resized with nearest-neighbour interpolation.

The report is a plain JSON-able dict (see :func:`evaluate`); :func:`format_markdown`
renders it as tables and :func:`write_grid` draws a comparison picture.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glcic.errors import InputError

__all__ = [
    "CLASSICAL",
    "DEFAULT_METHODS",
    "METHODS",
    "METRICS",
    "EvalMasks",
    "MaskSpec",
    "aggregate",
    "area_bin",
    "build_masks",
    "default_nvidia_folder",
    "evaluate",
    "format_markdown",
    "grid_size",
    "list_eval_images",
    "parse_mask_spec",
    "resolve_rect_params",
    "save_masks",
    "write_grid",
]

CLASSICAL = ("telea", "ns", "biharmonic", "mean")
"""Classical baselines, run with :func:`glcic.classical.inpaint_classical`."""
METHODS = ("glcic", *CLASSICAL)
"""Every method name :func:`evaluate` accepts (``glcic`` is the network)."""
DEFAULT_METHODS = METHODS

METRICS = ("psnr", "ssim", "hole_psnr", "hole_l1")
MASK_KINDS = ("rect", "center", "freeform", "nvidia", "folder")
_SPEC_HELP = (
    "rect, center, freeform, nvidia:LO-HI (hole area in percent, e.g. nvidia:10-20), "
    "nvidia:LO-HI@FOLDER, or a folder of mask images (white = hole)"
)
RECT_DEFAULT_FRACTIONS = (0.29, 0.50)
"""Hole sides (fractions of the image side) of ``rect`` when the bundle has no training
config: the report's 46-80 px at 160 px."""
BIN_WIDTH = 10
"""Width of the hole-area bins, in percent of the image."""
MAX_REDRAWS = 100
GRID_ROWS = 8
GRID_PAD = 2
GRID_HEADER = 14


# --------------------------------------------------------------------------------------
# Mask specs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskSpec:
    """A parsed ``--masks`` value.

    Attributes:
        kind: one of :data:`MASK_KINDS`.
        text: the spec as the user wrote it (stored in the report).
        area: ``(lo, hi)`` hole fractions in [0, 1] for ``nvidia``.
        folder: the mask folder for ``nvidia`` (None = the shared default) and ``folder``.
    """

    kind: str
    text: str
    area: tuple[float, float] | None = None
    folder: Path | None = None


def parse_mask_spec(spec: str) -> MaskSpec:
    """Parse a mask spec (see the module docstring).

    Raises:
        InputError: an unknown spec, a malformed ``nvidia:LO-HI`` range, or a mask
            folder that does not exist.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"mask spec must be one of {_SPEC_HELP}; got {spec!r}")
    text = spec.strip()
    low = text.lower()
    if low in ("rect", "center", "freeform"):
        return MaskSpec(low, text)
    if low == "nvidia" or low.startswith("nvidia:"):
        body = text[len("nvidia:") :] if low.startswith("nvidia:") else ""
        rng, _, folder = body.partition("@")
        parts = rng.split("-")
        try:
            if len(parts) != 2:
                raise ValueError
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise InputError(
                f"mask spec {text!r}: expected nvidia:LO-HI with the hole area in percent, "
                "e.g. nvidia:10-20 or nvidia:10-20@/path/to/masks"
            ) from None
        if not 0 <= lo < hi <= 100:
            raise InputError(
                f"mask spec {text!r}: the hole-area range must satisfy 0 <= LO < HI <= 100 "
                f"(percent of the image); got {lo:g}-{hi:g}"
            )
        if "@" in body and not folder:
            raise InputError(f"mask spec {text!r}: nothing after '@'; give nvidia:LO-HI@FOLDER")
        return MaskSpec(
            "nvidia", text, area=(lo / 100, hi / 100), folder=Path(folder) if folder else None
        )
    path = Path(text)
    if path.is_dir():
        return MaskSpec("folder", text, folder=path)
    if path.exists():
        raise InputError(
            f"mask spec {text!r} is a file; a mask spec is {_SPEC_HELP} (give the folder that "
            "holds the mask images)"
        )
    raise InputError(f"unknown mask spec {text!r}: expected {_SPEC_HELP} (no such folder either)")


def default_nvidia_folder() -> Path:
    """The NVIDIA irregular test masks of the shared data folder.

    ``$GLCIC_SHARED_DATA/masks/nvidia_irregular_test`` when that variable is set, else
    ``../shared/data/masks/nvidia_irregular_test`` relative to the working directory
    (where the default data paths of the configs point too).
    """
    root = os.environ.get("GLCIC_SHARED_DATA")
    base = Path(root) if root else Path("../shared/data")
    return base / "masks" / "nvidia_irregular_test"


def resolve_rect_params(size: int, info: Any | None) -> dict[str, Any]:
    """Hole parameters of ``rect`` (and the window of ``freeform``) at ``size`` px.

    From the bundle's training config (``info.extra["train_config"]["mask"]``, sizes at
    the training resolution) scaled by ``size / resolution``; else holes of
    :data:`RECT_DEFAULT_FRACTIONS` of the side in a window as large as the biggest hole.

    Returns:
        ``{"hole_min", "hole_max", "local_size", "num_holes", "source"}``.
    """
    mask_cfg = None
    if info is not None:
        tc = info.extra.get("train_config") if isinstance(info.extra, dict) else None
        if isinstance(tc, dict) and isinstance(tc.get("mask"), dict):
            mask_cfg = tc["mask"]
    if mask_cfg is not None and all(k in mask_cfg for k in ("hole_min", "hole_max", "local_size")):
        train_size = int(tc.get("data", {}).get("size", info.resolution))
        scale = size / train_size
        local = min(size, max(1, round(mask_cfg["local_size"] * scale)))
        hole_max = min(local, max(1, round(mask_cfg["hole_max"] * scale)))
        hole_min = min(hole_max, max(1, round(mask_cfg["hole_min"] * scale)))
        num = mask_cfg.get("num_holes", [1, 1])
        source = f"bundle train_config (mask at {train_size} px)"
    else:
        hole_min = max(1, round(RECT_DEFAULT_FRACTIONS[0] * size))
        hole_max = max(hole_min, round(RECT_DEFAULT_FRACTIONS[1] * size))
        local, num = hole_max, [1, 1]
        source = "default: 29-50 % of the side"
    return {
        "hole_min": int(hole_min),
        "hole_max": int(hole_max),
        "local_size": int(local),
        "num_holes": [int(num[0]), int(num[1])],
        "source": source,
    }


def _image_generator(seed: int, index: int) -> torch.Generator:
    """The generator of image ``index``'s mask: depends on (seed, index) only, so the
    mask of an image does not change with ``limit`` or the methods."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index)]).generate_state(2)
    return torch.Generator().manual_seed((int(state[0]) << 32) | int(state[1]))


@dataclass
class EvalMasks:
    """The masks of one evaluation: ``masks[i]`` is ``bool`` (size, size), True = hole;
    ``sources[i]`` names the mask file used (None for generated masks)."""

    masks: list[np.ndarray]
    sources: list[str | None]
    params: dict[str, Any]


def build_masks(
    spec: MaskSpec | str, size: int, n: int, seed: int, info: Any | None = None
) -> EvalMasks:
    """Draw the masks of images 0..n-1 (deterministic in ``seed``).

    Generated masks that come out empty or cover the whole image are drawn again (from
    the same image's generator, so still deterministic): hole metrics need a hole and
    the classical methods need known pixels.

    Raises:
        InputError: missing mask folders, or a folder mask that is empty / full after
            resizing.
    """
    from glcic.data.masks import (
        FolderMaskSource,
        FreeFormMaskGenerator,
        RectMaskGenerator,
        read_mask,
        resize_mask,
    )

    if isinstance(spec, str):
        spec = parse_mask_spec(spec)
    masks: list[np.ndarray] = []
    sources: list[str | None] = []
    params: dict[str, Any] = {"kind": spec.kind}

    if spec.kind == "folder":
        from glcic.data.images import list_images

        files = list_images(spec.folder)
        if not files:
            raise InputError(
                f"mask folder {spec.folder} holds no mask images (PNG/BMP); white = hole"
            )
        params["folder"] = str(spec.folder)
        for i in range(n):
            f = files[i % len(files)]
            m = resize_mask(read_mask(f), size)
            _check_usable(m, f"mask {f} (resized to {size}x{size})")
            masks.append(m)
            sources.append(f.relative_to(spec.folder).as_posix())
        return EvalMasks(masks, sources, params)

    if spec.kind == "center":
        side = size // 2
        m = np.zeros((size, size), bool)
        y0 = (size - side) // 2
        m[y0 : y0 + side, y0 : y0 + side] = True
        params["side"] = side
        return EvalMasks([m.copy() for _ in range(n)], [None] * n, params)

    rect = resolve_rect_params(size, info)
    draw: Callable[[torch.Generator], tuple[np.ndarray, str | None]]
    if spec.kind == "rect":
        gen = RectMaskGenerator(
            size, rect["hole_min"], rect["hole_max"], rect["local_size"], rect["num_holes"]
        )
        params.update(rect)

        def draw(g: torch.Generator) -> tuple[np.ndarray, str | None]:
            return gen(g)[0][0].numpy() > 0, None

    elif spec.kind == "freeform":
        ff = FreeFormMaskGenerator(size, rect["local_size"])
        params["local_size"] = rect["local_size"]

        def draw(g: torch.Generator) -> tuple[np.ndarray, str | None]:
            return ff(g)[0][0].numpy() > 0, None

    else:  # nvidia
        folder = spec.folder or default_nvidia_folder()
        if not folder.is_dir():
            raise InputError(
                f"NVIDIA mask folder {folder} does not exist; run from the project folder (next to "
                "../shared/data), set GLCIC_SHARED_DATA, or give nvidia:LO-HI@/path/to/nvidia_irregular_test"
            )
        src = FolderMaskSource(folder, size, size, area_range=spec.area)
        params.update({"folder": str(folder), "area": list(spec.area), "candidates": len(src)})

        def draw(g: torch.Generator) -> tuple[np.ndarray, str | None]:
            j = int(torch.randint(0, len(src), (1,), generator=g).item())
            return src.load(j)[0].numpy() > 0, src.files[j].relative_to(folder).as_posix()

    for i in range(n):
        g = _image_generator(seed, i)
        for _ in range(MAX_REDRAWS):
            m, name = draw(g)
            if m.any() and not m.all():
                break
        else:
            raise InputError(
                f"mask spec {spec.text!r} gave {MAX_REDRAWS} empty or full masks at {size}x{size}; "
                "use a larger --size or another spec"
            )
        masks.append(m)
        sources.append(name)
    return EvalMasks(masks, sources, params)


def _check_usable(m: np.ndarray, what: str) -> None:
    if not m.any():
        raise InputError(f"{what} has no hole pixels; hole metrics need a hole (white = hole)")
    if m.all():
        raise InputError(f"{what} is all hole; leave some known (black) pixels")


def save_masks(masks: Sequence[np.ndarray], folder: str | os.PathLike) -> list[Path]:
    """Write masks as ``00000.png, 00001.png, ...`` (8-bit, 255 = hole).

    Evaluating with ``--masks FOLDER`` reads them back in the same order, so the same
    numbers come out.
    """
    from PIL import Image

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"--save-masks {folder} is a file; give a folder (it is created if missing)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, m in enumerate(masks):
        p = folder / f"{i:05d}.png"
        Image.fromarray(m.astype(np.uint8) * 255, mode="L").save(p)
        paths.append(p)
    return paths


# --------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------


def list_eval_images(
    data: str | os.PathLike, split: str | None, limit: int | None
) -> tuple[list[Path], str | None]:
    """The first ``limit`` images of a CelebA partition or folder, sorted by path.

    Args:
        data: a CelebA root (with ``list_eval_partition.txt``) or any folder of images.
        split: the CelebA partition (``train``, ``val``, ``test``, ``all``); None = ``val``.
            Only for CelebA roots.
        limit: at most this many images (None or 0 = all).

    Returns:
        ``(paths, split)``: the paths, and the split used (None for a plain folder).
    """
    from glcic.data.celeba import CelebAIndex, is_celeba_root
    from glcic.data.images import list_images

    root = Path(data)
    if limit is not None and limit < 0:
        raise InputError(f"--limit must be >= 0 (0 = all images); got {limit}")
    if is_celeba_root(root):
        split = split or "val"
        paths, _ = CelebAIndex.load(root).split(split)
    else:
        if split is not None:
            raise InputError(
                f"--split {split} selects a CelebA partition, but {root} has no "
                "list_eval_partition.txt; drop --split to use every image in the folder"
            )
        paths = list_images(root)
        if not paths:
            raise InputError(f"no images (JPEG/PNG/WebP/BMP) found in {root}")
    paths = sorted(paths)
    if limit:
        paths = paths[:limit]
    return paths, split


# --------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------


def area_bin(fraction: float) -> str:
    """Hole-area bin label of a hole fraction: ``"0-10%"``, ``"10-20%"``, ..., ``"90-100%"``.

    Bins are [lo, hi) in percent of the image; 100 % falls into the last one.
    """
    k = min(int(math.floor(fraction * 100 / BIN_WIDTH + 1e-9)), 100 // BIN_WIDTH - 1)
    return f"{k * BIN_WIDTH}-{(k + 1) * BIN_WIDTH}%"


def aggregate(rows: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Average per-image metrics.

    PSNRs are averaged in dB over the images (the usual convention), leaving out ``inf``
    (identical pixels) via :func:`glcic.metrics.mean_finite`; ``n_inf`` counts them.
    SSIM and L1 are plain means.

    Returns:
        ``{"psnr", "ssim", "hole_psnr", "hole_l1", "n_images", "n_inf"}``; a PSNR whose
        every value is ``inf`` is reported as None (JSON has no infinity).
    """
    from glcic.metrics import mean_finite

    if not rows:
        raise InputError("nothing to aggregate: no image was evaluated")
    out: dict[str, Any] = {}
    n_inf = 0
    for k in METRICS:
        vals = [float(r[k]) for r in rows]
        if k.endswith("psnr"):
            n_inf += sum(math.isinf(v) for v in vals)
            out[k] = _json_float(mean_finite(vals))
        else:
            out[k] = math.fsum(vals) / len(vals)
    out["n_images"] = len(rows)
    out["n_inf"] = n_inf
    return out


def _json_float(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


# --------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------


def _parse_methods(methods: str | Sequence[str]) -> list[str]:
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
    return items


def _to_t(img: np.ndarray) -> Any:
    """uint8 (H, W, 3) -> float tensor (1, 3, H, W) in [0, 1] for the feature networks."""
    import torch

    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0


# --------------------------------------------------------------------------------------
# The evaluation
# --------------------------------------------------------------------------------------


def evaluate(
    model: str | os.PathLike | None = "default",
    data: str | os.PathLike = "../shared/data/celeba",
    masks: str = "rect",
    limit: int | None = 100,
    seed: int = 0,
    methods: str | Sequence[str] = DEFAULT_METHODS,
    size: int | None = None,
    split: str | None = None,
    grid: str | os.PathLike | None = None,
    save_masks_to: str | os.PathLike | None = None,
    lpips_weights: str | os.PathLike | None = None,
    fid_weights: str | os.PathLike | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    pipeline: Any | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Evaluate the network and classical baselines on held-out images.

    Args:
        model: ``"default"`` or a bundle folder. Needed for ``glcic`` and for the default
            ``size`` and the ``rect`` hole sizes; without ``glcic`` among the methods an
            unreadable model is allowed when ``size`` is given.
        data: a CelebA root or a folder of images.
        masks: a mask spec (see :func:`parse_mask_spec`).
        limit: the first N images in sorted order (None or 0 = all).
        seed: seed of the masks; image i's mask depends on (seed, i) only.
        methods: names from :data:`METHODS`, a list or a comma-separated string.
        size: side the images are cropped and resized to (default: the bundle's resolution).
        split: CelebA partition (default ``val``); only for CelebA roots.
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

    Returns:
        A JSON-able dict::

            {"n_images", "masks", "seed", "size", "data", "split", "model": {...} | None,
             "mask_params": {...}, "methods": {NAME: {"psnr", "ssim", "hole_psnr",
             "hole_l1", "seconds_per_image", "n_images", "n_inf"}},
             "bins": {"10-20%": {NAME: {...}}}, "per_image": [{"index", "image", "mask",
             "hole_fraction", "bin", NAME: {"psnr", "ssim", "hole_psnr", "hole_l1",
             "seconds"}}]}

        PSNRs in dB, SSIM in [-1, 1], L1 in [0, 1]; a PSNR of identical pixels is None.

    Raises:
        InputError: bad paths, specs, methods or weights.
    """
    from glcic.bundle import read_bundle_info
    from glcic.classical import inpaint_classical
    from glcic.data import preprocess, read_rgb
    from glcic.errors import BundleError

    # LPIPS and FID: local weights only, loaded (and checked) before any work.
    from glcic.feature_metrics import LPIPS, FIDInception, frechet_distance
    from glcic.metrics import all_metrics

    lpips_net = LPIPS.from_file(lpips_weights) if lpips_weights is not None else None
    fid_net = FIDInception.from_file(fid_weights) if fid_weights is not None else None
    names = _parse_methods(methods)
    spec = parse_mask_spec(masks) if isinstance(masks, str) else masks
    if size is not None and (int(size) != size or size < 16):
        raise InputError(f"--size must be an integer >= 16 (SSIM uses a 7x7 window); got {size!r}")

    # Model info: the resolution and the training holes come from the bundle.
    info = None
    model_path = None
    if pipeline is not None and getattr(pipeline, "bundle_info", None) is not None:
        info = pipeline.bundle_info
    else:
        try:
            info = read_bundle_info(model)
            model_path = "default" if model in (None, "default") else str(model)
        except BundleError:
            if "glcic" in names or size is None:
                raise
    if size is None:
        size = int(info.resolution)
    size = int(size)

    paths, split = list_eval_images(data, split, limit)
    n = len(paths)
    em = build_masks(spec, size, n, seed, info)
    if save_masks_to is not None:
        save_masks(em.masks, save_masks_to)

    # Methods: the network through the one inference call; the baselines directly.
    runners: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {}
    for name in names:
        if name == "glcic":
            pipe = pipeline if pipeline is not None else _load_pipeline(model, device, precision)

            def run_glcic(img: np.ndarray, m: np.ndarray, pipe: Any = pipe) -> np.ndarray:
                return pipe(
                    img,
                    m.astype(np.uint8) * 255,
                    postprocess="none",
                    strategy="original",
                    method="glcic",
                )

            runners[name] = run_glcic
        else:
            runners[name] = lambda img, m, name=name: inpaint_classical(name, img, m)

    per_image: list[dict[str, Any]] = []
    raw: dict[str, list[dict[str, float]]] = {k: [] for k in names}
    seconds: dict[str, list[float]] = {k: [] for k in names}
    grid_rows: list[tuple[np.ndarray, np.ndarray, list[np.ndarray]]] = []
    warmed: set[str] = set()
    fid_feats: dict[str, list[np.ndarray]] = {k: [] for k in names}
    fid_real: list[np.ndarray] = []
    for i in _progress(range(n), n, progress):
        target = preprocess(read_rgb(paths[i]), size)  # (S, S, 3) uint8
        m = em.masks[i]  # (S, S) bool, True = hole
        row: dict[str, Any] = {
            "index": i,
            "image": _rel(paths[i], data),
            "mask": em.sources[i],
            "hole_fraction": float(m.mean()),
            "bin": area_bin(float(m.mean())),
        }
        # What every method sees: the ground truth with the hole blanked, so that no
        # method could read the answer (the classical ones only look outside anyway).
        masked = np.where(m[:, :, None], np.uint8(255), target)
        outs = []
        if fid_net is not None:
            fid_real.append(fid_net(_to_t(target))[0].numpy())
        for name in names:
            if name == "glcic" and name not in warmed:
                runners[name](masked, m)  # untimed warm-up: one-time allocations, kernel choice
                warmed.add(name)
            t0 = time.perf_counter()
            out = np.asarray(runners[name](masked, m))
            dt = time.perf_counter() - t0
            if out.shape != target.shape or out.dtype != np.uint8:
                raise RuntimeError(
                    f"method {name} returned {out.dtype} {out.shape}; expected uint8 {target.shape}"
                )
            # Scored as composited: known pixels are the input's, whatever the method did.
            out = np.where(m[:, :, None], out, masked)
            vals = all_metrics(out, target, m)
            if lpips_net is not None:
                vals["lpips"] = float(lpips_net(_to_t(out), _to_t(target))[0])
            if fid_net is not None:
                fid_feats[name].append(fid_net(_to_t(out))[0].numpy())
            raw[name].append(vals)
            seconds[name].append(dt)
            row[name] = {k: _json_float(v) for k, v in vals.items()} | {"seconds": dt}
            outs.append(out)
        per_image.append(row)
        if len(grid_rows) < GRID_ROWS:
            grid_rows.append((masked, target, outs))

    summary = {}
    for name in names:
        summary[name] = aggregate(raw[name]) | {"seconds_per_image": math.fsum(seconds[name]) / n}
        if lpips_net is not None:
            summary[name]["lpips"] = math.fsum(r["lpips"] for r in raw[name]) / n
        if fid_net is not None:
            # Completed images against the ground truths of the same set (pool3 features).
            summary[name]["fid"] = frechet_distance(np.stack(fid_feats[name]), np.stack(fid_real))
    bins: dict[str, dict[str, Any]] = {}
    for label in sorted({r["bin"] for r in per_image}, key=lambda s: int(s.split("-")[0])):
        idx = [r["index"] for r in per_image if r["bin"] == label]
        bins[label] = {name: aggregate([raw[name][j] for j in idx]) for name in names}

    report = {
        "n_images": n,
        "masks": spec.text,
        "seed": int(seed),
        "size": size,
        "data": str(data),
        "split": split,
        "model": _model_json(info, model_path),
        "mask_params": em.params,
        "methods": summary,
        "bins": bins,
        "per_image": per_image,
    }
    if grid is not None:
        write_grid(grid, grid_rows, names)
    return report


def _load_pipeline(model: Any, device: str, precision: str) -> Any:
    from glcic.pipeline import InpaintPipeline

    return InpaintPipeline.from_pretrained(
        model if model is not None else "default", device=device, precision=precision
    )


def _model_json(info: Any | None, path: str | None) -> dict[str, Any] | None:
    if info is None:
        return None
    d = info.to_json()
    d.pop("train_config", None)  # the whole training config is in the bundle; keep the report short
    d["path"] = path
    return d


def _rel(path: Path, root: str | os.PathLike) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _progress(it: range, total: int, show: bool | None) -> Any:
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc="evaluate", unit="img", leave=False, file=sys.stderr)


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _fmt(v: float | None, digits: int) -> str:
    return "inf" if v is None else f"{v:.{digits}f}"


def format_markdown(report: dict[str, Any]) -> str:
    """The report's averages as Markdown: one table overall, one per hole-area bin."""
    m = report["model"]
    lines = [
        f"{report['n_images']} images from {report['data']}"
        + (f" ({report['split']} split)" if report.get("split") else "")
        + f" at {report['size']} px, masks {report['masks']}, seed {report['seed']}"
        + (f", model {m.get('name')} ({m.get('path')})" if m else ""),
        "",
        "| method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 | s / image |",
        "|---|---|---|---|---|---|",
    ]
    extra = [k for k in ("lpips", "fid") if any(k in s for s in report["methods"].values())]
    if extra:  # LPIPS / FID columns when their weights were given
        lines[-2] += "".join(f" {k.upper()} |" for k in extra)
        lines[-1] += "---|" * len(extra)
    for name, s in report["methods"].items():
        lines.append(
            f"| {name} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} | {_fmt(s['hole_psnr'], 2)} "
            f"| {_fmt(s['hole_l1'], 4)} | {s['seconds_per_image']:.4f} |"
            + "".join(f" {_fmt(s.get(k), 4)} |" for k in extra)
        )
    if report["bins"]:
        lines += [
            "",
            "By hole area (percent of the image):",
            "",
            "| hole area | images | method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, by_method in report["bins"].items():
            for name, s in by_method.items():
                lines.append(
                    f"| {label} | {s['n_images']} | {name} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} "
                    f"| {_fmt(s['hole_psnr'], 2)} | {_fmt(s['hole_l1'], 4)} |"
                )
    return "\n".join(lines) + "\n"


def grid_size(rows: int, cols: int, cell: int) -> tuple[int, int]:
    """``(width, height)`` in pixels of a :func:`write_grid` picture."""
    return cols * cell + (cols + 1) * GRID_PAD, GRID_HEADER + rows * cell + (rows + 1) * GRID_PAD


def write_grid(
    path: str | os.PathLike,
    rows: Sequence[tuple[np.ndarray, np.ndarray, Sequence[np.ndarray]]],
    methods: Sequence[str],
) -> Path:
    """Draw a comparison picture: one row per image, columns input (hole in white), each
    method, ground truth, under a header of labels.

    Args:
        path: PNG file to write.
        rows: ``(input, target, outputs)`` per image, each ``uint8`` (S, S, 3); ``outputs``
            in the order of ``methods``.
        methods: column labels of the outputs.

    Returns:
        ``path``; the picture has the size :func:`grid_size` gives.
    """
    from PIL import Image, ImageDraw

    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write the grid {path}: the folder {path.parent} does not exist")
    if not rows:
        raise InputError("no images to draw in the grid")
    cell = rows[0][0].shape[0]
    labels = ["input", *methods, "ground truth"]
    w, h = grid_size(len(rows), len(labels), cell)
    canvas = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(labels):
        x = GRID_PAD + c * (cell + GRID_PAD)
        text = label
        while len(text) > 1 and draw.textlength(text) > cell:
            text = text[:-1]  # cut labels that would spill into the next column
        draw.text((x + max(0, (cell - draw.textlength(text)) / 2), 1), text, fill=(0, 0, 0))
    for r, (inp, target, outs) in enumerate(rows):
        y = GRID_HEADER + GRID_PAD + r * (cell + GRID_PAD)
        for c, img in enumerate([inp, *outs, target]):
            canvas.paste(Image.fromarray(img), (GRID_PAD + c * (cell + GRID_PAD), y))
    canvas.save(path)
    return path
