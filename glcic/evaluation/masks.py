"""The hole masks of an evaluation: parse ``--masks``, draw one mask per image, save them.

Mask convention: **True / 1 / white = hole**. Every mask is a ``bool`` array (H, W):
square at the model's resolution, the image's own size with ``--size native`` (see
:class:`MaskMaker` for how each kind is scaled). Image i's mask depends on
``(seed, i)`` only, so it does not change with ``--limit`` or ``--methods``.

The specs (``rect``, ``strokes``, ``nvidia-bins``, ...) are parsed by
:mod:`glcic.evaluation.mask_specs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glcic.data import (
    FolderMaskSource,
    FreeFormMaskGenerator,
    RectMaskGenerator,
    list_images,
    read_mask,
    resize_mask,
)
from glcic.data.mask_mix import blob, numpy_rng, strokes
from glcic.errors import InputError
from glcic.evaluation.mask_specs import MaskSpec, parse_mask_spec
from glcic.io import load_mask
from glcic.options import DEFAULT_DATA_ROOT, NVIDIA_BINS

RECT_DEFAULT_FRACTIONS = (0.29, 0.50)
"""Hole sides (fractions of the image side) of ``rect`` when the bundle has no training
config: the report's 46-80 px at 160 px."""
MAX_REDRAWS = 100
"""Draws of one image's mask before giving up on a spec that only makes empty or full masks."""

Drawer = Callable[[torch.Generator], tuple[np.ndarray, "str | None"]]
"""Draws one mask: ``bool`` (S, S), True = hole, and the mask file's name (None if generated)."""


@dataclass
class EvalMasks:
    """Square masks of images 0..n-1: ``masks[i]`` is ``bool`` (size, size), True = hole;
    ``sources[i]`` names the mask file used (None for generated masks)."""

    masks: list[np.ndarray]
    sources: list[str | None]
    params: dict[str, Any]


def default_nvidia_folder() -> Path:
    """The NVIDIA irregular test masks of the shared data folder.

    ``$GLCIC_SHARED_DATA/masks/nvidia_irregular_test`` when that variable is set, else
    ``masks/nvidia_irregular_test`` next to the default CelebA root
    (:data:`glcic.options.DEFAULT_DATA_ROOT`, relative to the working directory).
    """
    root = os.environ.get("GLCIC_SHARED_DATA")
    base = Path(root) if root else Path(DEFAULT_DATA_ROOT).parent
    return base / "masks" / "nvidia_irregular_test"


def resolve_rect_params(size: int, info: Any | None) -> dict[str, Any]:
    """Hole parameters of ``rect`` (and the window of ``freeform``) at ``size`` px.

    From the bundle's training config (``info.extra["train_config"]["mask"]``, sizes at
    the training resolution) scaled by ``size / resolution``; else holes of
    :data:`RECT_DEFAULT_FRACTIONS` of the side in a window as large as the biggest hole.

    Returns:
        ``{"hole_min", "hole_max", "local_size", "num_holes", "source"}``.
    """
    mask_cfg = info.train_section("mask") if info is not None else {}
    if all(k in mask_cfg for k in ("hole_min", "hole_max", "local_size")):
        train_size = int(info.train_section("data").get("size", info.resolution))
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


