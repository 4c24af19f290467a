"""Batch norm + ReLU in training mode in two passes each way, on the CPU's C kernels.

Eager PyTorch runs a training-mode ``BatchNorm2d`` followed by ``ReLU`` as five passes
over the map forward and eight backward, and keeps the ReLU's output for its backward.
:func:`bn_relu` computes the same function in two passes each way (statistics, then the
normalised and clipped output; gradient sums, then the input gradient), recomputing the
ReLU's mask from the saved input. Running statistics and ``num_batches_tracked`` are
updated as ``BatchNorm2d`` updates them.

:func:`run_sequence` runs a list of modules (an ``nn.Sequential``'s) and uses the fused
form for every ``BatchNorm2d`` directly followed by ``ReLU`` where :func:`fusable` says it
applies (training mode, CPU, float32 or bfloat16, channels-last, the kernels built; see
:mod:`glcic.native`), the modules themselves elsewhere. Weights, state dicts and
checkpoints are those of the plain modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from glcic import native
from glcic.models.casts import run_module


def _oom() -> MemoryError:
    return MemoryError("the fused batch-norm + ReLU kernel could not allocate its (C,)-sized work space")


class _BatchNormReLU(torch.autograd.Function):
    """``relu(batch_norm(x))`` in training mode; the running statistics of ``bn`` move as in ``bn(x)``."""

    @staticmethod
    def forward(ctx, x, weight, bias, bn: nn.BatchNorm2d, factor: float):  # noqa: D102
        n, c, h, w = x.shape
        bf16 = int(x.dtype == torch.bfloat16)
        y = torch.empty_like(x, memory_format=torch.channels_last)
        saved = torch.empty(4, c)  # mean, invstd, a = weight * invstd, b = bias - mean * a
        status = native.library().bn_relu_forward(
            x.data_ptr(), y.data_ptr(), bf16, n * h * w, c, weight.data_ptr(), bias.data_ptr(),
            bn.eps, factor, bn.running_mean.data_ptr(), bn.running_var.data_ptr(), saved.data_ptr(),
            torch.get_num_threads(),
        )
        if status:
            raise _oom()
        ctx.save_for_backward(x, saved)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):  # noqa: D102
        x, saved = ctx.saved_tensors
        n, c, h, w = x.shape
        dy = dy.to(x.dtype).contiguous(memory_format=torch.channels_last)
        dx = torch.empty_like(x, memory_format=torch.channels_last) if ctx.needs_input_grad[0] else None
        grads = torch.empty(2, c)  # dweight, dbias
        status = native.library().bn_relu_backward(
            x.data_ptr(), dy.data_ptr(), None if dx is None else dx.data_ptr(), int(x.dtype == torch.bfloat16),
            n * h * w, c, saved.data_ptr(), grads.data_ptr(), torch.get_num_threads(),
        )
        if status:
            raise _oom()
        return dx, grads[0], grads[1], None, None


def fusable(bn: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``relu(bn(x))`` can run as :func:`bn_relu` here."""
    return (
        type(bn) is nn.BatchNorm2d
        and bn.training
        and bn.affine
        and bn.track_running_stats
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.bfloat16)
        and bn.weight.dtype == torch.float32
        and bn.running_mean.dtype == torch.float32
        and x.ndim == 4
        and x.shape[0] * x.shape[2] * x.shape[3] > 1
        and x.is_contiguous(memory_format=torch.channels_last)
        and not torch.jit.is_tracing()
        and not torch.jit.is_scripting()
        and not torch.compiler.is_compiling()
        and not torch.onnx.is_in_onnx_export()
        and native.library() is not None
    )


def bn_relu(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``relu(bn(x))`` for a ``bn`` in training mode, fused (see :func:`fusable`).

    Updates ``bn.running_mean``, ``bn.running_var`` (unbiased) and ``num_batches_tracked``
    as ``bn(x)`` does.
    """
    bn.num_batches_tracked.add_(1)
    factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    return _BatchNormReLU.apply(x, bn.weight, bn.bias, bn, factor)


def run_sequence(
    modules: Iterable[nn.Module],
    x: torch.Tensor,
    call: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``x`` through ``modules`` in order, each ``BatchNorm2d`` + ``ReLU`` pair fused where it can be.

    ``call(module, x)`` runs every other module (default: :func:`glcic.models.casts.run_module`,
    which is ``module(x)`` with the weight's autocast copy reused while it is unchanged).
    """
    mods = list(modules)
    i = 0
    while i < len(mods):
        m = mods[i]
        if i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU) and fusable(m, x):
            x = bn_relu(m, x)
            i += 2
        else:
            x = run_module(m, x) if call is None else call(m, x)
            i += 1
    return x
