"""Inference: one object, one call.

>>> from glcic import InpaintPipeline
>>> pipe = InpaintPipeline.from_pretrained("default")          # or a bundle folder
>>> result = pipe(image, mask)                                   # PIL in -> PIL out

``image`` is a PIL image, a ``uint8`` array or a float tensor in [0, 1]; ``mask``
has the same size and marks the hole with **non-zero / white**. The result has
the input's type, size and mode family, and equals the input exactly outside the
hole (unless ``postprocess="blend"``, which also changes a seam of
:data:`~glcic.postprocess.DEFAULT_SEAM` pixels around each hole).

The network path (Sec. 3 of the paper): convert to the model's value range, fill
the hole with the training set's mean pixel, reflect-pad H and W to multiples of
4, run the completion network, crop back, and composite (network output inside
the hole only). Images much larger than the training resolution are handled by
a *strategy* (``original``, ``resize``, ``crop`` or ``auto``; see
``docs/inference.md``). Classical baselines (``method="telea"`` etc.) need no
network: :meth:`InpaintPipeline.classical`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from glcic.bundle import BundleInfo, load_bundle, resolve_bundle_path
from glcic.errors import InputError
from glcic.io import GRAY_MODES, gray_to_unit, load_image, load_mask, pil_to_rgb
from glcic.models.completion import CompletionNetwork, composite, fill_holes
from glcic.precision import cpu_bf16_supported

__all__ = [
    "BACKENDS",
    "METHODS",
    "CropRegion",
    "POSTPROCESS",
    "PRECISIONS",
    "STRATEGIES",
    "InpaintPipeline",
    "choose_strategy",
    "cpu_bf16_supported",
    "crop_regions",
]

STRATEGIES = ("auto", "original", "resize", "crop")
POSTPROCESS = ("none", "blend")
METHODS = ("glcic", "telea", "ns", "biharmonic", "mean")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BACKENDS = ("torch", "onnxruntime")

AUTO_ORIGINAL_FACTOR = 1.5
"""``auto`` runs at native size while the short side is <= this x the training resolution."""
AUTO_CROP_FRACTION = 1 / 16
"""``auto`` crops when every hole cluster is smaller than this fraction of the short side
(below it, ``resize`` would leave the hole only a few pixels; measured in docs/inference.md)."""
CROP_CONTEXT = 2.0
"""A crop's side is this x the hole cluster's longest bounding-box side (at least the
training resolution), so the hole fills at most half the crop, as in training."""
MAX_CLUSTER_COMPONENTS = 2048
"""Masks with more separate holes than this are treated as one cluster by ``crop``."""

# ITU-R 601-2 luma, the weights of PIL's convert("L"): gray results for gray inputs.
_LUMA = (0.299, 0.587, 0.114)


def _choice(name: str, value: Any, allowed: tuple[str, ...], flag: str) -> str:
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r} (CLI: {flag})")
    return value


# --------------------------------------------------------------------------- precision


def _resolve_device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"device must be 'cpu', 'cuda' or 'cuda:N'; got {device!r}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"device {device!r} was asked for but torch.cuda.is_available() is False; use --device cpu"
        )
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"device must be 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
    return dev


def _resolve_precision(precision: str, device: torch.device) -> str:
    _choice("precision", precision, PRECISIONS, "--precision auto|fp32|bf16|fp16")
    if device.type == "cpu":
        if precision == "fp16":
            raise InputError("fp16 is for CUDA only; on CPU use --precision bf16, fp32 or auto")
        if precision == "auto":
            return "bf16" if cpu_bf16_supported() else "fp32"
        return precision
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return precision


# --------------------------------------------------------------------------- strategies


@dataclass
class CropRegion:
    """One window of the ``crop`` strategy (see :func:`crop_regions`)."""

    top: int
    left: int
    height: int
    width: int
    box: tuple[int, int, int, int]
    """The hole cluster's bounding box ``(top, left, bottom, right)``, ends exclusive."""
    paste: np.ndarray
    """``bool`` ``(height, width)``: this cluster's hole pixels inside the window."""

    @property
    def hole_side(self) -> int:
        """The longest side of the cluster's bounding box, in pixels."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


def _merge_boxes(boxes: np.ndarray, resolution: int) -> np.ndarray:
    """Cluster ids for ``(N, 4)`` boxes ``(x0, y0, x1, y1)``: boxes whose crop windows
    overlap, directly or through others, share one (so no pixel is completed twice
    and many small holes do not cost one network pass each)."""
    group = np.arange(len(boxes))
    while True:
        ids, inv = np.unique(group, return_inverse=True)
        k = len(ids)
        lo = np.full((k, 2), np.iinfo(np.int64).max)
        hi = np.full((k, 2), np.iinfo(np.int64).min)
        np.minimum.at(lo, inv, boxes[:, :2])
        np.maximum.at(hi, inv, boxes[:, 2:])
        side = np.maximum(CROP_CONTEXT * (hi - lo).max(axis=1, keepdims=True), resolution)  # (k, 1)
        centre = (lo + hi) / 2  # (k, 2)
        glo, ghi = centre - side / 2, centre + side / 2  # the windows, before clipping
        overlap = ((glo[:, None, :] < ghi[None, :, :]) & (glo[None, :, :] < ghi[:, None, :])).all(axis=2)
        np.fill_diagonal(overlap, False)
        if not overlap.any():
            return inv
        # Connected components of the overlap graph: propagate the smallest id.
        label = np.arange(k)
        while True:
            new = np.where(overlap, label[None, :], k).min(axis=1)
            new = np.minimum(new, label)
            if np.array_equal(new, label):
                break
            label = new
        group = label[inv]


def crop_regions(hole: np.ndarray, resolution: int) -> list[CropRegion]:
    """Where the ``crop`` strategy looks: one window per cluster of nearby holes.

    Each hole (8-connected component) wants a square window of side
    ``max(CROP_CONTEXT * longest box side, resolution)`` centred on it; holes whose
    windows overlap are merged into one cluster (repeatedly), whose window is then
    computed the same way from the cluster's box, clipped to the image (never
    smaller than the box) and shifted inside it.

    Args:
        hole: ``bool`` ``(H, W)``, True = hole.
        resolution: the model's training resolution in pixels.

    Returns:
        One :class:`CropRegion` per cluster.
    """
    import cv2

    H, W = hole.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    x0, y0 = stats[1:, 0].astype(np.int64), stats[1:, 1].astype(np.int64)
    boxes = np.stack([x0, y0, x0 + stats[1:, 2], y0 + stats[1:, 3]], axis=1)  # (N, 4) x0 y0 x1 y1
    if len(boxes) > MAX_CLUSTER_COMPONENTS:
        group = np.zeros(len(boxes), np.int64)
    else:
        group = _merge_boxes(boxes, resolution)
    regions = []
    for g in np.unique(group):
        members = np.flatnonzero(group == g) + 1  # component labels of this cluster
        bx0, by0 = boxes[group == g, :2].min(axis=0)
        bx1, by1 = boxes[group == g, 2:].max(axis=0)
        bw, bh = int(bx1 - bx0), int(by1 - by0)
        side = max(int(round(CROP_CONTEXT * max(bw, bh))), resolution)
        cw, ch = min(W, max(side, bw)), min(H, max(side, bh))
        left = int(np.clip(round((bx0 + bx1) / 2 - cw / 2), 0, W - cw))
        top = int(np.clip(round((by0 + by1) / 2 - ch / 2), 0, H - ch))
        paste = np.isin(labels[top : top + ch, left : left + cw], members)
        regions.append(CropRegion(top, left, ch, cw, (int(by0), int(bx0), int(by1), int(bx1)), paste))
    return regions


def choose_strategy(hole: np.ndarray, resolution: int) -> str:
    """What ``strategy="auto"`` picks for a mask.

    - ``original`` while the image's short side is at most :data:`AUTO_ORIGINAL_FACTOR`
      x ``resolution``: the network sees about the scale it was trained at.
    - ``crop`` when every hole cluster is smaller than :data:`AUTO_CROP_FRACTION` of
      the short side: resizing would shrink it to a few pixels, so it is completed
      in a window around it at (or near) native resolution instead.
    - ``resize`` otherwise: the whole image, at the training scale, is the context.

    Args:
        hole: ``bool`` ``(H, W)``, True = hole.
        resolution: the model's training resolution in pixels.
    """
    short = min(hole.shape)
    if short <= AUTO_ORIGINAL_FACTOR * resolution:
        return "original"
    largest = max((r.hole_side for r in crop_regions(hole, resolution)), default=0)
    return "crop" if largest < AUTO_CROP_FRACTION * short else "resize"


# --------------------------------------------------------------------------- inputs


@dataclass
class _Prepared:
    """An input image as a float batch plus the way back to the caller's type."""

    x: torch.Tensor  # (B, 3, H, W) float32 in [0, 1]
    restore: Callable[[torch.Tensor, np.ndarray], Any]  # (result (B,3,H,W), changed (B,H,W)) -> output
    unchanged: Callable[[], Any]  # a copy of the input


