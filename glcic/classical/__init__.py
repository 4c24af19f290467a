"""Classical (non-learned) inpainting baselines.

These are the references the paper compares against and the fallbacks a user can
run without weights: OpenCV's fast marching (Telea 2004) and Navier-Stokes
(Bertalmio et al. 2001) methods, scikit-image's biharmonic inpainting, a flat
mean fill, OpenCV contrib's frequency-selective reconstruction (``fsr``, the
slowest) (all in :mod:`glcic.classical.interpolation`), and PatchMatch (Barnes et al.
2009, through PyPatchMatch; :mod:`glcic.classical.patchmatch`), the exemplar method,
which copies texture from the known pixels where the others diffuse colour.

Every public function takes an RGB ``uint8`` image of shape ``(H, W, 3)`` and a
mask of shape ``(H, W)`` (``bool`` or ``uint8``; **non-zero = hole**; checked by
:mod:`glcic.classical.checks`) and returns a new RGB ``uint8`` ``(H, W, 3)`` array.
Pixels outside the hole are exactly the input's; an empty mask gives back a copy of
the input.

``fsr`` and ``patchmatch`` need native code that an installation may lack (OpenCV's
contrib module, PyPatchMatch's library): :func:`available_methods` lists the methods
that can run here and :func:`unavailable_methods` why the others cannot; calling one
that cannot run raises an :class:`~glcic.errors.InputError` that says why and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from glcic.classical import interpolation, patchmatch
from glcic.classical.checks import check_image, check_image_and_mask
from glcic.classical.interpolation import (
    inpaint_biharmonic,
    inpaint_fsr,
    inpaint_mean,
    inpaint_ns,
    inpaint_telea,
)
from glcic.classical.patchmatch import PATCHMATCH_PATCH_SIZE, inpaint_patchmatch
from glcic.errors import InputError
from glcic.options import CLASSICAL_METHODS

__all__ = [
    "CLASSICAL_METHODS",
    "METHOD_FUNCTIONS",
    "PATCHMATCH_PATCH_SIZE",
    "available_methods",
    "check_image",
    "check_image_and_mask",
    "inpaint_biharmonic",
    "inpaint_classical",
    "inpaint_fsr",
    "inpaint_mean",
    "inpaint_ns",
    "inpaint_patchmatch",
    "inpaint_telea",
    "unavailable_methods",
]


def _missing(name: str) -> str:
    """Why the classical method ``name`` cannot run here; empty when it can."""
    if name == "fsr":
        return interpolation.fsr_missing()
    if name == "patchmatch":
        return patchmatch.missing()
    return ""


def available_methods() -> tuple[str, ...]:
    """The classical methods that can run here, in :data:`CLASSICAL_METHODS` order.

    ``telea``, ``ns``, ``biharmonic`` and ``mean`` always can; ``fsr`` needs OpenCV's
    contrib module, ``patchmatch`` PyPatchMatch's native library (loaded and tried on a
    tiny image on the first call, then remembered). What a server offers and a menu shows.
    """
    return tuple(m for m in CLASSICAL_METHODS if not _missing(m))


def unavailable_methods() -> dict[str, str]:
    """``{method: why it cannot run here and how to fix it}`` for the classical methods
    that :func:`available_methods` leaves out; empty when every one can run."""
    return {m: why for m in CLASSICAL_METHODS if (why := _missing(m))}


METHOD_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "telea": inpaint_telea,
    "ns": inpaint_ns,
    "biharmonic": inpaint_biharmonic,
    "mean": inpaint_mean,
    "fsr": inpaint_fsr,
    "patchmatch": inpaint_patchmatch,
}
"""The function of each name in :data:`CLASSICAL_METHODS`, called as ``fn(image, mask)``."""


def inpaint_classical(name: str, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Run the classical baseline called ``name`` with its default options.

    Args:
        name: one of :data:`CLASSICAL_METHODS` (``telea``, ``ns``, ``biharmonic``,
            ``mean``, ``fsr``, ``patchmatch``; from :mod:`glcic.options`).
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: unknown ``name`` (the message lists the known ones), or any
            error of the chosen method.
    """
    try:
        fn = METHOD_FUNCTIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CLASSICAL_METHODS))
        raise InputError(
            f"unknown classical inpainting method {name!r}; known methods: {known}"
        ) from None
    return fn(image, mask)
