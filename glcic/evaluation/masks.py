"""The hole masks of an evaluation: parse ``--masks``, draw one mask per image, save them.

Mask convention: **True / 1 / white = hole**. Every mask is a ``bool`` array
``(size, size)``; image i's mask depends on ``(seed, i)`` only, so it does not change
with ``--limit`` or ``--methods``.

Mask specs (:func:`parse_mask_spec`):

- ``rect``: one rectangle of the training distribution (the bundle's training config
  when it is there, else sides of 29-50 % of the image), inside a random local window;
- ``center``: one centred square of half the side;
- ``freeform``: brush strokes (:class:`glcic.data.FreeFormMaskGenerator`);
- ``nvidia:LO-HI`` or ``nvidia:LO-HI@FOLDER``: NVIDIA irregular masks whose hole area is
  LO-HI percent (measured on the 512 px originals, from the index CSV);
- any other value: a folder of mask images, used in sorted order (image i gets mask
  ``i mod count``), resized with nearest-neighbour interpolation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glcic.errors import InputError
from glcic.options import DEFAULT_DATA_ROOT

MASK_KINDS = ("rect", "center", "freeform", "nvidia", "folder")
SPEC_HELP = (
    "rect, center, freeform, nvidia:LO-HI (hole area in percent, e.g. nvidia:10-20), "
    "nvidia:LO-HI@FOLDER, or a folder of mask images (white = hole)"
)
RECT_DEFAULT_FRACTIONS = (0.29, 0.50)
"""Hole sides (fractions of the image side) of ``rect`` when the bundle has no training
config: the report's 46-80 px at 160 px."""
MAX_REDRAWS = 100
"""Draws of one image's mask before giving up on a spec that only makes empty or full masks."""

Drawer = Callable[[torch.Generator], tuple[np.ndarray, "str | None"]]
"""Draws one mask: ``bool`` (S, S), True = hole, and the mask file's name (None if generated)."""


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


@dataclass
class EvalMasks:
    """The masks of one evaluation: ``masks[i]`` is ``bool`` (size, size), True = hole;
    ``sources[i]`` names the mask file used (None for generated masks)."""

    masks: list[np.ndarray]
    sources: list[str | None]
    params: dict[str, Any]


def parse_mask_spec(spec: str) -> MaskSpec:
    """Parse a mask spec (see the module docstring).

    Raises:
        InputError: an unknown spec, a malformed ``nvidia:LO-HI`` range, or a mask
            folder that does not exist.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"mask spec must be one of {SPEC_HELP}; got {spec!r}")
    text = spec.strip()
    low = text.lower()
    if low in ("rect", "center", "freeform"):
        return MaskSpec(low, text)
    if low == "nvidia" or low.startswith("nvidia:"):
        return _parse_nvidia(text, text[len("nvidia:") :] if low.startswith("nvidia:") else "")
    path = Path(text)
    if path.is_dir():
        return MaskSpec("folder", text, folder=path)
    if path.exists():
        raise InputError(
            f"mask spec {text!r} is a file; a mask spec is {SPEC_HELP} (give the folder that "
            "holds the mask images)"
        )
    raise InputError(f"unknown mask spec {text!r}: expected {SPEC_HELP} (no such folder either)")


def _parse_nvidia(text: str, body: str) -> MaskSpec:
    """``nvidia:LO-HI[@FOLDER]``; ``body`` is what follows ``nvidia:``."""
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
    return MaskSpec("nvidia", text, area=(lo / 100, hi / 100), folder=Path(folder) if folder else None)


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


def build_masks(
    spec: MaskSpec | str, size: int, n: int, seed: int, info: Any | None = None
) -> EvalMasks:
    """Draw the masks of images 0..n-1 (deterministic in ``seed``).

    Generated masks that come out empty or cover the whole image are drawn again (from
    the same image's generator, so still deterministic): hole metrics need a hole and
    the classical methods need known pixels.

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
    if isinstance(spec, str):
        spec = parse_mask_spec(spec)
    if spec.kind == "folder":
        return _folder_masks(spec.folder, size, n)
    if spec.kind == "center":
        return _center_masks(size, n)

    params: dict[str, Any] = {"kind": spec.kind}
    draw = _drawer(spec, size, info, params)
    masks: list[np.ndarray] = []
    sources: list[str | None] = []
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


def _folder_masks(folder: Path, size: int, n: int) -> EvalMasks:
    """The folder's masks in sorted order, cycled: image i gets mask ``i mod count``."""
    from glcic.data import list_images, read_mask, resize_mask

    files = list_images(folder)
    if not files:
        raise InputError(f"mask folder {folder} holds no mask images (PNG/BMP); white = hole")
    masks, sources = [], []
    for i in range(n):
        f = files[i % len(files)]
        m = resize_mask(read_mask(f), size)
        _check_usable(m, f"mask {f} (resized to {size}x{size})")
        masks.append(m)
        sources.append(f.relative_to(folder).as_posix())
    return EvalMasks(masks, sources, {"kind": "folder", "folder": str(folder)})


def _center_masks(size: int, n: int) -> EvalMasks:
    """One centred square of half the side, the same for every image."""
    side = size // 2
    m = np.zeros((size, size), bool)
    y0 = (size - side) // 2
    m[y0 : y0 + side, y0 : y0 + side] = True
    return EvalMasks([m.copy() for _ in range(n)], [None] * n, {"kind": "center", "side": side})


def _drawer(spec: MaskSpec, size: int, info: Any | None, params: dict[str, Any]) -> Drawer:
    """The random draw of a ``rect``, ``freeform`` or ``nvidia`` spec; records its
    parameters in ``params`` (the report's ``mask_params``)."""
    from glcic.data import FolderMaskSource, FreeFormMaskGenerator, RectMaskGenerator

    if spec.kind == "rect":
        rect = resolve_rect_params(size, info)
        gen = RectMaskGenerator(
            size, rect["hole_min"], rect["hole_max"], rect["local_size"], rect["num_holes"]
        )
        params.update(rect)
        return lambda g: (gen(g)[0][0].numpy() > 0, None)
    if spec.kind == "freeform":
        local = resolve_rect_params(size, info)["local_size"]
        ff = FreeFormMaskGenerator(size, local)
        params["local_size"] = local
        return lambda g: (ff(g)[0][0].numpy() > 0, None)

    folder = spec.folder or default_nvidia_folder()
    if not folder.is_dir():
        raise InputError(
            f"NVIDIA mask folder {folder} does not exist; run from the project folder (next to "
            "../shared/data), set GLCIC_SHARED_DATA, or give nvidia:LO-HI@/path/to/nvidia_irregular_test"
        )
    src = FolderMaskSource(folder, size, size, area_range=spec.area)
    params.update({"folder": str(folder), "area": list(spec.area), "candidates": len(src)})

    def draw_nvidia(g: torch.Generator) -> tuple[np.ndarray, str | None]:
        j = int(torch.randint(0, len(src), (1,), generator=g).item())
        return src.load(j)[0].numpy() > 0, src.files[j].relative_to(folder).as_posix()

    return draw_nvidia


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
