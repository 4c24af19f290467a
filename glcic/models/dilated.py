"""Dilated 3x3 convolutions on maps not much wider than their dilation, with a faster backward.

In the completion network's middle layers the map can be small next to the dilation (16x16
maps with dilation 8 at 64 px, 32x32 with dilation 16 at 128 px), so most of each tap's
window is zero padding. oneDNN's weight gradient is three to four times slower there
than for the same layer undilated (docs/benchmarks.md). :func:`dilated_conv` computes the
same convolution with oneDNN forward and for the input gradient, and the weight gradient
tap by tap as one matrix product over the rows and columns where the tap meets the map
(taps that meet only padding get zero, as they do in the convolution). Where every tap but
the centre meets only padding, the whole layer is the centre tap's 1x1 convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from glcic.models.casts import autocast_weight


def eligible(conv: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``conv(x)`` runs as :func:`dilated_conv` (measured faster for these shapes only)."""
    if type(conv) is not nn.Conv2d or x.device.type != "cpu" or not torch.is_grad_enabled():
        return False
    d = conv.dilation[0]
    return (
        conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (d, d)
        and conv.padding == (d, d)
        and conv.groups == 1
        and conv.bias is None
        and d >= 2
        and 2 * d >= min(x.shape[-2:])
        and x.is_contiguous(memory_format=torch.channels_last)
        and not torch.jit.is_tracing()
        and not torch.compiler.is_compiling()
        and not torch.onnx.is_in_onnx_export()
    )


def dilated_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` for an :func:`eligible` convolution; same result, same gradients, faster backward."""
    w, d = conv.weight, conv.dilation[0]
    if torch.is_autocast_enabled(x.device.type):  # what autocast would hand the convolution
        x, w = x.to(torch.get_autocast_dtype(x.device.type)), autocast_weight(w)
    with torch.autocast(x.device.type, enabled=False):
        return _DilatedConv.apply(x, w, d)


def _as_run(x: torch.Tensor, w: torch.Tensor, d: int) -> tuple[torch.Tensor, int, int]:
    """(weight, padding, dilation) of the convolution that runs: the centre tap alone (1x1)
    where every other tap meets only padding, else the dilated 3x3 itself."""
    h, wd = x.shape[-2:]
    return (w[:, :, 1:2, 1:2], 0, 1) if d >= h and d >= wd else (w, d, d)


class _DilatedConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, d: int):  # noqa: D102
        ctx.save_for_backward(x, w)
        ctx.d = d
        weight, pad, dil = _as_run(x, w, d)
        return F.conv2d(x, weight, None, 1, pad, dil)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # noqa: D102
        x, w = ctx.saved_tensors
        d = ctx.d
        grad = grad.to(x.dtype).contiguous(memory_format=torch.channels_last)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            weight, pad, dil = _as_run(x, w, d)
            gx = torch.ops.aten.convolution_backward(
                grad, x, weight, None, [1, 1], [pad, pad], [dil, dil], False, [0, 0], 1, [True, False, False]
            )[0]
        if ctx.needs_input_grad[1]:
            gw = _weight_grad(grad, x, d).to(w.dtype)
        return gx, gw, None


def _weight_grad(grad: torch.Tensor, x: torch.Tensor, d: int) -> torch.Tensor:
    """(C_out, C, 3, 3) channels_last: per tap, grad^T x over the region where the tap meets the map."""
    g = grad.permute(0, 2, 3, 1)  # (B, H, W, C_out), contiguous
    xs = x.permute(0, 2, 3, 1)  # (B, H, W, C)
    h, w = g.shape[1:3]
    out = torch.zeros(g.shape[-1], 3, 3, xs.shape[-1], dtype=torch.float32)  # (C_out, 3, 3, C)
    for ky in range(3):
        dy = d * (ky - 1)
        y0, y1 = max(0, -dy), min(h, h - dy)
        for kx in range(3):
            dx = d * (kx - 1)
            x0, x1 = max(0, -dx), min(w, w - dx)
            if y0 >= y1 or x0 >= x1:
                continue  # the tap meets only padding: its gradient is zero
            gr = g[:, y0:y1, x0:x1].reshape(-1, g.shape[-1])  # (rows, C_out)
            xr = xs[:, y0 + dy : y1 + dy, x0 + dx : x1 + dx].reshape(-1, xs.shape[-1])  # (rows, C)
            out[:, ky, kx] = gr.t() @ xr
    return out.permute(0, 3, 1, 2)  # (C_out, C, 3, 3), channels_last
