"""PatchMatch (Barnes et al. 2009), the exemplar method, through PyPatchMatch.

It copies patches of the known pixels into the hole where the interpolating methods
(:mod:`glcic.classical.interpolation`) diffuse colour. PyPatchMatch loads a native library
that an installation may lack or have broken: :func:`missing` says why it cannot run, and
:func:`inpaint_patchmatch` raises an :class:`~glcic.errors.InputError` that says how to fix it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np

from glcic.classical.checks import FULL_COVER, check_image_and_mask
from glcic.errors import InputError

__all__ = ["PATCHMATCH_PATCH_SIZE", "inpaint_patchmatch", "missing"]


PATCHMATCH_PATCH_SIZE = 3
"""PyPatchMatch's ``patch_size``, a patch *radius*: 3 compares 7x7 patches, the size of
Barnes et al. 2009 and of PyPatchMatch's own examples. Measured on 120 scene photos at
128 px: 5 and 7 lose 0.4-0.9 dB of hole PSNR and are slower; 2 is no better."""

_PATCHMATCH_FIX = (
    "reinstall it with `pip install --force-reinstall --no-cache-dir pypatchmatch` (wheels "
    "with the prebuilt library exist for Linux x86-64, macOS arm64 and Windows x86-64; "
    "elsewhere pip builds it, which needs a C++ compiler, CMake and OpenCV), or pick another "
    "method (telea, ns, biharmonic, fsr, mean)"
)


@functools.cache
def _library() -> tuple[Callable[..., np.ndarray] | None, str]:
    """PyPatchMatch's ``inpaint`` and ``""``, or ``None`` and why it cannot run here.

    Imported once, on first use (the package loads its native library at import). Its
    own warning on a failed load is caught and put into the reason, so that a user
    sees one message, ours. A library that loads is also tried on a tiny image: a
    broken build fails here, not in the middle of an evaluation.
    """
    log = logging.getLogger("patchmatch.patch_match")
    caught: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            caught.append(record.getMessage())

    handler, propagate = Catch(), log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        from patchmatch import patch_match
    except ImportError as e:
        return None, (
            f"PyPatchMatch is not installed ({e}); install it with `pip install pypatchmatch` "
            "(a dependency of glcic), or pick another method"
        )
    except Exception as e:  # any failure of a third-party import means it cannot run
        return None, f"PyPatchMatch failed to import ({type(e).__name__}: {e}); {_PATCHMATCH_FIX}"
    finally:
        log.removeHandler(handler)
        log.propagate = propagate
    if not getattr(patch_match, "patchmatch_available", False):
        why = caught[-1] if caught else "patchmatch_available is False"
        return None, f"PyPatchMatch's native library did not load ({why}); {_PATCHMATCH_FIX}"
    try:
        probe = np.zeros((8, 8, 3), np.uint8)
        hole = np.zeros((8, 8), np.uint8)
        hole[3:5, 3:5] = 1
        patch_match.inpaint(probe, hole, patch_size=1)
    except Exception as e:  # a broken library fails in many ways
        return (
            None,
            f"PyPatchMatch's native library is broken ({type(e).__name__}: {e}); {_PATCHMATCH_FIX}",
        )
    return patch_match.inpaint, ""


def inpaint_patchmatch(
    image: np.ndarray, mask: np.ndarray, patch_size: int = PATCHMATCH_PATCH_SIZE
) -> np.ndarray:
    """Fill the hole with PatchMatch (Barnes et al. 2009; PyPatchMatch's ``inpaint``).

    Copies patches of the known pixels into the hole, coarse to fine, choosing for each
    hole pixel the patch whose surroundings match best (a randomized nearest-neighbour
    search): it paints the photo's own texture where diffusion methods blur, at the
    price of seams and misplaced copies (lower PSNR than a smooth fill). Deterministic:
    PyPatchMatch seeds its search the same way for every call. The library is
    channel-order agnostic (tested), so the RGB image goes in as it is.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole (PyPatchMatch's convention too).
        patch_size: the patch radius (patches of ``2 * patch_size + 1`` pixels a side);
            default :data:`PATCHMATCH_PATCH_SIZE`.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, a bad ``patch_size``, a mask covering the whole
            image, or PyPatchMatch missing or broken here (the message says why and how
            to fix it).
    """
    if (
        isinstance(patch_size, bool)
        or not isinstance(patch_size, (int, np.integer))
        or patch_size < 1
    ):
        raise InputError(
            f"patch_size must be a positive integer (a patch radius in pixels); got {patch_size!r}"
        )
    image, hole = check_image_and_mask(image, mask)
    if not hole.any():
        return image.copy()
    if hole.all():
        raise InputError(FULL_COVER)
    fill, why = _library()
    if fill is None:
        raise InputError(f"method patchmatch cannot run here: {why}")
    try:
        filled = fill(image, hole.astype(np.uint8), patch_size=int(patch_size))  # (H, W, 3) uint8
    except RuntimeError as e:  # the native call failed (it reports why)
        raise InputError(f"method patchmatch failed: {e}; {_PATCHMATCH_FIX}") from None
    # PyPatchMatch keeps the known pixels itself (tested); the select makes it a guarantee.
    return np.where(hole[:, :, None], filled, image)


def missing() -> str:
    """Why PatchMatch cannot run here; empty when it can (the library is loaded and tried
    on a tiny image on the first call, then remembered)."""
    return _library()[1]