def _luma(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, H, W) with PIL's convert("L") weights."""
    w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1)


def _to_u8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def _prepare_pil(im: Image.Image) -> _Prepared:
    mode = im.mode
    if mode.startswith("I") or mode == "F":  # high-depth gray: keep all of it
        unit, scale = gray_to_unit(im, "image")
        native = np.asarray(im)  # (H, W), the caller's dtype
        x = torch.from_numpy(unit.astype(np.float32))[None, None].expand(1, 3, -1, -1).contiguous()

        def restore(res: torch.Tensor, changed: np.ndarray) -> Image.Image:
            v = _luma(res)[0].numpy().astype(np.float64) * scale
            if mode != "F":
                v = np.clip(np.round(v), 0, 65535)
            out = np.where(changed[0], v.astype(native.dtype), native)
            return Image.fromarray(out)

        return _Prepared(x, restore, im.copy)
    if mode in GRAY_MODES:  # 1, L, LA, La
        la = np.asarray(im.convert("LA" if "A" in mode or "a" in mode else "L"))
        g = la[:, :, 0] if la.ndim == 3 else la  # (H, W) uint8
        x = torch.from_numpy(g.astype(np.float32) / 255)[None, None].expand(1, 3, -1, -1).contiguous()

        def restore(res: torch.Tensor, changed: np.ndarray) -> Image.Image:
            v = _to_u8(_luma(res))[0].numpy()
            out = np.where(changed[0], v, g)
            if la.ndim == 3:
                return Image.fromarray(np.stack([out, la[:, :, 1]], axis=2))  # LA, alpha untouched
            return Image.fromarray(out)  # L

        return _Prepared(x, restore, im.copy)
    rgb, alpha = pil_to_rgb(im, "image")  # P, CMYK, YCbCr, ... become RGB(A)
    prep = _prepare_array(rgb if alpha is None else np.concatenate([rgb, alpha[:, :, None]], axis=2))
    return _Prepared(prep.x, lambda r, c: Image.fromarray(prep.restore(r, c)), im.copy)


