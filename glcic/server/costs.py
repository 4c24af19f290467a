"""What one request costs in memory, and the most one request may cost.

The figures are the peak resident memory of one request as ``benchmarks/serve_memory.py``
measured it (``docs/serving.md``, "Memory per request"): the default request (the network,
``strategy=auto``) needs about 70 bytes per image pixel whatever the hole, since the
network only ever sees windows of a few hundred pixels; ``strategy=refine`` adds about 45
bytes per pixel of the window it works in around a deep hole (:func:`glcic.refine.window`:
the hole's box grown by its longest side); ``strategy=original`` runs the network on the
whole image at once, about 275 bytes per pixel for the shipped models (width 0.5), in
proportion to a bundle's width. The classical methods need about 46 bytes per pixel
(``patchmatch`` 135, its pyramid of patch matches), plus, for ``biharmonic`` and ``fsr``,
a cost per hole pixel (a sparse system of one unknown per hole pixel, or FSR's blocks).

**The rule**: a request may cost at most what the default request costs at the server's
``max_pixels``, plus :data:`HEADROOM_BYTES` (2.7 GiB at 40 MP), and never less than
:data:`FLOOR_BYTES`. A request over
it (``biharmonic`` on a hole of a million pixels, ``original`` on a 20 MP photo) is a 413
``too_costly`` before any work, which says what it would need. So ``max_concurrent`` x
that budget is what the workers can hold at once: :func:`memory_plan` adds the bodies
waiting in the queue and the idle server, and ``glcic serve`` prints it at start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glcic.server.errors import ApiError
from glcic.server.settings import FREE_BYTES, ServerSettings

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class Cost:
    """Peak memory of one request: ``per_pixel`` x the image's pixels + ``per_hole_pixel`` x the hole's."""

    per_pixel: float
    per_hole_pixel: float = 0.0


REFINE_PER_WINDOW_PIXEL = 45
"""What ``strategy=refine`` adds per pixel of its window (measured 42 B at 12 MP: 332 MiB for
a window of 8.3 MP around a 5 % hole, and 31 B at 40 MP, since d7665fe; 78 B before it)."""


NETWORK = Cost(70)
"""The network with ``auto``, ``resize`` or ``crop`` (measured 67-70 B/px from 4 to 40 MP:
decoding, the float copies of the image, blending and encoding; the network's windows are small)."""
ORIGINAL = Cost(275)
"""The network with ``original`` on the whole image, for a width-0.5 network (measured
260-273 B/px at 4 and 12 MP: 2.9 GiB at 12 MP); a bundle of width ``w`` costs ``w / 0.5``
times as much."""
CLASSICAL = Cost(46)
"""``telea``, ``ns``, ``mean`` (measured 45-46 B/px at 12 and 40 MP), and any classical
method without a figure of its own."""
CLASSICAL_COSTS = {
    "biharmonic": Cost(46, 7_500),  # measured 6.2 and 7.4 KB per hole pixel (190k and 590k)
    "patchmatch": Cost(135),  # measured 132 B/px at 4 and 12 MP, whatever the hole
    "fsr": Cost(46, 1_400),  # measured 1.0 and 1.4 KB per hole pixel (106k at 4 MP, 179k at 12 MP)
}
HEADROOM_BYTES = 128 * MIB
"""Added to the default request's cost to make the budget: the figures are estimates, and a
``refine`` on a small deep hole at the pixel limit (a window of up to 3 MP) should run."""
FLOOR_BYTES = 256 * MIB
"""A request estimated under this is never refused: small images cost their fixed overheads,
which the per-pixel figures (measured on large ones) do not describe."""
IDLE_BYTES = 400 * MIB
"""The server's resident memory with the two shipped models loaded, before any request
(measured 300-360 MiB)."""


def request_cost(
    method: str,
    strategy: str,
    pixels: int,
    hole_pixels: int,
    width: float = 0.5,
    refine_pixels: int = 0,
) -> int:
    """Estimated peak bytes of one request (see the module docstring for the figures);
    ``refine_pixels``: the window ``strategy=refine`` works in (:func:`refine_window`)."""
    extra = 0
    if method == "glcic":
        cost = Cost(ORIGINAL.per_pixel * width / 0.5) if strategy == "original" else NETWORK
        if strategy == "refine":
            extra = REFINE_PER_WINDOW_PIXEL * refine_pixels
    else:
        cost = CLASSICAL_COSTS.get(method, CLASSICAL)
    return int(cost.per_pixel * pixels + cost.per_hole_pixel * hole_pixels + extra)


def refine_window(hole: np.ndarray) -> int:
    """Pixels of the window ``strategy=refine`` works in around ``hole`` (``bool`` ``(H, W)``)."""
    if not hole.any():
        return 0
    from glcic.refine import window

    rows, cols = window(hole)
    return (rows.stop - rows.start) * (cols.stop - cols.start)


def request_budget(max_pixels: int) -> int:
    """The most one request may cost: the default request at ``max_pixels`` and
    :data:`HEADROOM_BYTES`, at least :data:`FLOOR_BYTES`."""
    return max(FLOOR_BYTES, request_cost("glcic", "auto", max_pixels, 0) + HEADROOM_BYTES)


def check_cost(
    method: str,
    strategy: str,
    size: tuple[int, int],
    hole_pixels: int,
    width: float,
    max_pixels: int,
    refine_pixels: int = 0,
) -> None:
    """Refuse a request that would need more memory than :func:`request_budget` allows.

    Raises:
        ApiError: 413 ``too_costly``, saying what it would need and what to change.
    """
    w, h = size
    need = request_cost(method, strategy, w * h, hole_pixels, width, refine_pixels)
    budget = request_budget(max_pixels)
    if need <= budget:
        return
    if method == "glcic":
        what = f"strategy {strategy!r} on {w}x{h} with a hole of {hole_pixels:,} pixels"
        fix = "use strategy 'auto' (the default), which runs the network on small windows"
        if strategy == "refine":
            fix += ", or mark a smaller hole"
    else:
        what = f"method {method!r} on {w}x{h} with a hole of {hole_pixels:,} pixels"
        fix = "mark a smaller hole, downscale the image, or use method 'glcic' or 'telea'"
    raise ApiError(
        413,
        "too_costly",
        f"{what} would need about {need / GIB:.1f} GiB; this server lets one request use "
        f"{budget / GIB:.1f} GiB (what the default method needs at its --max-pixels {max_pixels:,}); {fix}",
    )


def memory_plan(settings: ServerSettings) -> dict[str, int]:
    """The most memory the server holds at once, in bytes, by what holds it.

    ``workers``: ``max_concurrent`` requests at their budget; ``bodies``: every body the
    limits let the server hold (``max_uploads`` being read, the queue, the running ones),
    each at most ``max_upload_mb``; ``connections``: what each other connection may buffer
    (:data:`~glcic.server.settings.FREE_BYTES` and 64 KiB); ``idle``: the server itself.
    """
    held = settings.max_uploads + settings.queue + settings.max_concurrent
    plan = {
        "idle": IDLE_BYTES,
        "workers": settings.max_concurrent * request_budget(settings.max_pixels),
        "bodies": held * settings.max_upload_bytes,
        "connections": max(0, settings.max_connections - held) * (FREE_BYTES + 64 * 1024),
    }
    plan["total"] = sum(plan.values())
    return plan


def available_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` (Linux), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