class MaskMaker:
    """Image i's mask at any image size, drawn from ``(seed, i)`` only.

    The same draw serves every method (the masks do not depend on ``--methods`` or
    ``--limit``) and every size: at the model's resolution all masks are square; with
    ``--size native`` each image gets its mask at its own (H, W):

    - ``rect`` / ``freeform``: the holes (and window) of :func:`resolve_rect_params`
      scaled to the image's shorter side, the side training crops its square from;
    - ``center``: a centred rectangle of half the height and half the width (a quarter
      of the image, as the square at the model's resolution);
    - ``strokes`` / ``blobs``: drawn at (H, W) by hole area, so the same fraction of
      every image whatever its size;
    - ``nvidia`` / folder masks: the mask image stretched to (H, W), nearest neighbour
      (hole fraction kept up to resampling; masks are not pictures of the scene).

    Generated masks that come out empty or cover the whole image are drawn again (from
    the same image's generator, so still deterministic): hole metrics need a hole and
    the classical methods need known pixels.

    Args:
        spec: a :class:`MaskSpec` or its text (not ``nvidia-bins``; see :func:`mask_bins`).
        seed: seed of the masks.
        info: the bundle's :class:`glcic.bundle.BundleInfo` (sets the ``rect`` holes), or None.
        size: the square side of the evaluation, or None for native sizes (only sets
            the reference size of :attr:`params`).
        label: the bin this spec stands for in an ``nvidia-bins`` run (None otherwise).

    Attributes:
        params: the report's ``mask_params``.

    Raises:
        InputError: a missing or empty mask folder.
    """

    def __init__(
        self,
        spec: MaskSpec | str,
        seed: int,
        info: Any | None = None,
        size: int | None = None,
        label: str | None = None,
    ) -> None:
        self.spec = parse_mask_spec(spec) if isinstance(spec, str) else spec
        if self.spec.kind == NVIDIA_BINS:
            raise InputError(f"{NVIDIA_BINS} is several specs; expand it with mask_bins first")
        self.seed, self.info, self.label = int(seed), info, label
        self.params: dict[str, Any] = {"kind": self.spec.kind}
        self._files: list[Path] = []
        self._drawers: dict[tuple[int, int], Drawer] = {}
        kind = self.spec.kind
        if kind in ("rect", "freeform"):
            ref = size or (int(info.resolution) if info is not None else 100)
            rect = resolve_rect_params(ref, info)
            self.params.update(rect if kind == "rect" else {"local_size": rect["local_size"]})
            if size is None:
                self.params |= {"at_size": ref, "native": "scaled by each image's min(H, W) / at_size"}
        elif kind == "center":
            self.params["side"] = size // 2 if size else "half the height and half the width"
        elif kind in ("strokes", "blobs"):
            self.params["area"] = list(self.spec.area)
        elif kind == "nvidia":
            self._files = _nvidia_files(self.spec, self.params)
        else:
            self._files = _folder_files(self.spec.folder)
            self.params["folder"] = str(self.spec.folder)

    def __call__(self, index: int, hw: tuple[int, int]) -> tuple[np.ndarray, str | None]:
        """Image ``index``'s mask, ``bool`` (H, W), True = hole, and its file's name
        (relative to the mask folder; None for generated masks)."""
        h, w = hw
        kind = self.spec.kind
        if kind == "center":
            return _center_mask(h, w), None
        if kind == "folder":
            f = self._files[index % len(self._files)]
            m = resize_mask(read_mask(f), (h, w))
            _check_usable(m, f"mask {f} (resized to {w}x{h})")
            return m, f.relative_to(self.spec.folder).as_posix()
        draw = self._drawers.get((h, w)) or self._drawers.setdefault((h, w), self._drawer(h, w))
        g = _image_generator(self.seed, index)
        for _ in range(MAX_REDRAWS):
            m, name = draw(g)
            if m.any() and not m.all():
                return m, name
        raise InputError(
            f"mask spec {self.spec.text!r} gave {MAX_REDRAWS} empty or full masks at {w}x{h}; "
            "use a larger --size or another spec"
        )

    def _drawer(self, h: int, w: int) -> Drawer:
        """The random draw of a ``rect``, ``freeform``, ``strokes``, ``blobs`` or ``nvidia`` mask at (h, w)."""
        if self.spec.kind == "nvidia":
            files, folder = self._files, self.spec.folder or default_nvidia_folder()

            def draw_nvidia(g: torch.Generator) -> tuple[np.ndarray, str | None]:
                f = files[int(torch.randint(0, len(files), (1,), generator=g).item())]
                hole = load_mask(f, size=(w, h), resize=True, max_pixels=None)  # (h, w) bool
                return hole, f.relative_to(folder).as_posix()

            return draw_nvidia
        if self.spec.kind in ("strokes", "blobs"):
            make, (lo, hi) = (strokes if self.spec.kind == "strokes" else blob), self.spec.area

            def draw_shape(g: torch.Generator) -> tuple[np.ndarray, str | None]:
                rng = numpy_rng(g)  # from the image's generator: still (seed, i) alone
                return make((h, w), float(rng.uniform(lo, hi)), rng) > 0, None

            return draw_shape
        rect = resolve_rect_params(min(h, w), self.info)
        if self.spec.kind == "rect":
            gen: Any = RectMaskGenerator(
                (h, w), rect["hole_min"], rect["hole_max"], rect["local_size"], rect["num_holes"]
            )
        else:
            gen = FreeFormMaskGenerator((h, w), rect["local_size"])
        return lambda g: (gen(g)[0][0].numpy() > 0, None)