def _prepare_array(a: np.ndarray) -> _Prepared:
    if a.dtype != np.uint8:
        raise InputError(
            f"image arrays must be uint8 in [0, 255]; got dtype {a.dtype}; for floats in [0, 1] pass "
            "a torch tensor (3, H, W) or convert with (x * 255).round().astype(np.uint8)"
        )
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1):
        g = a.reshape(a.shape[0], a.shape[1])
        x = torch.from_numpy(g.astype(np.float32) / 255)[None, None].expand(1, 3, -1, -1).contiguous()

        def restore(res: torch.Tensor, changed: np.ndarray) -> np.ndarray:
            return np.where(changed[0], _to_u8(_luma(res))[0].numpy(), g).reshape(a.shape)

        return _Prepared(x, restore, a.copy)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InputError(
            f"image arrays must be (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray; got shape {a.shape}"
            + ("; channels-first arrays need x.transpose(1, 2, 0)" if a.ndim == 3 and a.shape[0] in (3, 4) else "")
        )
    rgb = a[:, :, :3]
    x = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()  # (1, 3, H, W)

    def restore(res: torch.Tensor, changed: np.ndarray) -> np.ndarray:
        v = _to_u8(res)[0].permute(1, 2, 0).numpy()  # (H, W, 3)
        out = a.copy()  # alpha (if any) stays untouched
        out[:, :, :3] = np.where(changed[0][:, :, None], v, rgb)
        return out

    return _Prepared(x, restore, a.copy)


