"""Classical (non-learned) inpainting baselines.

These are the references the paper compares against and the fallbacks a user can
run without weights: OpenCV's fast marching (Telea 2004) and Navier-Stokes
(Bertalmio et al. 2001) methods, scikit-image's biharmonic inpainting, a flat
mean fill, OpenCV contrib's frequency-selective reconstruction (``fsr``, the
slowest), and PatchMatch (Barnes et al. 2009, through PyPatchMatch), the exemplar
method, which copies texture from the known pixels where the others diffuse colour.

Every public function takes an RGB ``uint8`` image of shape ``(H, W, 3)`` and a
mask of shape ``(H, W)`` (``bool`` or ``uint8``; **non-zero = hole**) and returns
a new RGB ``uint8`` ``(H, W, 3)`` array. Pixels outside the hole are exactly the
input's; an empty mask gives back a copy of the input.

``fsr`` and ``patchmatch`` need native code that an installation may lack (OpenCV's
contrib module, PyPatchMatch's library): :func:`available_methods` lists the methods
that can run here and :func:`unavailable_methods` why the others cannot; calling one
that cannot run raises an :class:`~glcic.errors.InputError` that says why and how to fix it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from glcic.errors import InputError
from glcic.io import check_uint8
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

_FULL_COVER = (
    "the mask covers the whole image; there are no known pixels to propagate from. "
    "Leave some known pixels (mask value 0) or use inpaint_mean with an explicit fill"
)


def check_image(image: object, name: str = "image") -> np.ndarray:
    """Check that ``image`` is an RGB ``uint8`` array of shape ``(H, W, 3)``.

    Args:
        image: the array to check.
        name: what to call it in the error message.

    Returns:
        The same array as a C-contiguous ``np.ndarray`` (a view when it already is).

    Raises:
        InputError: not a numpy array, not ``uint8``, or not ``(H, W, 3)``.
    """
    if not isinstance(image, np.ndarray):
        raise InputError(
            f"{name} must be a numpy uint8 array of shape (H, W, 3); got {type(image).__name__}. "
            "Convert a PIL image with np.asarray(img.convert('RGB'))"
        )
    check_uint8(image, name)
    if image.ndim != 3 or image.shape[2] != 3:
        hint = (
            "a grayscale image can be repeated: np.repeat(x[:, :, None], 3, axis=2)"
            if image.ndim == 2
            else "drop alpha with x[..., :3]; channels-first arrays need x.transpose(1, 2, 0)"
        )
        raise InputError(f"{name} must have shape (H, W, 3) RGB; got {image.shape}; {hint}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {image.shape}); give an image with pixels")
    return np.ascontiguousarray(image)


def _check_mask(mask: object, hw: tuple[int, int], name: str = "mask") -> np.ndarray:
    """Check a hole mask against an image size and return it as ``bool`` (H, W)."""
    if not isinstance(mask, np.ndarray):
        raise InputError(
            f"{name} must be a numpy bool or uint8 array of shape (H, W), non-zero = hole; "
            f"got {type(mask).__name__}"
        )
    if mask.dtype != np.bool_ and mask.dtype != np.uint8:
        raise InputError(
            f"{name} must have dtype bool or uint8 (non-zero = hole); got {mask.dtype}; "
            "binarize it first, e.g. mask > 0.5"
        )
    if mask.ndim != 2:
        hint = "take one channel with mask[..., 0]" if mask.ndim == 3 else "give a 2-D array"
        raise InputError(f"{name} must have shape (H, W); got {mask.shape}; {hint}")
    if tuple(mask.shape) != tuple(hw):
        raise InputError(
            f"{name} shape {tuple(mask.shape)} does not match the image size {tuple(hw)} (H, W); "
            "resize the mask to the image with nearest-neighbour interpolation"
        )
    return mask.astype(bool, copy=False)


def check_image_and_mask(
    image: object, mask: object, image_name: str = "image"
) -> tuple[np.ndarray, np.ndarray]:
    """Check an image and its hole mask together.

    Args:
        image: RGB ``uint8`` array ``(H, W, 3)``.
        mask: ``bool`` or ``uint8`` array ``(H, W)``, non-zero = hole.
        image_name: what to call the image in error messages.

    Returns:
        ``(image, hole)``: the image (C-contiguous) and the mask as ``bool`` ``(H, W)``.

    Raises:
        InputError: wrong type, dtype or shape, or the two sizes differ.
    """
    image = check_image(image, image_name)
    hole = _check_mask(mask, image.shape[:2])
    return image, hole


def _check_radius(radius: object) -> float:
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise InputError(
            f"radius must be a positive number of pixels (OpenCV's inpaintRadius); got {radius!r}"
        )
    return float(radius)


def _fill_bgr(
    image: object, mask: object, fill: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Check, convert to OpenCV's BGR, ``fill(bgr, hole)``, convert back, keep the known pixels.

    ``fill`` takes ``uint8`` (H, W, 3) BGR and ``bool`` (H, W) (True = hole) and returns
    ``uint8`` (H, W, 3) BGR; only its hole pixels are kept.
    """
    image, hole = check_image_and_mask(image, mask)
    if not hole.any():
        return image.copy()
    if hole.all():
        raise InputError(_FULL_COVER)
    filled = fill(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), hole)
    filled = cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)  # (H, W, 3) uint8
    # cv2.inpaint only writes hole pixels, xphoto's FSR rewrites known ones a little:
    # the select makes "outside the hole = the input" a guarantee for every method.
    return np.where(hole[:, :, None], filled, image)


