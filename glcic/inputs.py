"""The user's image types in and out: paths, decoded images, PIL, numpy, torch.

Like diffusers' image processor, this is the one place that knows the caller's
types. :func:`prepare_image` turns any supported image into a
:class:`PreparedImage`: a float batch for the network, the exact 8-bit pixels for
the classical methods and blending, and the way back to the caller's type.
:func:`prepare_mask` does the same for masks. The rules, written once here and
relied on by the Python API, the CLI and the server:

- **Types in = types out**: PIL -> PIL, array -> array of the same shape and dtype,
  tensor -> tensor of the same shape, dtype and device; a path or a
  :class:`~glcic.io.LoadedImage` -> PIL, except 16-bit colour (which PIL cannot
  hold) -> a ``uint16`` ``(H, W, 3)`` / ``(H, W, 4)`` array.
- **Gray stays gray**: a single-channel image is repeated over R, G and B for the
  network and comes back as the luma of the result (ITU-R 601-2, the weights of
  PIL's ``convert("L")``).
- **Depth stays depth**: 16-bit (gray or colour, file, PIL or ``uint16`` array) and
  float gray keep their depth; the hole is filled from the network's float output,
  not from an 8-bit result scaled up, and blending's change is added at full depth.
- **Alpha is untouched**, inside the hole too.
- **Known pixels are exact**: only the pixels a method changed (the hole, plus the
  blending seam) differ from the input, bit for bit at any depth.
- **Metadata goes along**: a PIL image or a file's ICC profile, EXIF and XMP
  (:class:`~glcic.io.SourceInfo`) are in :attr:`PreparedImage.info`, for the result.

A completed image (:data:`~glcic.pixels.Pixels`) is a float tensor, a ``uint8`` array or
a :class:`~glcic.pixels.HoleFill` (the input plus the fill at the pixels it changed);
:mod:`glcic.pixels` converts between them. The way back to the caller's type converts the
changed pixels only: everything else is a copy of the input.

torch is imported only when a tensor is needed (the network, a tensor input or
output), so the classical methods run without it (``glcic inpaint --method telea``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps

from glcic.errors import InputError
from glcic.io import (
    GRAY_MODES,
    LoadedImage,
    SourceInfo,
    gray_to_unit,
    load_image,
    load_mask,
    pil_to_rgb,
)
from glcic.io.images import orientation_of
from glcic.io.metadata import read_info
from glcic.io.modes import scale16
from glcic.pixels import (
    LUMA,
    HoleFill,
    Pixels,
    as_float,
    as_uint8,
    gray_at,
    luma_np,
    uint8_at,
    unit_at,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "LUMA",
    "Pixels",
    "PreparedImage",
    "as_float",
    "as_uint8",
    "prepare_image",
    "prepare_mask",
    "to_pil",
]

Restore = Callable[[Sequence[Pixels], np.ndarray], Any]
"""``(results, changed)`` -> the caller's type: one :data:`Pixels` per batch image and
``bool`` ``(B, H, W)``, True where the result replaces the input."""


@dataclass
class PreparedImage:
    """An input image as a float batch, plus the way back to the caller's type.

    Attributes:
        shape: ``(B, H, W)``.
        make_x: builds :attr:`x` (torch is imported only then).
        restore: builds the output (see :data:`Restore`).
        unchanged: a copy of the input, in the caller's type.
        uint8: ``(H, W, 3)`` ``uint8``, the input's exact pixels when it had 8 bits
            (gray repeated), or their ``round(v / 257)`` when it had 16; else None.
        info: the input's :class:`~glcic.io.SourceInfo` (a file or a PIL image), else None.
        unit: a high-depth image's pixels as ``float32`` ``(H, W, 3)`` in [0, 1] (gray
            repeated), for blending at full depth (:meth:`keep_depth`); None at 8 bits.
        tensor: the input is a float tensor: it, too, is blended at full depth, from
            :attr:`x`.
    """

    shape: tuple[int, int, int]
    make_x: Callable[[], torch.Tensor]
    restore: Restore
    unchanged: Callable[[], Any]
    uint8: np.ndarray | None = None
    info: SourceInfo | None = None
    unit: np.ndarray | None = None
    tensor: bool = False
    _x: Any = field(default=None, init=False, repr=False)

    @property
    def x(self) -> torch.Tensor:
        """``(B, 3, H, W)`` float32 in [0, 1]; gray is repeated over the channels."""
        if self._x is None:
            self._x = self.make_x()
        return self._x

    def pixels(self, b: int) -> np.ndarray:
        """Image ``b`` as ``uint8`` ``(H, W, 3)``, for classical methods and blending."""
        if self.uint8 is not None:
            return self.uint8
        from glcic.convert import to_uint8

        return to_uint8(self.x[b])

    def keep_depth(
        self, b: int, result: Pixels, blended: np.ndarray, hole: np.ndarray, changed: np.ndarray
    ) -> Pixels:
        """Image ``b``'s blended image at the input's depth (blending works on 8 bits).

        Args:
            b: the image's index in the batch.
            result: the filler's completion (a fill or a tensor from the network, ``uint8``
                from a classical method); the input's own pixels outside ``hole``.
            blended: ``uint8`` ``(H, W, 3)``, :func:`glcic.postprocess.blend` of it.
            hole: ``bool`` ``(H, W)``.
            changed: ``bool`` ``(H, W)``: the hole and the pixels blending changed.

        Returns:
            ``blended`` for an 8-bit input. For a high-depth one or a float tensor, a
            :class:`~glcic.pixels.HoleFill` over the input's full-depth pixels: at the
            ``changed`` pixels, the completion inside the hole and the input outside, each
            plus the change blending made to its 8-bit form (elsewhere there is none).
        """
        unit = self.unit
        if unit is None and self.tensor:
            unit = self.x[b].detach().permute(1, 2, 0).cpu().numpy()  # (H, W, 3) float32
        if unit is None:
            return blended
        ys, xs = np.nonzero(changed)
        inside = hole[ys, xs][:, None]  # (n, 1)
        base = np.where(inside, unit_at(result, ys, xs), unit[ys, xs])  # (n, 3) full depth
        change = (blended[ys, xs].astype(np.float32) - uint8_at(result, ys, xs).astype(np.float32)) / np.float32(255.0)
        return HoleFill(unit, ys, xs, np.clip(base + change, 0.0, 1.0), self.uint8)


def _float_batch(rgb: np.ndarray) -> Callable[[], torch.Tensor]:
    """``uint8`` ``(H, W, 3)`` -> a builder of ``(1, 3, H, W)`` float in [0, 1]."""

    def make() -> torch.Tensor:
        from glcic.convert import to_tensor

        return to_tensor(rgb)[None].contiguous()  # to_tensor copies read-only arrays itself

    return make


# --------------------------------------------------------------------------- adapters
# Each returns arrays; the PIL and LoadedImage wrappers turn them into PIL images.


def _from_rgb(a: np.ndarray) -> PreparedImage:
    """``uint8`` ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA -> restore gives the same shape."""
    rgb = a[:, :, :3]

    def restore(results: Sequence[Pixels], changed: np.ndarray) -> np.ndarray:
        out = a.copy()  # alpha (if any) stays untouched
        ys, xs = np.nonzero(changed[0])
        out[ys, xs, :3] = uint8_at(results[0], ys, xs)
        return out

    return PreparedImage((1, *rgb.shape[:2]), _float_batch(rgb), restore, a.copy, rgb)


def _from_gray(g: np.ndarray, alpha: np.ndarray | None = None) -> PreparedImage:
    """``uint8`` gray ``(H, W)`` (+ alpha) -> restore gives ``(H, W)`` (or ``(H, W, 2)``)."""
    rgb = np.broadcast_to(g[:, :, None], (*g.shape, 3))  # (H, W, 3) view, no copy

    def restore(results: Sequence[Pixels], changed: np.ndarray) -> np.ndarray:
        out = g.copy()
        ys, xs = np.nonzero(changed[0])
        out[ys, xs] = gray_at(results[0], ys, xs)
        return out if alpha is None else np.stack([out, alpha], axis=2)  # alpha untouched

    def unchanged() -> np.ndarray:
        return g.copy() if alpha is None else np.stack([g, alpha], axis=2)

    return PreparedImage((1, *g.shape), _float_batch(rgb), restore, unchanged, rgb)


def _from_deep(native: np.ndarray, scale: float, wrap: Callable[[np.ndarray], Any]) -> PreparedImage:
    """High-depth pixels, every bit of the known ones kept.

    Args:
        native: ``(H, W)`` gray or ``(H, W, 3)`` / ``(H, W, 4)`` colour (alpha last,
            untouched), in the caller's dtype (``uint16``; PIL ``I`` is ``int32``, ``F``
            ``float32``).
        scale: what maps [0, 1] onto ``native``'s range (65535; 1 or 255 for floats).
        wrap: ``native``-shaped array -> the caller's type.
    """
    gray = native.ndim == 2
    colour = native if gray else native[:, :, :3]
    alpha = None if gray or native.shape[2] == 3 else native[:, :, 3]
    unit = colour.astype(np.float32) / np.float32(scale)  # (H, W) or (H, W, 3) in [0, 1]
    unit3 = np.ascontiguousarray(np.broadcast_to(unit[:, :, None], (*unit.shape, 3)) if gray else unit)
    integer = np.issubdtype(native.dtype, np.integer)
    eight = scale16(colour) if native.dtype == np.uint16 else np.round(np.clip(unit3, 0, 1) * 255).astype(np.uint8)
    eight = np.ascontiguousarray(np.broadcast_to(eight[:, :, None], (*eight.shape, 3)) if eight.ndim == 2 else eight)

    def make_x() -> torch.Tensor:
        import torch

        return torch.from_numpy(unit3).permute(2, 0, 1)[None].contiguous()  # (1, 3, H, W)

    def restore(results: Sequence[Pixels], changed: np.ndarray) -> Any:
        ys, xs = np.nonzero(changed[0])
        res = unit_at(results[0], ys, xs)  # (n, 3) float32 in [0, 1]
        if gray:
            res = luma_np(res)  # (n,)
        v = res.astype(np.float64) * scale
        if integer:
            v = np.clip(np.round(v), 0, 65535)
        out = colour.copy()
        out[ys, xs] = v.astype(native.dtype)
        return wrap(out if alpha is None else np.concatenate([out, alpha[:, :, None]], axis=2))

    return PreparedImage((1, *native.shape[:2]), make_x, restore, lambda: wrap(native.copy()), eight, unit=unit3)


def _from_high_depth_pil(im: Image.Image) -> PreparedImage:
    """PIL ``I;16*``, ``I`` or ``F`` gray: back in the same mode."""
    _, scale = gray_to_unit(im, "image")  # checks the value range
    native = np.asarray(im)  # (H, W), the caller's dtype
    return _from_deep(native, scale, lambda a: Image.fromarray(a))


def _with_pil_output(prep: PreparedImage, unchanged: Callable[[], Image.Image]) -> PreparedImage:
    """The same preparation, answering with PIL images instead of arrays."""
    restore = prep.restore
    return PreparedImage(prep.shape, prep.make_x, lambda r, c: Image.fromarray(restore(r, c)), unchanged, prep.uint8)


def _from_pil(im: Image.Image) -> PreparedImage:
    # Upright, as every viewer shows it (and as the mask was drawn): the result is upright too.
    orientation = orientation_of(im)
    info = read_info(im, getattr(im, "filename", "") or "image", orientation=orientation,
                     bits=16 if im.mode.startswith("I;16") else 8)
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode.startswith("I") or mode == "F":  # high-depth gray: keep all of it
        prep = _from_high_depth_pil(im)
    elif mode in GRAY_MODES:  # 1, L, LA, La
        la = np.asarray(im.convert("LA" if "A" in mode or "a" in mode else "L"))
        prep = _from_gray(la[:, :, 0], la[:, :, 1]) if la.ndim == 3 else _from_gray(la)
        prep = _with_pil_output(prep, im.copy)
    else:
        rgb, alpha = pil_to_rgb(im, "image")  # P, CMYK, YCbCr, ... become RGB(A)
        prep = _from_rgb(rgb if alpha is None else np.concatenate([rgb, alpha[:, :, None]], axis=2))
        prep = _with_pil_output(prep, im.copy)
    prep.info = info
    return prep


def to_pil(loaded: LoadedImage) -> Image.Image:
    """A decoded image as PIL in its mode family: ``L``, ``LA``, ``RGB`` or ``RGBA``
    (8 bits: a 16-bit image's :attr:`~glcic.io.LoadedImage.rgb`)."""
    if loaded.is_gray:
        g = loaded.rgb[:, :, 0]  # (H, W)
        return Image.fromarray(g if loaded.alpha is None else np.stack([g, loaded.alpha], axis=2))
    return Image.fromarray(loaded.to_array())


def _from_loaded(loaded: LoadedImage) -> PreparedImage:
    """An image :func:`glcic.io.load_image` already decoded: used as is, not read again."""
    if loaded.deep is not None:  # 16-bit: gray as PIL I;16, colour as a uint16 array
        gray = loaded.deep.ndim == 2
        prep = _from_deep(loaded.deep, 65535.0, (lambda a: Image.fromarray(a)) if gray else (lambda a: a))
    elif loaded.is_gray:
        prep = _with_pil_output(_from_gray(np.ascontiguousarray(loaded.rgb[:, :, 0]), loaded.alpha), lambda: to_pil(loaded))
    else:
        prep = _with_pil_output(_from_rgb(loaded.to_array()), lambda: to_pil(loaded))
    prep.info = loaded.info
    return prep


def _from_array(a: np.ndarray) -> PreparedImage:
    if a.dtype not in (np.uint8, np.uint16):
        raise InputError(
            f"image arrays must be uint8 in [0, 255] (or uint16 in [0, 65535]); got dtype {a.dtype}; "
            "for floats in [0, 1] pass a torch tensor (3, H, W) or convert with "
            "(x * 255).round().astype(np.uint8)"
        )
    if a.dtype == np.uint16 and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4))):
        native = a.reshape(a.shape[:2]) if a.ndim == 3 and a.shape[2] == 1 else a
        return _from_deep(np.ascontiguousarray(native), 65535.0, lambda out: out.reshape(a.shape))
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1):
        prep = _from_gray(a.reshape(a.shape[0], a.shape[1]))
        restore = prep.restore
        return PreparedImage(prep.shape, prep.make_x, lambda r, c: restore(r, c).reshape(a.shape), a.copy, prep.uint8)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InputError(
            f"image arrays must be (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray; got shape {a.shape}"
            + ("; channels-first arrays need x.transpose(1, 2, 0)" if a.ndim == 3 and a.shape[0] in (3, 4) else "")
        )
    return _from_rgb(a)


