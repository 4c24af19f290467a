"""The ``--masks`` value of an evaluation: which holes, parsed and checked.

Specs (:func:`parse_mask_spec`):

- ``rect``: one rectangle of the training distribution (the bundle's training config
  when it is there, else sides of 29-50 % of the image), inside a random local window;
- ``center``: one centred square of half the side;
- ``freeform``: brush strokes inside the local window (:class:`glcic.data.FreeFormMaskGenerator`);
- ``strokes`` / ``strokes:LO-HI``: brush strokes over the whole image
  (:func:`glcic.data.mask_mix.strokes`, the training mix's stroke family), added until
  the hole covers a drawn LO-HI percent of the image (default
  :data:`SHAPE_AREA_DEFAULT`); scale-free, so the same holes at any image size;
- ``blobs`` / ``blobs:LO-HI``: one solid irregular region of LO-HI percent of the image
  (:func:`glcic.data.mask_mix.blob`): an object to remove;
- ``nvidia:LO-HI`` or ``nvidia:LO-HI@FOLDER``: NVIDIA irregular masks whose hole area is
  LO-HI percent (measured on the 512 px originals, from the index CSV);
- ``nvidia-bins`` or ``nvidia-bins@FOLDER``: ``nvidia:LO-HI`` for each bin of the
  literature (1-10, 10-20, ..., 50-60 %; :func:`mask_bins`), reported as one table;
- any other value: a folder of mask images, used in sorted order (image i gets mask
  ``i mod count``), resized with nearest-neighbour interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from glcic.errors import InputError
from glcic.options import NVIDIA_AREA_BINS, NVIDIA_BINS, SHAPE_AREA_DEFAULT

SHAPES = ("strokes", "blobs")
"""Generated holes drawn at image scale, by hole area (the training mix's families)."""
MASK_KINDS = ("rect", "center", "freeform", *SHAPES, "nvidia", NVIDIA_BINS, "folder")
SPEC_HELP = (
    "rect, center, freeform, strokes[:LO-HI], blobs[:LO-HI] (hole area in percent, default "
    f"{SHAPE_AREA_DEFAULT[0]:.0%}-{SHAPE_AREA_DEFAULT[1]:.0%}), nvidia:LO-HI (e.g. nvidia:10-20), "
    f"nvidia:LO-HI@FOLDER, {NVIDIA_BINS} (every bin 1-10 ... 50-60 %), {NVIDIA_BINS}@FOLDER, "
    "or a folder of mask images (white = hole)"
)


@dataclass(frozen=True)
class MaskSpec:
    """A parsed ``--masks`` value.

    Attributes:
        kind: one of :data:`MASK_KINDS`.
        text: the spec as the user wrote it (stored in the report).
        area: ``(lo, hi)`` hole fractions in [0, 1] for ``nvidia``, ``strokes`` and ``blobs``.
        folder: the mask folder for ``nvidia`` and ``nvidia-bins`` (None = the shared
            default) and ``folder``.
    """

    kind: str
    text: str
    area: tuple[float, float] | None = None
    folder: Path | None = None


def parse_mask_spec(spec: str) -> MaskSpec:
    """Parse a mask spec (see the module docstring).

    Raises:
        InputError: an unknown spec, a malformed ``LO-HI`` range, or a mask folder that
            does not exist.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"mask spec must be one of {SPEC_HELP}; got {spec!r}")
    text = spec.strip()
    low = text.lower()
    if low in ("rect", "center", "freeform"):
        return MaskSpec(low, text)
    kind, colon, body = low.partition(":")
    if kind in SHAPES:
        if not colon:
            return MaskSpec(kind, text, area=SHAPE_AREA_DEFAULT)
        area = _parse_area(text, kind, text[len(kind) + 1 :])
        return MaskSpec(kind, text, area=area)
    if low == NVIDIA_BINS or low.startswith(NVIDIA_BINS + "@"):
        folder = text[len(NVIDIA_BINS) + 1 :]
        if low != NVIDIA_BINS and not folder:
            raise InputError(f"mask spec {text!r}: nothing after '@'; give {NVIDIA_BINS}@FOLDER")
        return MaskSpec(NVIDIA_BINS, text, folder=Path(folder) if folder else None)
    if low == "nvidia" or low.startswith("nvidia:"):
        body = text[len("nvidia:") :] if low.startswith("nvidia:") else ""
        rng, at, folder = body.partition("@")
        if at and not folder:
            raise InputError(f"mask spec {text!r}: nothing after '@'; give nvidia:LO-HI@FOLDER")
        area = _parse_area(text, "nvidia", rng, "e.g. nvidia:10-20 or nvidia:10-20@/path/to/masks")
        return MaskSpec("nvidia", text, area=area, folder=Path(folder) if folder else None)
    path = Path(text)
    if path.is_dir():
        return MaskSpec("folder", text, folder=path)
    if path.exists():
        raise InputError(
            f"mask spec {text!r} is a file; a mask spec is {SPEC_HELP} (give the folder that "
            "holds the mask images)"
        )
    raise InputError(f"unknown mask spec {text!r}: expected {SPEC_HELP} (no such folder either)")


def _parse_area(text: str, kind: str, rng: str, example: str = "") -> tuple[float, float]:
    """``LO-HI`` (percent of the image) -> ``(lo, hi)`` fractions; ``text`` is the whole spec."""
    parts = rng.split("-")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(
            f"mask spec {text!r}: expected {kind}:LO-HI with the hole area in percent, "
            + (example or f"e.g. {kind}:10-20")
        ) from None
    if not 0 <= lo < hi <= 100:
        raise InputError(
            f"mask spec {text!r}: the hole-area range must satisfy 0 <= LO < HI <= 100 "
            f"(percent of the image); got {lo:g}-{hi:g}"
        )
    return lo / 100, hi / 100


def mask_bins(spec: MaskSpec) -> list[tuple[str | None, MaskSpec]]:
    """The specs an evaluation runs: ``nvidia-bins`` is one ``nvidia:LO-HI`` spec per bin
    of :data:`glcic.options.NVIDIA_AREA_BINS` (label ``"LO-HI%"``), anything else itself
    (label None)."""
    if spec.kind != NVIDIA_BINS:
        return [(None, spec)]
    at = f"@{spec.folder}" if spec.folder is not None else ""
    return [(f"{lo}-{hi}%", parse_mask_spec(f"nvidia:{lo}-{hi}{at}")) for lo, hi in NVIDIA_AREA_BINS]