def _opencv_inpaint(image: object, mask: object, radius: object, flag: int) -> np.ndarray:
    radius = _check_radius(radius)
    return _fill_bgr(
        image, mask, lambda bgr, hole: cv2.inpaint(bgr, hole.astype(np.uint8) * 255, radius, flag)
    )


def inpaint_telea(image: np.ndarray, mask: np.ndarray, radius: float = 5) -> np.ndarray:
    """Fill the hole by fast marching (Telea 2004; ``cv2.INPAINT_TELEA``).

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.
        radius: neighbourhood radius in pixels that each filled pixel looks at.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, non-positive radius, or a mask covering
            the whole image (nothing to propagate from).
    """
    return _opencv_inpaint(image, mask, radius, cv2.INPAINT_TELEA)


def inpaint_ns(image: np.ndarray, mask: np.ndarray, radius: float = 5) -> np.ndarray:
    """Fill the hole with the Navier-Stokes method (Bertalmio 2001; ``cv2.INPAINT_NS``).

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.
        radius: neighbourhood radius in pixels.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, non-positive radius, or a mask covering
            the whole image.
    """
    return _opencv_inpaint(image, mask, radius, cv2.INPAINT_NS)


def inpaint_biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the hole with a biharmonic function (``skimage.restoration.inpaint_biharmonic``).

    Smooth and good for small holes, but slow for big ones: it solves a sparse
    linear system with one unknown per hole pixel, whose cost grows faster than
    the hole area (measured with scikit-image 0.26 on one CPU core: 0.1 s for a
    64x64 hole, 0.6 s for 200x200; megapixel holes take far longer and much
    memory). Prefer ``telea`` for large images.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.

    Returns:
        RGB ``uint8`` ``(H, W, 3)`` (the [0, 1] float result rounded back to
        [0, 255]); pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, or a mask covering the whole image.
    """
    from skimage.restoration import inpaint_biharmonic as _biharmonic

    image, hole = check_image_and_mask(image, mask)
    if not hole.any():
        return image.copy()
    if hole.all():
        raise InputError(_FULL_COVER)
    x = image.astype(np.float64) / 255.0  # (H, W, 3) in [0, 1]
    filled = _biharmonic(x, hole, channel_axis=-1)  # (H, W, 3), may overshoot [0, 1]
    filled = np.clip(np.round(filled * 255.0), 0, 255).astype(np.uint8)
    return np.where(hole[:, :, None], filled, image)


def inpaint_fsr(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the hole by frequency-selective reconstruction (Seiler et al. 2015, Genser et
    al. 2018; OpenCV contrib's ``cv2.xphoto.inpaint`` with ``INPAINT_FSR_FAST``).

    Models each block around the hole as a sparse sum of DCT basis functions fitted to
    the known pixels; keeps texture and edges better than diffusion, but is slow
    (measured here, one CPU core: about 0.2 s for a 64x64 image with a 32x32 hole,
    0.8 s for 160x160 with 80x80). xphoto's mask marks the *known* pixels (non-zero =
    valid), the opposite of ours; it is inverted here.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, a mask covering the whole image, or an OpenCV
            without the contrib module.
    """
    why = _fsr_missing()
    if why:
        raise InputError(f"method fsr cannot run here: {why}")

    def fsr(bgr: np.ndarray, hole: np.ndarray) -> np.ndarray:
        known = (~hole).astype(np.uint8) * 255  # (H, W); xphoto: non-zero = KNOWN
        out = np.empty_like(bgr)  # (H, W, 3) BGR, written by xphoto
        cv2.xphoto.inpaint(bgr, known, out, cv2.xphoto.INPAINT_FSR_FAST)
        return out

    return _fill_bgr(image, mask, fsr)


