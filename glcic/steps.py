"""The steps of one inpainting call, whatever fills the hole, without torch.

:meth:`glcic.pipeline.InpaintPipeline.run` is these steps with the network (or a
classical method) as the filler; ``glcic inpaint --method telea`` runs them with a
classical method directly, so it never imports torch (:func:`run_classical`):

1. parse the image and the mask once (:mod:`glcic.inputs`);
2. refuse a mask that covers everything, answer an empty one with the input;
3. fill each image of the batch (the filler), then blend it in (``postprocess``);
4. back to the caller's type, every pixel outside the changed region the input's (only
   the changed pixels are converted: :mod:`glcic.inputs`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from glcic.errors import InputError
from glcic.inputs import PreparedImage, prepare_image, prepare_mask
from glcic.io import SourceInfo, attach_info
from glcic.options import CLASSICAL_METHODS, POSTPROCESS, check_choice
from glcic.pixels import Pixels, as_uint8

__all__ = ["EMPTY_MASK_NOTE", "Filler", "InpaintResult", "Ran", "blend_target", "complete", "run_classical"]


EMPTY_MASK_NOTE = "the mask is empty (no hole), so nothing was done: the result is the input"
""":attr:`InpaintResult.note` when there was nothing to complete."""


@dataclass
class InpaintResult:
    """What :meth:`~glcic.pipeline.InpaintPipeline.run` returns: the image and what made it.

    Attributes:
        image: the completed image, exactly what ``InpaintPipeline.__call__`` returns.
        strategy: what ran: ``original``, ``resize``, ``crop`` or ``tiles`` (``auto``'s
            native windows along thin holes), or ``tiles+resize`` (etc.) when ``auto``
            ran both, for the network; ``none`` for a classical method or an empty mask.
        scale: the network's scale relative to native (1.0 = native; the smallest,
            when holes ran at several scales); 1.0 for classical methods.
        model: the bundle's name, or the classical method's (``telea``, ...).
        postprocess: the post-processing that ran: ``blend`` (on every hole, or with
            ``auto`` on the holes it blends) or ``none`` (also when ``auto`` left every
            hole unblended, or the mask was empty and nothing ran).
        note: what the caller should know, e.g. :data:`EMPTY_MASK_NOTE`; empty otherwise.
        info: the input's :class:`~glcic.io.SourceInfo` (ICC profile, EXIF, XMP, JPEG
            tables, ...; None for arrays, tensors, or with ``strip_metadata``), what
            :meth:`save` and :func:`glcic.io.encode_image` write back. A PIL result
            carries its ICC profile, EXIF and XMP in ``image.info`` too.
    """

    image: Any
    strategy: str
    scale: float
    model: str
    postprocess: str = "none"
    note: str = ""
    info: SourceInfo | None = None

    @property
    def did_nothing(self) -> bool:
        """True when the mask was empty and the image came back as it was."""
        return self.note == EMPTY_MASK_NOTE

    def save(self, path: str | os.PathLike, *, strip_metadata: bool = False, quality: int | None = None) -> Path:
        """Write :attr:`image` the way its input came (:func:`glcic.io.save_image` with
        :attr:`info`): the format from ``path``'s ending, the input's metadata, JPEG
        tables and bit depth where the format holds them (:data:`glcic.io.ENCODING_RULE`).

        Raises:
            InputError: an unknown ending, alpha into JPEG/BMP, or a write error.
        """
        from glcic.io import save_image

        return save_image(path, self.image, info=self.info, strip_metadata=strip_metadata, quality=quality)


class Ran(NamedTuple):
    """What a filler ran: the strategy and the smallest scale (as :class:`InpaintResult`
    reports them), and the hole pixels that ``postprocess="auto"`` leaves unblended
    (``bool`` ``(H, W)``; None: blend every hole)."""

    strategy: str
    scale: float
    unblended: np.ndarray | None = None


Filler = Callable[[PreparedImage, int, np.ndarray], tuple[Pixels, Ran]]
"""Fills the hole of batch image ``b``: ``(prepared, b, hole bool (H, W))`` -> the
completed image (:data:`~glcic.pixels.Pixels`, known pixels exact) and what ran
(:class:`Ran`)."""


def complete(
    image: Any,
    mask: Any,
    fill: Filler,
    postprocess: str,
    model: str,
    strip_metadata: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> InpaintResult:
    """Steps 1-4 of the module docstring.

    Args:
        image, mask: as :meth:`glcic.pipeline.InpaintPipeline.__call__` takes them.
        fill: the filler (see :data:`Filler`).
        postprocess: ``auto``, ``blend`` or ``none`` (checked by the caller; see
            :func:`blend_target`).
        model: the name :class:`InpaintResult` reports.
        strip_metadata: leave the input's ICC profile, EXIF and XMP out of the result.
        progress: told ``(what, done, total)`` before the blending (the filler tells its own).

    Raises:
        InputError: a bad image or mask, or a mask that covers a whole image.

    Warns:
        UserWarning: the mask is empty; the input comes back unchanged.
    """
    # 1. Parse the image and the mask, once: everything below uses these values.
    prepared = prepare_image(image)
    B, H, W = prepared.shape
    holes = prepare_mask(mask, B, H, W)  # (B, H, W) bool, True = hole
    info = None if strip_metadata or prepared.info is None else prepared.info

    # 2. An empty mask has nothing to complete; a full one nothing to condition on.
    if not holes.any():
        warnings.warn(
            "the mask is empty (no non-zero pixels), so there is nothing to complete; "
            "returning the input unchanged",
            UserWarning,
            stacklevel=4,
        )
        unchanged = attach_info(prepared.unchanged(), info)
        return InpaintResult(unchanged, "none", 1.0, model, "none", EMPTY_MASK_NOTE, info)
    if any(holes[b].all() for b in range(B)):
        raise InputError(
            f"the mask covers the whole {W}x{H} image, so there is nothing to condition on; "
            "mark only the region to fill (non-zero = hole) and leave the rest black"
        )

    # 3. Fill each image of the batch and blend it in.
    results: list[Pixels] = []
    changed: list[np.ndarray] = []
    used: list[Ran] = []
    blended_any = False
    for b in range(B):
        hole = np.ascontiguousarray(holes[b])
        if not hole.any():  # another image of the batch has a hole; this one has none
            results.append(prepared.pixels(b))
            changed.append(hole)
            continue
        result, ran = fill(prepared, b, hole)
        used.append(ran)
        target = blend_target(postprocess, hole, ran.unblended)
        if target is not None:
            if progress is not None:
                progress("blend", 0, 1)
            result, hole = _blend(prepared, b, result, prepared.pixels(b), hole, target)
            blended_any = True
        results.append(result)
        changed.append(hole)

    # 4. Back to the caller's type; every pixel outside `changed` is the input's.
    # A batch reports its first image's strategy and the smallest scale of all.
    out = attach_info(prepared.restore(results, np.stack(changed)), info)
    ran_post = "blend" if blended_any else "none"
    return InpaintResult(out, used[0].strategy, min(r.scale for r in used), model, ran_post, "", info)


def blend_target(postprocess: str, hole: np.ndarray, unblended: np.ndarray | None) -> np.ndarray | None:
    """The hole pixels to blend (``bool`` ``(H, W)``), or None for no blending.

    ``blend``: every hole. ``auto``: every hole but ``unblended``, the pixels a residual
    network completed at native scale: its output is the pre-fill plus a correction, so it
    already meets the photo at the hole's edge, and blending it (which redoes the fill's low
    band from a fast-marching background) lowered hole PSNR on every family measured
    (docs/inference.md, "Post-processing"). ``none``: nothing.
    """
    if postprocess == "none":
        return None
    if postprocess == "auto" and unblended is not None:
        hole = hole & ~unblended
    return hole if hole.any() else None


def _blend(
    prepared: PreparedImage, b: int, result: Pixels, original: np.ndarray, hole: np.ndarray, target: np.ndarray
) -> tuple[Pixels, np.ndarray]:
    """The paper's blending (Sec. 3.4) of ``target`` in batch image ``b``, the hole or a part of it: the blended
    image (``uint8`` (H, W, 3), or at the input's depth:
    :meth:`~glcic.inputs.PreparedImage.keep_depth`) and the pixels it changed (the hole and
    a seam around the target). Hole pixels outside ``target`` are known pixels to it: their
    fill is the surroundings it blends into (outside the hole ``completed`` is ``original``'s
    pixels exactly, and blending never reads its target's own values there)."""
    from glcic.postprocess import blend

    completed = as_uint8(result)  # (H, W, 3) uint8
    blended = blend(completed, completed, target)  # (H, W, 3) uint8
    changed = _changed(blended, original, hole)
    return prepared.keep_depth(b, result, blended, hole, changed), changed


def _changed(blended: np.ndarray, original: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The hole and the pixels blending changed: ``bool`` (H, W). Blending changes nothing
    farther than its seam from the hole (:func:`glcic.postprocess.blend`), so only the
    pixels of the hole grown by the seam are compared, not the whole photo."""
    import cv2

    from glcic.postprocess import DEFAULT_SEAM

    H, W = hole.shape
    x, y, w, h = cv2.boundingRect(hole.view(np.uint8))  # the hole's box
    s = DEFAULT_SEAM
    box = (slice(max(0, y - s), min(H, y + h + s)), slice(max(0, x - s), min(W, x + w + s)))
    grown = cv2.dilate(hole[box].view(np.uint8), np.ones((2 * s + 1, 2 * s + 1), np.uint8))
    ys, xs = np.nonzero(grown)
    differ = (blended[box][ys, xs] != original[box][ys, xs]).any(axis=1)  # (n,)
    changed = hole.copy()
    changed[box][ys[differ], xs[differ]] = True
    return changed


def classical_filler(method: str) -> Filler:
    """A :data:`Filler` that runs a classical method (:mod:`glcic.classical`) at native size."""

    def fill(prepared: PreparedImage, b: int, hole: np.ndarray) -> tuple[Pixels, Ran]:
        from glcic.classical import inpaint_classical

        return inpaint_classical(method, prepared.pixels(b), hole), Ran("none", 1.0)  # (H, W, 3) uint8

    return fill


def run_classical(
    image: Any, mask: Any, method: str = "telea", postprocess: str = "blend", *, strip_metadata: bool = False
) -> InpaintResult:
    """Complete with a classical method, without importing torch.

    The same result as ``InpaintPipeline.classical(method).run(image, mask,
    postprocess=postprocess)`` for every input but tensors (which need torch anyway).
    """
    check_choice("method", method, CLASSICAL_METHODS)
    check_choice("postprocess", postprocess, POSTPROCESS)
    return complete(image, mask, classical_filler(method), postprocess, method, strip_metadata)