def _from_tensor(t: torch.Tensor) -> PreparedImage:
    import torch

    if not t.is_floating_point():
        raise InputError(
            f"image tensors must be float in [0, 1]; got {t.dtype}; divide a uint8 tensor by 255"
        )
    if t.ndim == 3 and t.shape[0] == 3:
        batch = t[None]
    elif t.ndim == 4 and t.shape[1] == 3:
        batch = t
    else:
        raise InputError(f"image tensors must be (3, H, W) or (B, 3, H, W) RGB in [0, 1]; got {tuple(t.shape)}")
    batch = batch.detach()
    if batch.numel() == 0:
        raise InputError(f"the image tensor is empty: {tuple(t.shape)}")
    lo, hi = float(batch.min()), float(batch.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 1:
        raise InputError(
            f"image tensors must hold values in [0, 1]; got [{lo:g}, {hi:g}]"
            + ("; divide by 255" if hi > 1 and hi <= 255 and lo >= 0 else "")
        )

    def restore(results: Sequence[Pixels], changed: np.ndarray) -> torch.Tensor:
        res = torch.cat([as_float(r).to(batch.device) for r in results])  # (B, 3, H, W)
        c = torch.from_numpy(changed).to(batch.device)[:, None]  # (B, 1, H, W)
        out = torch.where(c, res.to(dtype=batch.dtype), batch)
        return out.reshape(t.shape)

    x = batch.float()
    return PreparedImage((x.shape[0], *x.shape[2:]), lambda: x, restore, lambda: t.detach().clone(), tensor=True)


def prepare_image(image: Any) -> PreparedImage:
    """Any supported image -> :class:`PreparedImage`.

    Args:
        image: a file path (read with :func:`glcic.io.load_image`, EXIF applied), a
            :class:`~glcic.io.LoadedImage` (already read: used as is), a PIL image
            (any mode; turned upright by its EXIF orientation tag, like files), a ``uint8``
            or ``uint16`` array ``(H, W, 3)``, ``(H, W, 4)``, ``(H, W)`` or ``(H, W, 1)``,
            or a float tensor ``(3, H, W)`` or ``(B, 3, H, W)`` in [0, 1].

    Raises:
        InputError: an unreadable file, a wrong dtype, shape or value range, or
            another type.
    """
    if isinstance(image, (str, os.PathLike)):
        return _from_loaded(load_image(image))
    if isinstance(image, LoadedImage):
        return _from_loaded(image)
    if isinstance(image, Image.Image):
        return _from_pil(image)
    if isinstance(image, np.ndarray):
        return _from_array(image)
    if _is_tensor(image):
        return _from_tensor(image)
    raise InputError(
        f"image must be a PIL image, a uint8 numpy array (H, W, 3), a float tensor (3, H, W) in "
        f"[0, 1] or a file path; got {type(image).__name__}"
    )


def _is_tensor(obj: Any) -> bool:
    """A torch tensor? (Without importing torch: if it is not imported, nothing is a tensor.)"""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def prepare_mask(mask: Any, batch: int, height: int, width: int) -> np.ndarray:
    """Any mask -> ``bool`` ``(B, H, W)``, True = hole.

    A ``bool`` ``(H, W)`` array of the image's size (what :func:`glcic.io.load_mask`
    returns) is taken as already parsed; anything else is read by ``load_mask``
    (files and PIL masks turned upright by their EXIF tag, like images). A tensor
    ``(B, 1, H, W)`` gives one mask per batch image.

    Raises:
        InputError: an unreadable mask, or one whose size differs from the image's.
    """
    if _is_tensor(mask) and mask.ndim == 4 and mask.shape[0] > 1:
        if mask.shape[0] != batch or mask.shape[1] != 1:
            raise InputError(f"a batch of masks must be (B, 1, H, W) with B = {batch}; got {tuple(mask.shape)}")
        return np.stack([prepare_mask(m[0], 1, height, width)[0] for m in mask])
    if _is_tensor(mask) and mask.ndim > 4:
        raise InputError(f"mask tensors must be (H, W), (1, H, W) or (B, 1, H, W); got {tuple(mask.shape)}")
    if isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (height, width):
        hole = mask  # parsed at the boundary already (e.g. by the CLI): not read again
    else:
        hole = load_mask(mask, size=(width, height), max_pixels=None)
    return np.repeat(hole[None], batch, axis=0)  # (B, H, W)