def _fsr_missing() -> str:
    """Why ``fsr`` cannot run here; empty when it can."""
    if hasattr(cv2, "xphoto"):
        return ""
    return (
        f"it needs OpenCV's contrib module (cv2.xphoto), which OpenCV {cv2.__version__} here "
        "lacks; install opencv-contrib-python-headless instead of opencv-python-headless"
    )


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
def _patchmatch() -> tuple[Callable[..., np.ndarray] | None, str]:
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
        return None, f"PyPatchMatch's native library is broken ({type(e).__name__}: {e}); {_PATCHMATCH_FIX}"
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
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)) or patch_size < 1:
        raise InputError(
            f"patch_size must be a positive integer (a patch radius in pixels); got {patch_size!r}"
        )
    image, hole = check_image_and_mask(image, mask)
    if not hole.any():
        return image.copy()
    if hole.all():
        raise InputError(_FULL_COVER)
    fill, why = _patchmatch()
    if fill is None:
        raise InputError(f"method patchmatch cannot run here: {why}")
    try:
        filled = fill(image, hole.astype(np.uint8), patch_size=int(patch_size))  # (H, W, 3) uint8
    except RuntimeError as e:  # the native call failed (it reports why)
        raise InputError(f"method patchmatch failed: {e}; {_PATCHMATCH_FIX}") from None
    # PyPatchMatch keeps the known pixels itself (tested); the select makes it a guarantee.
    return np.where(hole[:, :, None], filled, image)


def _missing(name: str) -> str:
    """Why the classical method ``name`` cannot run here; empty when it can."""
    if name == "fsr":
        return _fsr_missing()
    if name == "patchmatch":
        return _patchmatch()[1]
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


def inpaint_mean(
    image: np.ndarray, mask: np.ndarray, fill: Sequence[float] | None = None
) -> np.ndarray:
    """Fill the hole with one flat colour.

    Args:
        image: RGB ``uint8`` ``(H, W, 3)``.
        mask: ``bool``/``uint8`` ``(H, W)``, non-zero = hole.
        fill: RGB colour in [0, 1] (e.g. ``(0.5, 0.5, 0.5)``). ``None`` uses the
            per-channel mean of the known pixels of this image.

    Returns:
        RGB ``uint8`` ``(H, W, 3)``; the hole holds ``round(fill * 255)`` (or the
        rounded known-pixel mean); pixels outside the hole are the input's.

    Raises:
        InputError: bad image or mask, a ``fill`` that is not three numbers in
            [0, 1], or ``fill=None`` with a mask covering the whole image.
    """
    image, hole = check_image_and_mask(image, mask)
    if fill is None:
        if hole.all():
            raise InputError(
                "the mask covers the whole image, so there are no known pixels to average; "
                "pass an explicit fill=(r, g, b) in [0, 1]"
            )
        colour = image[~hole].astype(np.float64).mean(axis=0) / 255.0  # (3,) in [0, 1]
    else:
        colour = np.asarray(fill, dtype=np.float64) if _is_numbers(fill) else None
        if colour is None or colour.shape != (3,) or not np.all((colour >= 0) & (colour <= 1)):
            raise InputError(
                f"fill must be three numbers (R, G, B) in [0, 1]; got {fill!r}; "
                "for 8-bit colours divide by 255"
            )
    value = np.round(colour * 255.0).astype(np.uint8)  # (3,)
    out = image.copy()
    out[hole] = value
    return out


def _is_numbers(x: object) -> bool:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(a)))


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