def _prepare_tensor(t: torch.Tensor) -> _Prepared:
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

    def restore(res: torch.Tensor, changed: np.ndarray) -> torch.Tensor:
        c = torch.from_numpy(changed).to(batch.device)[:, None]  # (B, 1, H, W)
        out = torch.where(c, res.to(device=batch.device, dtype=batch.dtype), batch)
        return out.reshape(t.shape)

    return _Prepared(batch.detach().float(), restore, lambda: t.detach().clone())


def _prepare(image: Any) -> _Prepared:
    if isinstance(image, (str, os.PathLike)):
        loaded = load_image(image)
        if loaded.is_gray:
            g = loaded.rgb[:, :, 0]
            arr = g if loaded.alpha is None else np.stack([g, loaded.alpha], axis=2)
        else:
            arr = loaded.to_array()
        return _prepare_pil(Image.fromarray(arr))
    if isinstance(image, Image.Image):
        return _prepare_pil(image)
    if isinstance(image, np.ndarray):
        return _prepare_array(image)
    if isinstance(image, torch.Tensor):
        return _prepare_tensor(image)
    raise InputError(
        f"image must be a PIL image, a uint8 numpy array (H, W, 3), a float tensor (3, H, W) in "
        f"[0, 1] or a file path; got {type(image).__name__}"
    )


def _prepare_mask(mask: Any, batch: int, height: int, width: int) -> np.ndarray:
    """Any mask -> bool (B, H, W), True = hole."""
    if isinstance(mask, torch.Tensor) and mask.ndim == 4 and mask.shape[0] > 1:
        if mask.shape[0] != batch or mask.shape[1] != 1:
            raise InputError(f"a batch of masks must be (B, 1, H, W) with B = {batch}; got {tuple(mask.shape)}")
        return np.stack([_prepare_mask(m[0], 1, height, width)[0] for m in mask])
    if isinstance(mask, torch.Tensor) and mask.ndim > 4:
        raise InputError(f"mask tensors must be (H, W), (1, H, W) or (B, 1, H, W); got {tuple(mask.shape)}")
    # PIL masks are taken as stored, like PIL images (no EXIF rotation).
    hole = load_mask(mask, size=(width, height), max_pixels=None, exif_transpose=not isinstance(mask, Image.Image))
    return np.repeat(hole[None], batch, axis=0)  # (B, H, W)


# --------------------------------------------------------------------------- pipeline


