"""Inference: one object, one call.

>>> from glcic import InpaintPipeline
>>> pipe = InpaintPipeline.from_pretrained("faces")            # "scenes", "default" or a bundle folder
>>> result = pipe(image, mask)                                   # PIL in -> PIL out
>>> res = pipe.run(image, mask)   # the same image as res.image, plus what ran:
>>> res.strategy, res.scale, res.model                           # e.g. "tiles", 1.0, "faces"

``image`` is a PIL image, a ``uint8`` array, a float tensor in [0, 1], a path or an
image :func:`glcic.io.load_image` already decoded; ``mask`` has the same size and
marks the hole with **non-zero / white**. The result has the input's type, size and
mode family, and equals the input exactly outside the hole and a seam of
:data:`~glcic.postprocess.DEFAULT_SEAM` pixels around it (``postprocess="blend"``
changes that seam, and ``"auto"``, the default, does around the holes it blends;
``"none"`` keeps it exact too).

The network path (Sec. 3 of the paper): convert to the model's value range, fill
the hole with the training set's mean pixel, reflect-pad H and W to multiples of
4, run the completion network, crop back, and composite (network output inside
the hole only). Images much larger than the training resolution are handled by
a *strategy* (:mod:`glcic.strategies`). The caller's image types are handled by
:mod:`glcic.inputs`. Classical baselines (``method="telea"`` etc.) need no network:
:meth:`InpaintPipeline.classical`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from glcic.bundle import BundleInfo, load_bundle, resolve_bundle_path
from glcic.errors import InputError
from glcic.frame import Frame, prefill_values
from glcic.inputs import PreparedImage
from glcic.models.completion import CompletionNetwork, composite
from glcic.models.inference import FrozenCopy
from glcic.options import (
    BACKENDS,
    CLASSICAL_METHODS,
    DEFAULT_MODEL,
    DEFAULT_POSTPROCESS,
    DEFAULT_STRATEGY,
    METHODS,
    POSTPROCESS,
    PRECISIONS,
    STRATEGIES,
    check_choice,
)
from glcic.pixels import Pixels
from glcic.precision import autocast, precision_name, resolve_device, resolve_precision
from glcic.prefill import prefill
from glcic.steps import Filler, InpaintResult, Ran, classical_filler, complete
from glcic.strategies import Progress, complete_frame

__all__ = ["InpaintPipeline", "InpaintResult"]  # the option tuples live in glcic.options


def _check_onnx_precision(precision: str) -> None:
    if precision not in ("auto", "fp32"):
        raise InputError(f"the onnxruntime backend runs in fp32; got precision={precision!r}; use 'fp32' or 'auto'")


class InpaintPipeline:
    """Image completion with the paper's network or a classical method.

    Build it with :meth:`from_pretrained` (a shipped model's name or a bundle folder) or
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
        check_choice("backend", backend, BACKENDS)
        self.device = resolve_device(device)
        self.net = net
        self.bundle_info = bundle_info
        self.backend = backend
        self.method = check_choice("method", method or ("glcic" if net is not None else "telea"), METHODS)
        if self.method == "glcic" and net is None:
            raise InputError("method 'glcic' needs a network; use InpaintPipeline.from_pretrained(PATH)")
        self._session = None
        self._dtype: torch.dtype | None = None  # the autocast dtype; None = fp32
        self._folded = FrozenCopy()  # the network's inference copy, built at the first call
        if net is None:
            return
        if backend == "onnxruntime":
            from glcic.onnx_export import onnx_session

            _check_onnx_precision(precision)
            if onnx_path is None:
                raise InputError("backend='onnxruntime' needs onnx_path; use from_pretrained(..., backend='onnxruntime')")
            self._session = onnx_session(onnx_path, str(self.device))
            self.net = net.cpu().eval()
            return
        self._dtype = resolve_precision(precision, self.device)
        self.net = net.to(self.device).eval()
        if self._dtype is not None:
            # channels_last is what oneDNN / cuDNN want for low-precision convolutions.
            self.net = self.net.to(memory_format=torch.channels_last)

    @property
    def precision(self) -> str:
        """The resolved precision as a name: ``fp32``, ``bf16`` or ``fp16``."""
        return precision_name(self._dtype)

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike = DEFAULT_MODEL,
        device: str | torch.device = "cpu",
        precision: str = "auto",
        backend: str = "torch",
    ) -> InpaintPipeline:
        """Load a model bundle (a folder written by ``glcic export``).

        Args:
            path: a shipped model's name, ``"faces"``, ``"scenes"`` or ``"default"``
                (:data:`glcic.options.DEFAULT_MODEL_TARGET`), or a bundle folder (or its
                ``config.json``).
            device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
            precision: ``"auto"`` (bf16 + channels_last on CPUs with native bf16
                and on CUDA, else fp32), ``"fp32"``, ``"bf16"``, or ``"fp16"`` (CUDA).
            backend: ``"torch"``, or ``"onnxruntime"`` (fp32; uses ``model.onnx`` in the
                bundle when present and up to date, else exports one to a cache in
                the temp folder).

        Raises:
            BundleError: ``path`` is not a bundle.
            InputError: bad device, precision or backend.
        """
        # Options first: a typo fails before the weights are read.
        check_choice("backend", backend, BACKENDS)
        check_choice("precision", precision, PRECISIONS)
        if backend == "onnxruntime":
            _check_onnx_precision(precision)
        dev = resolve_device(device)
        net, info = load_bundle(path, map_location="cpu")
        onnx_path = None
        if backend == "onnxruntime":
            from glcic.onnx_export import onnx_for_bundle

            onnx_path = onnx_for_bundle(resolve_bundle_path(path), net)
        return cls(net, info, device=dev, precision=precision, backend=backend, onnx_path=onnx_path)

    @classmethod
    def classical(cls, method: str = "telea") -> InpaintPipeline:
        """A pipeline without a network: one of :data:`glcic.options.CLASSICAL_METHODS`
        (``telea``, ``ns``, ``biharmonic``, ``patchmatch``, ``mean``, ``fsr``)."""
        check_choice("method", method, CLASSICAL_METHODS)
        return cls(method=method)

    # ----------------------------------------------------------------- info

    @property
    def info(self) -> dict[str, Any]:
        """What the server and ``--help`` show: name, what it is for, resolution, data,
        value range, licence."""
        if self.bundle_info is None:
            return {
                "name": f"{self.method} (classical)",
                "description": f"classical inpainting ({self.method}); no network, any image",
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
            # BundleInfo.description is optional (older bundles have none).
            "description": getattr(b, "description", "") or "",
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
        postprocess: str = DEFAULT_POSTPROCESS,
        strategy: str = DEFAULT_STRATEGY,
        method: str | None = None,
        *,
        strip_metadata: bool = False,
    ) -> Any:
        """Complete the hole of ``image``.

        Args:
            image: a PIL image (any mode), a ``uint8`` array ``(H, W, 3)``, ``(H, W, 4)``
                or ``(H, W)``, a float tensor ``(3, H, W)`` or ``(B, 3, H, W)`` in [0, 1],
                a file path (read with :func:`glcic.io.load_image`, EXIF applied), or a
                :class:`~glcic.io.LoadedImage` that ``load_image`` returned (not read
                again). PIL images and files are turned upright by their EXIF orientation
                tag first, as viewers show them; the result is upright (pass
                ``np.asarray(im)`` to use the pixels as stored).
            mask: same height and width (upright, like the image); PIL image
                (``L``/``1``/RGB: non-zero = hole, RGBA: see :func:`glcic.io.load_mask`;
                JPEG files over mid-grey), ``bool``/``uint8`` array, or tensor
                ``(H, W)``, ``(1, H, W)``, ``(B, 1, H, W)``. **Non-zero = hole.** A
                ``bool`` ``(H, W)`` array (what ``load_mask`` returns) is used as is.
            postprocess: ``"auto"`` (the default: ``"blend"`` on every hole but those a
                residual network, as both shipped models are, completed at native scale,
                which blending would only blur: :func:`glcic.steps.blend_target`),
                ``"blend"`` (the paper's fast marching + Poisson blending on every hole,
                Sec. 3.4; changes the hole and a seam of
                :data:`glcic.postprocess.DEFAULT_SEAM` pixels around it) or ``"none"``.
            strategy: ``"auto"`` (the default; see :mod:`glcic.strategies`), ``"refine"``
                (``auto`` plus native detail where it ran at a smaller scale:
                :mod:`glcic.refine`), ``"original"``, ``"resize"`` or ``"crop"``: where and
                at what scale the network looks (network only).
            method: ``"glcic"`` (the network) or a classical method (``"telea"``,
                ``"ns"``, ``"biharmonic"``, ``"mean"``); default: the pipeline's.
            strip_metadata: leave the input's ICC profile, EXIF and XMP out of the
                result (a PIL result's ``.info``; :attr:`InpaintResult.info` is None).

        Returns:
            The completed image, of the input's type and size: PIL -> PIL (same mode
            family: RGB/P/CMYK -> RGB, RGBA/PA -> RGBA with alpha untouched, L/1 -> L,
            LA -> LA, I;16/I/F -> the same mode), array -> array of the same shape
            and dtype (``uint8`` or ``uint16``), tensor -> tensor of the same shape,
            dtype and device, path or LoadedImage -> PIL (L, LA, RGB, RGBA; 16-bit
            gray I;16), or for 16-bit colour, which PIL cannot hold, a ``uint16``
            ``(H, W, 3)`` / ``(H, W, 4)`` array. Outside the hole (and the seam, with
            ``blend`` or ``auto``) it equals the input exactly, at any depth. A PIL result carries
            the input's ICC profile, EXIF (orientation 1 once turned upright) and XMP in
            ``.info``; :meth:`InpaintResult.save` writes any result the way its input came.

        Raises:
            InputError: bad image or mask, sizes that differ, a mask that covers the
                whole image, unknown options, or ``method="glcic"`` without a network.

        Warns:
            UserWarning: the mask is empty (the input comes back unchanged), or
                ``strategy="original"`` on an image over 1.5x the training resolution.
        """
        return self.run(
            image, mask, postprocess=postprocess, strategy=strategy, method=method, strip_metadata=strip_metadata
        ).image

    def run(
        self,
        image: Any,
        mask: Any,
        postprocess: str = DEFAULT_POSTPROCESS,
        strategy: str = DEFAULT_STRATEGY,
        method: str | None = None,
        *,
        strip_metadata: bool = False,
        progress: Progress | None = None,
    ) -> InpaintResult:
        """:meth:`__call__`, also saying what ran: an :class:`InpaintResult`.

        Takes the same arguments and raises the same errors as :meth:`__call__`;
        ``.image`` is what ``__call__`` returns, ``.info`` the input's metadata and
        ``.save(path)`` writes the image back the way the input came. An empty mask
        gives the input back with ``strategy`` and ``postprocess`` ``"none"`` and a ``note``.
        ``progress`` (a :data:`glcic.strategies.Progress`) is told how far the completion
        is: the network's windows, the detail, the blending (``glcic inpaint`` draws it).
        """
        method = self._check_options(postprocess, strategy, method)  # before any pixel is read
        if method != "glcic":
            return complete(image, mask, classical_filler(method), postprocess, method, strip_metadata, progress)
        assert self.bundle_info is not None
        filler = self._network_filler(strategy, progress)
        return complete(image, mask, filler, postprocess, self.bundle_info.name, strip_metadata, progress)

    def _check_options(self, postprocess: str, strategy: str, method: str | None) -> str:
        """Check :meth:`__call__`'s options; return the method to run."""
        check_choice("postprocess", postprocess, POSTPROCESS)
        check_choice("strategy", strategy, STRATEGIES)
        method = check_choice("method", method or self.method, METHODS)
        if method == "glcic" and self.net is None:
            raise InputError(
                "this pipeline has no network (it was made with InpaintPipeline.classical); load one "
                f"with InpaintPipeline.from_pretrained(PATH) or pick method {', '.join(CLASSICAL_METHODS)}"
            )
        return method

    def _network_filler(self, strategy: str, progress: Progress | None = None) -> Filler:
        """A :data:`glcic.steps.Filler` that runs the network with ``strategy``."""
        assert self.bundle_info is not None
        resolution = self.bundle_info.resolution

        def fill(prepared: PreparedImage, b: int, hole: np.ndarray) -> tuple[Pixels, Ran]:
            # An 8-bit or high-depth image is converted to float only where the network reads
            # it, and only the hole's fill comes back (glcic.frame); a tensor stays a tensor.
            deep = prepared.unit is not None
            base = prepared.unit if deep else prepared.uint8
            frame = Frame.from_pixels(base) if base is not None else Frame.from_tensor(prepared.x[b : b + 1])
            used = complete_frame(self._forward, frame, hole, strategy, resolution, progress, prefill=self._prefill_image)
            out = frame.whole() if base is None else frame.hole_fill(hole, prepared.uint8 if deep else None)
            # A residual network's native-scale fill meets the photo already: `auto` leaves it unblended.
            residual = self.bundle_info.model.residual
            return out, Ran(used.strategy, used.scale, used.native if residual else None)

        return fill

    # ----------------------------------------------------------------- network

    def _forward(self, x: torch.Tensor, hole: torch.Tensor, prefilled: bool = False) -> torch.Tensor:
        """The paper's network pass: (N, 3, H, W) [0, 1] + (N, 1, H, W) bool -> (N, 3, H, W) [0, 1]
        (N > 1 for a batch of the strategies' windows, :data:`glcic.strategies.Forward`).
        ``prefilled``: ``x``'s holes already hold the pre-fill (cut from
        :meth:`_prefill_image`'s), so it is not computed again."""
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
        # The pre-fill the network was trained with (model.prefill; the paper: the mean pixel).
        if prefilled:
            filled = xin
        else:
            filled = prefill(xin, m, mean.to(self.device), self.bundle_info.model.prefill, (lo, hi))  # (N, 3, H', W')
        y = self._run_net(filled, m)  # (1, 3, H', W') float32
        y = y[:, :, pads[2] : pads[2] + H, pads[0] : pads[0] + W]
        y = ((y - lo) / (hi - lo)).clamp(0, 1).to(x.device)
        return composite(y, x, hole)  # known pixels bit-exact

    def _prefill_image(self, frame: Frame, hole: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
        """The pre-fill of a whole image, for windows to be cut from (:data:`glcic.thin.Prefill`):
        :func:`glcic.frame.prefill_values` with this bundle's pre-fill."""
        assert self.bundle_info is not None
        return prefill_values(frame, hole, near, self.bundle_info)

    @torch.inference_mode()
    def _run_net(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """The completion network (torch or onnxruntime) on padded, filled input."""
        if self._session is not None:
            (out,) = self._session.run(["output"], {"image": x.cpu().numpy(), "mask": m.cpu().numpy()})
            return torch.from_numpy(out).to(x.device)
        assert self.net is not None
        if self._dtype is not None:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self._dtype):
            return self._inference_net()(x, m).float()

    def _inference_net(self) -> torch.nn.Module:
        """``self.net`` with batch norm folded into its convolutions (1.5x at 512² on this
        project's CPU; :func:`glcic.models.inference.inference_copy`), rebuilt only when its
        weights change."""
        if not isinstance(self.net, CompletionNetwork):  # a stand-in network
            return self.net
        return self._folded.get(self.net, self._dtype)
