"""The optimisers of Algorithm 1 in their fastest exact form on a CPU.

An optimiser step is memory-bound: per parameter it reads and writes a few state
tensors with one pass per operation. torch's Adam has a fused kernel (one pass for
all operations); Adadelta has none, and its ten or so passes over the full-width
networks' 44 M parameters took 18 % of a 160 px training step (both the per-parameter
loop and ``foreach``). :class:`FastAdadelta` runs torch's sequence of operations in
one pass on a small C kernel (:mod:`glcic.native`; 77 -> 26 ms for 44 M parameters),
or, without it, torch's own operations on blocks small enough to stay in the CPU
caches (bit for bit torch's result), so memory is read and written about once per step.
"""

from __future__ import annotations

import torch

from glcic import native

BLOCK = 1 << 17
"""Elements per block: 4 state tensors x 512 KiB, about what the L2 caches of two cores hold."""


class FastAdadelta(torch.optim.Adadelta):
    """``torch.optim.Adadelta`` (same options, state and checkpoints) in one pass over memory.

    Each element goes through the operations of torch's per-parameter implementation
    (``foreach=False``), in the same order. On the native kernel (float32 tensors of one
    dense layout) the result is torch's within one float32 rounding (torch's vectorised
    square root is not always correctly rounded; the kernel's is); otherwise torch's own
    operations run block by block, bit for bit torch's result.
    """

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            if group["maximize"] or group["capturable"] or group["differentiable"]:
                raise ValueError("FastAdadelta supports neither maximize, capturable nor differentiable")
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("Adadelta does not support sparse gradients")
                state = self.state[p]
                if len(state) == 0:  # as torch.optim.Adadelta initialises it
                    state["step"] = torch.zeros((), dtype=_scalar_dtype())
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                tensors = (p, p.grad, state["square_avg"], state["acc_delta"])
                lib = native.library() if p.device.type == "cpu" and p.dtype == torch.float32 else None
                if lib is not None and _one_dense_layout(tensors):
                    lib.adadelta_step(
                        *(t.data_ptr() for t in tensors), p.numel(), -lr, rho, 1 - rho, eps, wd, torch.get_num_threads()
                    )
                    torch.autograd.graph.increment_version(p)  # written behind torch's back: say so
                    continue
                for block in _blocks(tensors):
                    _adadelta(*block, lr=lr, rho=rho, eps=eps, weight_decay=wd)
        return loss


def _scalar_dtype() -> torch.dtype:
    """The dtype torch's optimisers keep ``step`` in."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class FlatFusedAdam(torch.optim.Adam):
    """``torch.optim.Adam(fused=True)`` that hands the fused kernel flat views of dense tensors.

    The fused kernel makes contiguous copies of channels-last weights (and their gradients
    and moments) and copies them back, every step. Where a parameter, its gradient and its
    two moments share one dense layout, their memory order is the same element order, so
    1-D views give the kernel the same elements without the copies; the update is the same.
    """

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        # The fused kernel writes the parameters without bumping their version counters;
        # bump them, so that anything keyed on ``_version`` sees the change.
        changed = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        if changed:
            torch.autograd.graph.increment_version(changed)
        return loss

    def _init_group(self, group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps):
        has_complex = super()._init_group(group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps)
        if group["fused"] and not group["amsgrad"]:
            for i in range(len(params)):
                flat = _flat((params[i], grads[i], exp_avgs[i], exp_avg_sqs[i]))
                if flat is not None:
                    params[i], grads[i], exp_avgs[i], exp_avg_sqs[i] = flat
        return has_complex


def _flat(tensors: tuple[torch.Tensor, ...]) -> list[torch.Tensor] | None:
    """1-D views of tensors that share one dense, non-contiguous layout (channels-last); else None."""
    if tensors[0].is_contiguous() or not _one_dense_layout(tensors):
        return None  # already what the kernel wants, or a layout we do not flatten
    return _flat_views(tensors)


def _one_dense_layout(tensors: tuple[torch.Tensor, ...]) -> bool:
    """Same shape and strides, contiguous or channels-last: memory order is element order for all."""
    first = tensors[0]
    same = all(t.stride() == first.stride() and t.shape == first.shape and t.dtype == first.dtype for t in tensors)
    return same and (first.is_contiguous() or first.is_contiguous(memory_format=torch.channels_last))


def _flat_views(tensors: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    """1-D views in memory order of tensors with :func:`_one_dense_layout` (element order for all)."""
    return [t.as_strided((t.numel(),), (1,)) for t in tensors]


def _blocks(tensors: tuple[torch.Tensor, ...]):
    """The tensors cut into matching 1-D blocks of :data:`BLOCK` elements (whole when layouts differ)."""
    first = tensors[0]
    if not _one_dense_layout(tensors) or first.numel() <= BLOCK:
        yield tensors
        return
    flat = _flat_views(tensors)
    for start in range(0, first.numel(), BLOCK):
        yield tuple(f[start : start + BLOCK] for f in flat)


def _adadelta(param, grad, square_avg, acc_delta, *, lr: float, rho: float, eps: float, weight_decay: float) -> None:
    """torch's ``_single_tensor_adadelta`` body, operation for operation."""
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
    std = square_avg.add(eps).sqrt_()
    delta = acc_delta.add(eps).sqrt_()
    delta.div_(std).mul_(grad)
    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    param.add_(delta, alpha=-lr)


def make_optimizer(params, kind: str, lr: float, weight_decay: float, betas) -> torch.optim.Optimizer:
    """``adadelta`` (the paper) or ``adam`` over ``params``, in their fastest exact form.

    Adam runs fused (one kernel for all parameters; on the CPU too since torch 2.4),
    Adadelta as :class:`FastAdadelta`. Both compute torch's per-parameter update: Adadelta
    within one float32 rounding (bit for bit without the native kernels), fused Adam bit
    for bit without weight decay and within one float32 rounding with it. A checkpoint
    written without the fused flag resumes with it.
    """
    if kind == "adadelta":
        return FastAdadelta(params, lr=lr, weight_decay=weight_decay)
    opt = FlatFusedAdam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay, fused=True)

    def keep_fused(optimizer: torch.optim.Optimizer) -> None:
        for group in optimizer.param_groups:  # load_state_dict restores the saved flags
            group.update(fused=True, foreach=None)

    opt.register_load_state_dict_post_hook(keep_fused)
    return opt
