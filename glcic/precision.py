"""Which precision is fast on this machine (shared by training and inference)."""

from __future__ import annotations

import functools
from pathlib import Path

import torch


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
