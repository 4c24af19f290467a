"""Export the completion network to ONNX and check it against PyTorch.

The graph takes ``image`` (B, 3, H, W) float32 in the model's value range with
holes already filled by the mean pixel, and ``mask`` (B, 1, H, W) float32 in
{0, 1} (1 = hole), exactly like :meth:`CompletionNetwork.forward`, and returns
``output`` (B, 3, H, W). Batch, height and width are dynamic; H and W must still
be multiples of 4 (``InpaintPipeline`` pads for you).

We use PyTorch's TorchScript-based exporter (``dynamo=False``): it needs no extra
package, while the torch.export-based default needs ``onnxscript``.

:func:`onnx_for_bundle` finds the graph that ``InpaintPipeline(backend="onnxruntime")``
runs: the bundle's own ``model.onnx`` when it is up to date, else an export cached
in the temp folder under a hash of the bundle's files.
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from glcic.atomic import temp_path
from glcic.errors import InputError
from glcic.models.completion import CompletionNetwork

__all__ = ["DEFAULT_OPSET", "check_onnx", "export_onnx", "onnx_for_bundle", "onnx_session"]

DEFAULT_OPSET = 17
INPUT_NAMES = ("image", "mask")
OUTPUT_NAME = "output"


def export_onnx(net: CompletionNetwork, path: str | os.PathLike, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``net`` as an ONNX graph with dynamic batch, height and width.

    Args:
        net: a completion network (any device, any dtype; it is not modified).
        path: the ``.onnx`` file to write (atomically: temp file + ``os.replace``).
        opset: ONNX opset version.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    net = copy.deepcopy(net).float().cpu().eval()
    x = torch.rand(1, 3, 64, 64)  # (1, 3, H, W); any size that is a multiple of 4
    m = torch.zeros(1, 1, 64, 64)  # (1, 1, H, W)
    axes = {0: "batch", 2: "height", 3: "width"}
    tmp = temp_path(path)  # torch.onnx.export writes to a file name, so not atomic_write
    try:
        with warnings.catch_warnings():
            # The input-size check in forward() is traced as a constant (harmless), and
            # torch warns that the TorchScript exporter is the legacy one.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                net,
                (x, m),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes={"image": axes, "mask": axes, OUTPUT_NAME: axes},
                do_constant_folding=True,
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def onnx_session(path: str | os.PathLike, device: str = "cpu"):  # -> onnxruntime.InferenceSession
    """Open an onnxruntime session on CPU (or CUDA when ``device`` starts with ``cuda``)."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise InputError(
            "the onnxruntime backend needs the onnxruntime package; pip install 'glcic[onnx]'"
        ) from e
    providers = ["CPUExecutionProvider"]
    if str(device).startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise InputError(
                "onnxruntime has no CUDA provider here; install onnxruntime-gpu or use --device cpu"
            )
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types
        raise InputError(f"{path} is not a usable ONNX model ({e}); re-create it with `glcic export-onnx`") from e


def check_onnx(
    net: CompletionNetwork,
    path: str | os.PathLike,
    sizes: Sequence[tuple[int, int]] = ((64, 64), (96, 128)),
    batch: int = 2,
    seed: int = 0,
) -> float:
    """Largest absolute difference between onnxruntime and PyTorch (fp32) outputs.

    Args:
        net: the network that was exported.
        path: the ONNX file.
        sizes: ``(height, width)`` pairs to test (multiples of 4); different sizes and
            ``batch`` > 1 check that the dynamic axes work.
        batch: images per test batch.
        seed: seed of the random images and masks.

    Returns:
        max |onnx - torch| over all sizes, in the model's value range.
    """
    net = copy.deepcopy(net).float().cpu().eval()
    session = onnx_session(path)
    lo, hi = net.cfg.value_range
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for h, w in sizes:
        x = torch.rand(batch, 3, h, w, generator=g) * (hi - lo) + lo  # (B, 3, H, W)
        m = (torch.rand(batch, 1, h, w, generator=g) < 0.25).float()  # (B, 1, H, W)
        with torch.inference_mode():
            ref = net(x, m).numpy()
        (out,) = session.run([OUTPUT_NAME], {"image": x.numpy(), "mask": m.numpy()})
        if out.shape != ref.shape:
            raise InputError(f"{path} returned shape {out.shape} for input {tuple(x.shape)}; expected {ref.shape}")
        worst = max(worst, float(np.abs(out - ref).max()))
    return worst


def onnx_for_bundle(bundle: Path, net: CompletionNetwork) -> Path:
    """``bundle/model.onnx`` when present and newer than the weights, else a cached export.

    Args:
        bundle: a bundle folder (``config.json`` + ``model.safetensors``).
        net: the bundle's network, exported when no usable graph exists yet.

    Returns:
        The ``.onnx`` file to open with :func:`onnx_session`. The cache lives in
        ``<temp folder>/glcic-onnx``, named by a hash of the bundle's two files, so a
        retrained bundle never reuses a stale graph.

    Warns:
        UserWarning: ``model.onnx`` is older than the weights (it is not used).
    """
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