def build_masks(
    spec: MaskSpec | str, size: int, n: int, seed: int, info: Any | None = None
) -> EvalMasks:
    """The square masks of images 0..n-1 at ``size`` px (:class:`MaskMaker`'s draws).

    Args:
        spec: a :class:`MaskSpec` or its text.
        size: side of the (square) masks in px.
        n: number of masks.
        seed: seed of the masks; mask i depends on ``(seed, i)`` only.
        info: the bundle's :class:`glcic.bundle.BundleInfo` (sets the ``rect`` holes), or None.

    Raises:
        InputError: missing mask folders, or a folder mask that is empty / full after
            resizing.
    """
    maker = MaskMaker(spec, seed, info, size)
    drawn = [maker(i, (size, size)) for i in range(n)]
    return EvalMasks([m for m, _ in drawn], [name for _, name in drawn], maker.params)


def _folder_files(folder: Path | None) -> list[Path]:
    files = list_images(folder) if folder is not None else []
    if not files:
        raise InputError(f"mask folder {folder} holds no mask images (PNG/BMP); white = hole")
    return files


def _nvidia_files(spec: MaskSpec, params: dict[str, Any]) -> list[Path]:
    """The NVIDIA masks whose hole fraction is in the spec's range; records them in ``params``."""
    folder = spec.folder or default_nvidia_folder()
    if not folder.is_dir():
        raise InputError(
            f"NVIDIA mask folder {folder} does not exist; run from the project folder (next to "
            "../shared/data), set GLCIC_SHARED_DATA, or give nvidia:LO-HI@/path/to/nvidia_irregular_test"
        )
    # FolderMaskSource filters by the index CSV's fractions; its size is not used here.
    files = FolderMaskSource(folder, 1, 1, area_range=spec.area).files
    params.update({"folder": str(folder), "area": list(spec.area or ()), "candidates": len(files)})
    return files


def _center_mask(h: int, w: int) -> np.ndarray:
    """A centred rectangle of half the height and half the width (a square on a square)."""
    m = np.zeros((h, w), bool)
    y0, x0 = (h - h // 2) // 2, (w - w // 2) // 2
    m[y0 : y0 + h // 2, x0 : x0 + w // 2] = True
    return m


def _image_generator(seed: int, index: int) -> torch.Generator:
    """The generator of image ``index``'s mask: depends on (seed, index) only, so the
    mask of an image does not change with ``limit`` or the methods."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index)]).generate_state(2)
    return torch.Generator().manual_seed((int(state[0]) << 32) | int(state[1]))


def _check_usable(m: np.ndarray, what: str) -> None:
    if not m.any():
        raise InputError(f"{what} has no hole pixels; hole metrics need a hole (white = hole)")
    if m.all():
        raise InputError(f"{what} is all hole; leave some known (black) pixels")


def save_mask(mask: np.ndarray, folder: Path, index: int) -> Path:
    """Write one mask as ``folder/{index:05d}.png`` (8-bit, 255 = hole)."""
    from PIL import Image

    p = folder / f"{index:05d}.png"
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(p)
    return p


def mask_folder(folder: str | os.PathLike) -> Path:
    """``--save-masks``: the folder, created if missing.

    Raises:
        InputError: it is a file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"--save-masks {folder} is a file; give a folder (it is created if missing)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_masks(masks: Sequence[np.ndarray], folder: str | os.PathLike) -> list[Path]:
    """Write masks as ``00000.png, 00001.png, ...`` (8-bit, 255 = hole).

    Evaluating with ``--masks FOLDER`` reads them back in the same order, so the same
    numbers come out.
    """
    folder = mask_folder(folder)
    return [save_mask(m, folder, i) for i, m in enumerate(masks)]
