"""Weights cast to the autocast dtype once per change, not once per forward pass.

Under autocast every convolution and linear layer casts its float32 weight to bfloat16
on every call. The joint phase of Algorithm 1 runs the discriminator twice per step with
one optimiser update in between, and the next step's first pass again with the same
weights, so half of those casts repeat the previous one (about 4 % of a face64 joint
step; the casts are memory-bound). :func:`autocast_weight` keeps each weight's last cast
and reuses it while the weight is unchanged (same version counter and storage; the
optimisers in :mod:`glcic.training.optim` bump the version of what they write). The
gradient flows back to the float32 weight exactly as through autocast's own cast.

:func:`run_module` runs a ``Conv2d``, ``ConvTranspose2d`` or ``Linear`` with the reused
weight (the same functional call the module makes), and any other module as it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

_ATTR = "_glcic_autocast_copy"
"""The attribute of a weight that holds ``(key, copy)``: it lives and dies with the weight."""


def _target_dtype(w: torch.Tensor) -> torch.dtype | None:
    """The dtype autocast would cast ``w`` to here, or None when it would not cast it."""
    dev = w.device.type
    if dev != "cpu" or w.dtype != torch.float32 or not torch.is_autocast_enabled(dev):
        return None
    dtype = torch.get_autocast_dtype(dev)
    return None if dtype == torch.float32 else dtype


def autocast_weight(w: torch.Tensor) -> torch.Tensor:
    """``w`` as autocast hands it to a layer: its low-precision copy, reused while ``w`` is unchanged."""
    dtype = _target_dtype(w)
    if dtype is None:
        return w
    key = (w._version, w.data_ptr(), dtype)
    entry = getattr(w, _ATTR, None)
    if entry is None or entry[0] != key:
        with torch.no_grad():
            low = w.detach().to(dtype)
        setattr(w, _ATTR, (key, low))
    else:
        low = entry[1]
    if w.requires_grad and torch.is_grad_enabled():
        return _Cast.apply(w, low)
    return low


class _Cast(torch.autograd.Function):
    """Identity onto the cached copy; the gradient goes back in the weight's dtype (as ToCopyBackward)."""

    @staticmethod
    def forward(ctx, w, low):  # noqa: D102
        ctx.dtype = w.dtype
        return low.view_as(low)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # noqa: D102
        return grad.to(ctx.dtype), None


def run_module(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``m(x)``, with a convolution's or linear layer's weight from :func:`autocast_weight`."""
    t = type(m)
    if t not in (nn.Conv2d, nn.ConvTranspose2d, nn.Linear) or _target_dtype(m.weight) is None:
        return m(x)
    if t is nn.Linear:
        return F.linear(x, autocast_weight(m.weight), m.bias)
    if m.padding_mode != "zeros":
        return m(x)
    if t is nn.Conv2d:
        return F.conv2d(x, autocast_weight(m.weight), m.bias, m.stride, m.padding, m.dilation, m.groups)
    return F.conv_transpose2d(
        x, autocast_weight(m.weight), m.bias, m.stride, m.padding, m.output_padding, m.groups, m.dilation
    )
