"""torch.distributed glue: the same loop runs as one process or under `torchrun`.

Rank and world size come from the environment (RANK, WORLD_SIZE, LOCAL_RANK)
with single-process defaults. Gradients are averaged by hand, per phase, over
the parameters of the network being trained; this copes with a frozen network
(the discriminator during the completion-only phase) without DDP's unused-
parameter machinery.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist

from glcic.errors import InputError
from glcic.precision import resolve_device


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", 0))


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else int(os.environ.get("WORLD_SIZE", 1))


def init(device: str = "auto") -> torch.device:
    """Start the process group when launched by torchrun; return this process's device.

    ``device`` is resolved by :func:`glcic.precision.resolve_device` (``"auto"`` and
    ``"cuda"`` take the GPU numbered LOCAL_RANK).
    """
    dev = resolve_device(device, int(os.environ.get("LOCAL_RANK", 0)))
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world_size() > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return dev


def local_batch_size(batch_size: int) -> int:
    """This process's share of the global batch.

    Raises:
        InputError: ``batch_size`` does not split evenly across the processes.
    """
    world = world_size()
    if batch_size % world:
        raise InputError(f"train.batch_size ({batch_size}) must be divisible by the number of processes ({world})")
    return batch_size // world


def shutdown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """All-reduce and average the gradients of ``params`` in one flat bucket."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def average_buffers(module: torch.nn.Module) -> None:
    """Average floating buffers (batch-norm running statistics) so every rank holds the same model."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return
    for b in module.buffers():
        if b.is_floating_point():
            dist.all_reduce(b)
            b /= dist.get_world_size()


def mean_over_ranks(x: torch.Tensor) -> torch.Tensor:
    """The mean of a scalar tensor over all ranks (itself in a single process)."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return x
    x = x.detach().clone()
    dist.all_reduce(x)
    return x / dist.get_world_size()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any (so all ranks stop at the same step)."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