class InpaintPipeline:
    """Image completion with the paper's network or a classical method.

    Build it with :meth:`from_pretrained` (a bundle folder or ``"default"``) or
    :meth:`classical` (no weights), then call it: ``pipe(image, mask)``.

    Attributes:
        net: the completion network, or None for a classical pipeline.
        bundle_info: the bundle's :class:`~glcic.bundle.BundleInfo`, or None.
        device: where the network runs.
        precision: the resolved precision: ``fp32``, ``bf16`` or ``fp16``.
        backend: ``torch`` or ``onnxruntime``.
        method: the default ``method`` of :meth:`__call__`.
    """

    def __init__(
        self,
        net: CompletionNetwork | None = None,
        bundle_info: BundleInfo | None = None,
        *,
        device: str | torch.device = "cpu",
        precision: str = "auto",
        backend: str = "torch",
        onnx_path: str | os.PathLike | None = None,
        method: str | None = None,
    ) -> None:
        if (net is None) != (bundle_info is None):
            raise InputError("pass both net and bundle_info (from glcic.bundle.load_bundle) or neither")
        _choice("backend", backend, BACKENDS, "--backend torch|onnxruntime")
        self.device = _resolve_device(device)
        self.net = net
        self.bundle_info = bundle_info
        self.backend = backend
        self.method = _choice("method", method or ("glcic" if net is not None else "telea"), METHODS, "--method")
        if self.method == "glcic" and net is None:
            raise InputError("method 'glcic' needs a network; use InpaintPipeline.from_pretrained(PATH)")
        self._session = None
        self.precision = "fp32"
        if net is None:
            return
        if backend == "onnxruntime":
            if precision not in ("auto", "fp32"):
                raise InputError(
                    f"the onnxruntime backend runs in fp32; got --precision {precision}; use fp32 or auto"
                )
            from glcic.onnx_export import onnx_session

            if onnx_path is None:
                raise InputError("backend='onnxruntime' needs onnx_path; use from_pretrained(..., backend='onnxruntime')")
            self._session = onnx_session(onnx_path, str(self.device))
            self.net = net.cpu().eval()
            return
        self.precision = _resolve_precision(precision, self.device)
        self.net = net.to(self.device).eval()
        if self.precision != "fp32":
            # channels_last is what oneDNN / cuDNN want for low-precision convolutions.
            self.net = self.net.to(memory_format=torch.channels_last)

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike = "default",
        device: str | torch.device = "cpu",
        precision: str = "auto",
        backend: str = "torch",
    ) -> InpaintPipeline:
        """Load a model bundle (a folder written by ``glcic export``).

        Args:
            path: ``"default"`` (the shipped model) or a bundle folder (or its
                ``config.json``).
            device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
            precision: ``"auto"`` (bf16 + channels_last on CPUs with native bf16
                and on CUDA, else fp32), ``"fp32"``, ``"bf16"``, or ``"fp16"`` (CUDA).
            backend: ``"torch"``, or ``"onnxruntime"`` (fp32; uses ``model.onnx`` in the
                bundle when present and up to date, else exports one to a cache in
                the temp folder).

        Raises:
            BundleError: ``path`` is not a bundle.
            InputError: bad device, precision or backend.
        """
        _choice("backend", backend, BACKENDS, "--backend torch|onnxruntime")
        _choice("precision", precision, PRECISIONS, "--precision auto|fp32|bf16|fp16")
        if backend == "onnxruntime" and precision not in ("auto", "fp32"):
            raise InputError(f"the onnxruntime backend runs in fp32; got --precision {precision}; use fp32 or auto")
        dev = _resolve_device(device)
        net, info = load_bundle(path, map_location="cpu")
        onnx_path = None
        if backend == "onnxruntime":
            onnx_path = _onnx_for_bundle(resolve_bundle_path(path), net)
        return cls(net, info, device=dev, precision=precision, backend=backend, onnx_path=onnx_path)

    @classmethod
    def classical(cls, method: str = "telea") -> InpaintPipeline:
        """A pipeline without a network: ``telea``, ``ns``, ``biharmonic`` or ``mean``."""
        _choice("method", method, METHODS[1:], "--method telea|ns|biharmonic|mean")
        return cls(method=method)

    # ----------------------------------------------------------------- info

    @property
    def info(self) -> dict[str, Any]:
        """What the server and ``--help`` show: name, resolution, data, value range, licence."""
        if self.bundle_info is None:
            return {
                "name": f"{self.method} (classical)",
                "resolution": None,
                "training_data": "",
                "value_range": [0.0, 1.0],
                "license": "",
                "method": self.method,
                "backend": "classical",
                "device": "cpu",
                "precision": "fp32",
            }
        b = self.bundle_info
        return {
            "name": b.name,
            "resolution": b.resolution,
            "training_data": b.training_data,
            "value_range": list(b.value_range),
            "license": b.license,
            "method": self.method,
            "backend": self.backend,
            "device": str(self.device),
            "precision": self.precision,
        }

    def __repr__(self) -> str:
        i = self.info
        return f"InpaintPipeline(name={i['name']!r}, backend={i['backend']}, device={i['device']}, precision={i['precision']})"

    # ----------------------------------------------------------------- call

    def __call__(
        self,
        image: Any,
        mask: Any,
        postprocess: str = "none",
        strategy: str = "auto",
        method: str | None = None,
    ) -> Any:
        """Complete the hole of ``image``.

        Args:
            image: a PIL image (any mode), a ``uint8`` array ``(H, W, 3)``, ``(H, W, 4)``
                or ``(H, W)``, a float tensor ``(3, H, W)`` or ``(B, 3, H, W)`` in [0, 1],
                or a file path (read with :func:`glcic.io.load_image`, EXIF applied).
                PIL images are taken as stored (no EXIF rotation).
            mask: same height and width; PIL image (``L``/``1``/RGB: non-zero = hole,
                RGBA: see :func:`glcic.io.load_mask`), ``bool``/``uint8`` array, or tensor
                ``(H, W)``, ``(1, H, W)``, ``(B, 1, H, W)``. **Non-zero = hole.**
            postprocess: ``"none"`` or ``"blend"`` (the paper's fast marching + Poisson
                blending, Sec. 3.4; changes the hole and a seam of
                :data:`glcic.postprocess.DEFAULT_SEAM` pixels around it).
            strategy: ``"auto"``, ``"original"``, ``"resize"`` or ``"crop"``: how images
                much larger than the training resolution are handled (network only).
            method: ``"glcic"`` (the network) or a classical method (``"telea"``,
                ``"ns"``, ``"biharmonic"``, ``"mean"``); default: the pipeline's.

        Returns:
            The completed image, of the input's type and size: PIL -> PIL (same mode
            family: RGB/P/CMYK -> RGB, RGBA/PA -> RGBA with alpha untouched, L/1 -> L,
            LA -> LA, I;16/I/F -> the same mode), array -> array of the same shape,
            tensor -> tensor of the same shape, dtype and device, path -> PIL.
            Outside the hole (and the seam, with ``blend``) it equals the input exactly.

        Raises:
            InputError: bad image or mask, sizes that differ, a mask that covers the
                whole image, unknown options, or ``method="glcic"`` without a network.

        Warns:
            UserWarning: the mask is empty; the input comes back unchanged.
        """
        _choice("postprocess", postprocess, POSTPROCESS, "--postprocess none|blend")
        _choice("strategy", strategy, STRATEGIES, "--strategy auto|original|resize|crop")
        method = _choice("method", method or self.method, METHODS, "--method")
        if method == "glcic" and self.net is None:
            raise InputError(
                "this pipeline has no network (it was made with InpaintPipeline.classical); load one "
                "with InpaintPipeline.from_pretrained(PATH) or pick method telea, ns, biharmonic or mean"
            )
        prep = _prepare(image)
        B, _, H, W = prep.x.shape
        holes = _prepare_mask(mask, B, H, W)  # (B, H, W) bool
        if not holes.any():
            warnings.warn(
                "the mask is empty (no non-zero pixels), so there is nothing to complete; "
                "returning the input unchanged",
                UserWarning,
                stacklevel=2,
            )
            return prep.unchanged()
        for b in range(B):
            if holes[b].all():
                raise InputError(
                    f"the mask covers the whole {W}x{H} image, so there is nothing to condition on; "
                    "mark only the region to fill (non-zero = hole) and leave the rest black"
                )
        results, changed = [], []
        for b in range(B):
            x = prep.x[b : b + 1]  # (1, 3, H, W) in [0, 1]
            hole = np.ascontiguousarray(holes[b])
            if not hole.any():
                results.append(x)
                changed.append(hole)
                continue
            if method == "glcic":
                res = self._complete(x, hole, strategy)
            else:
                from glcic.classical import inpaint_classical

                filled = inpaint_classical(method, _to_u8(x)[0].permute(1, 2, 0).cpu().numpy(), hole)
                res = torch.from_numpy(filled).permute(2, 0, 1)[None].float().div(255).to(x.device)
            region = hole
            if postprocess == "blend":
                from glcic.postprocess import blend

                original8 = _to_u8(x)[0].permute(1, 2, 0).cpu().numpy()  # (H, W, 3)
                blended = blend(_to_u8(res)[0].permute(1, 2, 0).cpu().numpy(), original8, hole)
                region = hole | (blended != original8).any(axis=2)
                res = torch.from_numpy(blended).permute(2, 0, 1)[None].float().div(255).to(x.device)
            results.append(res)
            changed.append(region)
        return prep.restore(torch.cat(results), np.stack(changed))

    # ----------------------------------------------------------------- network

    def _complete(self, x: torch.Tensor, hole: np.ndarray, strategy: str) -> torch.Tensor:
        """(1, 3, H, W) in [0, 1] + bool (H, W) -> completed (1, 3, H, W) in [0, 1]."""
        assert self.bundle_info is not None
        res = self.bundle_info.resolution
        if strategy == "auto":
            strategy = choose_strategy(hole, res)
        hole_t = torch.from_numpy(hole).to(x.device)[None, None]  # (1, 1, H, W) bool
        H, W = hole.shape
        if strategy == "original":
            return self._forward(x, hole_t)
        if strategy == "resize":
            return self._scaled_forward(x, hole_t, min(1.0, res / min(H, W)))
        out = x.clone()
        for r in crop_regions(hole, res):
            win = (slice(None), slice(None), slice(r.top, r.top + r.height), slice(r.left, r.left + r.width))
            # Every hole inside the window stays a hole (no hole content as context);
            # only this cluster's pixels are pasted back.
            sub = self._scaled_forward(x[win], hole_t[win], min(1.0, res / min(r.height, r.width)))
            paste = torch.from_numpy(r.paste).to(x.device)[None, None]  # (1, 1, h, w)
            out[win] = torch.where(paste, sub, out[win])
        return out

    def _scaled_forward(self, x: torch.Tensor, hole: torch.Tensor, scale: float) -> torch.Tensor:
        """Complete at ``scale`` x the size, upscale, keep the known pixels exact."""
        H, W = x.shape[-2:]
        h, w = max(8, round(H * scale)), max(8, round(W * scale))
        if scale >= 1.0 or (h >= H and w >= W):
            return self._forward(x, hole)
        xs = F.interpolate(x, size=(h, w), mode="area")  # (1, 3, h, w)
        # A small pixel is a hole if any big pixel under it is: no hole content leaks in.
        hs = F.interpolate(hole.float(), size=(h, w), mode="area") > 0  # (1, 1, h, w)
        ys = self._forward(xs, hs)  # composited at low resolution
        up = F.interpolate(ys, size=(H, W), mode="bicubic", align_corners=False).clamp(0, 1)
        return torch.where(hole, up, x)  # (1, 3, H, W)

    def _forward(self, x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The paper's network pass: (1, 3, H, W) [0, 1] + (1, 1, H, W) bool -> (1, 3, H, W) [0, 1]."""
        assert self.net is not None and self.bundle_info is not None
        H, W = x.shape[-2:]
        if H < 4 or W < 4:
            raise InputError(
                f"the image is {W}x{H}; the completion network needs at least 4x4 pixels; "
                "use a classical method (--method telea) for tiny images"
            )
        lo, hi = self.bundle_info.value_range
        mean = torch.tensor(self.bundle_info.mean_pixel, dtype=torch.float32) * (hi - lo) + lo  # (3,)
        xin = (x.to(self.device) * (hi - lo) + lo).float()  # (1, 3, H, W) in the value range
        m = hole.to(self.device).float()  # (1, 1, H, W)
        # Reflect-pad to multiples of 4 (the network halves twice); a hole at the
        # border is mirrored too, so the padding never shows hole content.
        ph, pw = (-H) % 4, (-W) % 4
        pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
        if ph or pw:
            xin = F.pad(xin, pads, mode="reflect")
            m = F.pad(m, pads, mode="reflect")
        filled = fill_holes(xin, m, mean.to(self.device))  # (1, 3, H', W')
        y = self._run_net(filled, m)  # (1, 3, H', W') float32
        y = y[:, :, pads[2] : pads[2] + H, pads[0] : pads[0] + W]
        y = ((y - lo) / (hi - lo)).clamp(0, 1).to(x.device)
        return composite(y, x, hole)  # known pixels bit-exact

    @torch.inference_mode()
    def _run_net(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """The completion network (torch or onnxruntime) on padded, filled input."""
        if self._session is not None:
            (out,) = self._session.run(["output"], {"image": x.cpu().numpy(), "mask": m.cpu().numpy()})
            return torch.from_numpy(out).to(x.device)
        assert self.net is not None
        if self.precision == "fp32":
            return self.net(x, m).float()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=dtype):
            return self.net(x, m).float()


# --------------------------------------------------------------------------- onnx cache


def _onnx_for_bundle(bundle: Path, net: CompletionNetwork) -> Path:
    """``bundle/model.onnx`` when present and newer than the weights, else a cached export."""
    shipped = bundle / "model.onnx"
    weights = bundle / "model.safetensors"
    if shipped.is_file() and shipped.stat().st_mtime >= weights.stat().st_mtime:
        return shipped
    if shipped.is_file():
        warnings.warn(
            f"{shipped} is older than {weights.name}; exporting a fresh ONNX graph instead "
            "(re-run `glcic export-onnx` to update it)",
            UserWarning,
            stacklevel=3,
        )
    from glcic.onnx_export import export_onnx

    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        with open(bundle / name, "rb") as f:
            for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                h.update(chunk)
    cache = Path(tempfile.gettempdir()) / "glcic-onnx"
    cache.mkdir(exist_ok=True)
    path = cache / f"{h.hexdigest()[:24]}.onnx"
    if not path.is_file():
        export_onnx(net, path)
    return path
