"""Device and precision: which is fast on this machine, resolved once for training and inference."""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import torch


def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo (or what platform knows elsewhere): which of
    the project's CPU kinds a speed was measured on."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


@functools.cache
def cpu_bf16_supported() -> bool:
    """True when this CPU runs bfloat16 convolutions natively and correctly.

    Needs oneDNN (``torch.backends.mkldnn``) with bf16 support, native bf16
    instructions (AVX512-BF16 or AMX, read from ``/proc/cpuinfo`` on Linux;
    without them oneDNN emulates bf16, slower than fp32), and a tiny bf16 conv
    that agrees with fp32.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):
        return False
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = None  # not Linux: trust oneDNN
    if flags is not None and not flags & {"avx512_bf16", "amx_bf16"}:
        return False
    g = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(4, 8, 3, padding=1)
    x = torch.randn(1, 4, 16, 16, generator=g)
    try:
        with torch.no_grad():
            ref = conv(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                y = conv(x.contiguous(memory_format=torch.channels_last))
    except RuntimeError:
        return False
    return y.dtype == torch.bfloat16 and bool(torch.allclose(y.float(), ref, atol=0.05, rtol=0.05))


# --------------------------------------------------------------------------- resolution
# One resolver for training and inference: a device string and a precision name go
# in once, at the boundary, and a torch.device plus an autocast dtype come out.


def resolve_device(device: str | torch.device = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` -> a usable ``torch.device``.

    ``"auto"`` picks CUDA (device ``local_rank``, as torchrun numbers them) when it is
    available, else the CPU; a bare ``"cuda"`` also takes ``local_rank``.

    Raises:
        InputError: an unknown device, or CUDA asked for where there is none.
    """
    from glcic.errors import InputError

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}") from e
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"device {str(device)!r} was asked for but torch.cuda.is_available() is False; use device='cpu' (CLI: --device cpu)"
            )
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
    return dev


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """A precision name -> the autocast dtype (``None`` = plain fp32).

    ``"auto"`` is bf16 where this machine runs it fast (:func:`cpu_bf16_supported` on
    CPU; bf16-capable GPUs), fp16 on older GPUs, else fp32.

    Raises:
        InputError: an unknown name, or fp16 on the CPU.
    """
    from glcic.errors import InputError
    from glcic.options import PRECISIONS, check_choice

    check_choice("precision", precision, PRECISIONS)
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type != "cuda":
            raise InputError("fp16 is for CUDA only; on CPU use precision bf16, fp32 or auto")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_bf16_supported() else None


def precision_name(dtype: torch.dtype | None) -> str:
    """The inverse of :func:`resolve_precision` for reports: ``None`` -> ``"fp32"``."""
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The autocast context for ``dtype`` (a no-op context for fp32)."""
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)
