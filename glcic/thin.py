"""Thin holes (strokes, scribbles, wires): completed at native size by windows along them.

``auto`` (:mod:`glcic.strategies`) hands the thin parts of a mask here
(:func:`glcic.strategies.split_by_depth`). A thin hole needs only the pixels next to
it, so the network is shown windows of its training resolution placed along the
hole (:func:`windowed_forward`), each keeping the fill of its central tile. On a
photo the windows are the cost: about half of a 2048 px scribbles photo's time went
to the network and a fifth to the pre-fill of each window (docs/inference.md). So:

- the tiles are placed greedily along the hole (:func:`place_tiles`), not on a fixed
  grid: a wire crossing a grid tile's corner no longer costs a window of its own;
- the pre-fill the network expects is computed once for every window of the image
  (:data:`Prefill`), not once per window (scikit-image's biharmonic solve per window
  was slower than one banded solve of the whole wire: :func:`glcic.prefill.solve_biharmonic`),
  unless the windows show more of other, deeper holes than of the thin ones;
- a window whose own pixels another window shows well inside it is dropped (:func:`_absorb`).
- a knot where strokes cross, a little deeper than them, is filled with them by the native
  windows (:func:`knots_down`), not by a pass at half size of its own;
- a window where the photo is flat and the pre-fill meets it smoothly keeps the pre-fill
  (:func:`flat_windows`): the shipped models are residual over the biharmonic pre-fill, and
  there the network only added noise (on the 2048 px scribbles of ``benchmarks/hires.py``
  its fill of those windows scored below the pre-fill's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from glcic.frame import Frame

__all__ = [
    "FLAT_STEP",
    "THIN_TILE",
    "THIN_WINDOW",
    "WINDOW_BATCH",
    "Prefill",
    "fill_windows",
    "flat_windows",
    "knots_down",
    "place_tiles",
    "windowed_forward",
]

THIN_WINDOW = 1.0
"""The native windows' side, x the training resolution."""
THIN_TILE = 0.75
"""Each native window keeps the fill of a central tile of this x the training resolution;
the rest of the window is context."""
WINDOW_BATCH = 8
"""Native windows per network call."""
ABSORB_INSET: float | None = 1 / 16
"""A window is dropped when all its own pixels lie this x the training resolution or more
inside another window, which completes them (:func:`_absorb`); None: never."""
FLAT_STEP: float | None = 0.01
"""A window is not shown to the network, and keeps its pre-fill, when its known pixels differ
from their neighbours by less than this on average (the largest of the three channels, in
[0, 1]: 0.01 is 2.6 levels of 8 bits) and its pre-fill from the known pixels beside it by
less than 1.5x this (:func:`flat_windows`); None: every window is shown. Measured in
docs/inference.md (thin holes: the network skipped where the pre-fill is its answer)."""
ONE_PASS_FACTOR = 1.5
"""An image whose short side is at most this x the training resolution (and its long side
twice that) is completed in one pass (:data:`glcic.strategies.AUTO_ORIGINAL_FACTOR`)."""

Prefill = Callable[[Frame, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, torch.Tensor]]
"""The network's pre-fill of a whole image, for :func:`fill_windows` to cut windows
from: ``(frame, hole, near)`` -> ``(ys, xs, values)``, the pixels of ``near`` and their
pre-fill the way the network expects (``model.prefill``), ``(3, n)`` in [0, 1]. ``hole``
and ``near`` ``bool`` ``(H, W)``: ``near`` marks the hole pixels some window shows (hole
pixels outside it need no pre-fill and are not read); only the windows, 2 px wider, are
converted in ``frame``. With it the forward is called as ``forward(filled, hole,
prefilled=True)`` (:meth:`glcic.pipeline.InpaintPipeline._forward`;
:func:`glcic.frame.prefill_values`)."""

Forward = Callable[..., torch.Tensor]
""":data:`glcic.strategies.Forward`."""
Progress = Callable[[str, int, int], None]
""":data:`glcic.strategies.Progress`."""


def place_tiles(todo: np.ndarray, tile: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Square tiles of side ``tile`` that together cover every ``todo`` pixel, few of them.

    Greedy, in raster order: the first pixel no tile covers yet starts a tile on its row;
    the tile's column is the one (among those that keep that pixel inside) covering the
    most uncovered pixels of those rows. Each pixel belongs to the first tile that covers
    it, so no pixel is completed twice. Along a wire this takes about one tile per
    ``tile`` pixels of its length, whatever its angle; a fixed grid takes up to twice as
    many (a diagonal wire crosses about ``2 x length / tile`` grid cells, and a wire along
    a grid line two rows of them).

    Args:
        todo: ``bool`` ``(h, w)``, the pixels to cover.
        tile: the tiles' side in pixels.

    Returns:
        ``(top, left, ys, xs)`` per tile: its corner (the tile lies inside the image when the
        image is at least ``tile`` a side) and its own pixels' coordinates, ``int64``.
    """
    h, w = todo.shape
    ys, xs = np.nonzero(todo)  # raster order: by row, then column
    n = ys.size
    free = np.ones(n, bool)
    tiles = []
    start = 0
    row_start = np.searchsorted(ys, np.arange(h + 1))  # pixels of row r: row_start[r]:row_start[r + 1]
    while True:
        nxt = np.flatnonzero(free[start:])
        if nxt.size == 0:
            return tiles
        start += int(nxt[0])
        py, px = int(ys[start]), int(xs[start])
        top = max(0, min(py, h - tile))
        lo, hi = row_start[top], row_start[min(h, top + tile)]
        cand = np.flatnonzero(free[lo:hi]) + lo
        cx = xs[cand]
        near = np.abs(cx - px) < tile
        cand, cx = cand[near], cx[near]
        # The left edge in [px - tile + 1, px] covering the most candidates.
        first = px - tile + 1
        counts = np.bincount(cx - first, minlength=2 * tile - 1)  # candidates per column
        cum = np.concatenate([[0], np.cumsum(counts)])
        best = int(np.argmax(cum[tile : 2 * tile] - cum[:tile]))
        left = max(0, min(first + best, w - tile))
        mine = cand[(cx >= left) & (cx < left + tile)]
        free[mine] = False
        tiles.append((top, left, ys[mine], xs[mine]))


def _absorb(
    tiles: list[tuple[int, int, np.ndarray, np.ndarray]],
    corners: list[tuple[int, int]],
    size: tuple[int, int],
    inset: int,
) -> tuple[list[tuple[int, int, np.ndarray, np.ndarray]], list[tuple[int, int]]]:
    """Drop the windows whose own pixels another window already shows, at least ``inset``
    pixels inside it; that window completes them. Smallest first."""
    wh, ww = size
    c = np.array(corners)  # (n, 2)
    own = [(ys, xs) for _, _, ys, xs in tiles]
    alive = np.ones(len(tiles), bool)
    for k in sorted(range(len(tiles)), key=lambda k: own[k][0].size):
        ys, xs = own[k]
        fits = (
            alive
            & (c[:, 0] + inset <= ys.min())
            & (ys.max() < c[:, 0] + wh - inset)
            & (c[:, 1] + inset <= xs.min())
            & (xs.max() < c[:, 1] + ww - inset)
        )
        fits[k] = False
        if fits.any():
            j = int(np.flatnonzero(fits)[0])
            own[j] = (np.concatenate([own[j][0], ys]), np.concatenate([own[j][1], xs]))
            alive[k] = False
    keep = np.flatnonzero(alive)
    return [(*tiles[j][:2], *own[j]) for j in keep], [corners[j] for j in keep]


def flat_windows(x: torch.Tensor, hole: torch.Tensor, step: float) -> torch.Tensor:
    """The windows that keep their pre-fill without the network: the photo flat, the pre-fill continuing it.

    Over every pair of neighbouring pixels (across and down) the step is the largest of the
    three channels' absolute differences. A window is flat when the mean step between two
    known pixels is under ``step`` and the mean step between a hole pixel and a known one
    (how the pre-fill meets the photo) under ``1.5 step``. The second test keeps a pre-fill
    that does not continue the photo (a mean colour's edge along the hole) from counting
    as flat; a window with no known pair, or no hole pixel beside a known one, is not flat.

    Args:
        x: ``(n, 3, h, w)`` in [0, 1], the holes holding the pre-fill.
        hole: ``(n, 1, h, w)`` ``bool``, True = hole.
        step: the mean step between known pixels below which a window is flat, in [0, 1].

    Returns:
        ``(n,)`` ``bool``, on the CPU.
    """
    n = x.shape[0]
    known_sum, edge_sum = torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
    known_pairs, edge_pairs = torch.zeros(n, dtype=torch.int64), torch.zeros(n, dtype=torch.int64)
    h = hole[:, 0].cpu()  # (n, h, w)
    for dim in (2, 3):  # down, across
        k = x.shape[dim] - 1
        d = (x.narrow(dim, 1, k) - x.narrow(dim, 0, k)).abs_().amax(dim=1).cpu()  # (n, h', w') the steps
        a, b = h.narrow(dim - 1, 1, k), h.narrow(dim - 1, 0, k)
        known, edge = ~(a | b), a ^ b  # both pixels known; one hole, one known
        known_sum += torch.where(known, d, 0).sum(dim=(1, 2), dtype=torch.float64)
        edge_sum += torch.where(edge, d, 0).sum(dim=(1, 2), dtype=torch.float64)
        known_pairs += known.sum(dim=(1, 2))
        edge_pairs += edge.sum(dim=(1, 2))
    return (known_pairs > 0) & (edge_pairs > 0) & (known_sum < step * known_pairs) & (edge_sum < 1.5 * step * edge_pairs)


def windowed_forward(
    forward: Forward,
    x: torch.Tensor,
    hole: torch.Tensor,
    target: torch.Tensor,
    resolution: int,
    progress: Progress | None = None,
    prefill: Prefill | None = None,
) -> tuple[torch.Tensor, str]:
    """:func:`fill_windows` on a tensor: ``x`` ``(1, 3, h, w)`` in [0, 1] (not changed) ->
    ``(1, 3, h, w)`` with ``target`` completed, and ``"original"`` (one pass) or ``"tiles"``."""
    frame = Frame.from_tensor(x)
    kind = fill_windows(forward, frame, hole, target, resolution, progress, prefill)
    return frame.t, kind


def fill_windows(
    forward: Forward,
    frame: Frame,
    hole: torch.Tensor,
    target: torch.Tensor,
    resolution: int,
    progress: Progress | None = None,
    prefill: Prefill | None = None,
) -> str:
    """Complete ``target`` with windows of the training resolution along it, in ``frame``.

    The target pixels are covered by tiles of :data:`THIN_TILE` x ``resolution``
    (:func:`place_tiles`); each tile is completed in the window of ``resolution`` centred
    on it (an eighth of the resolution of context on every side, 16 px for the shipped
    models, plenty for a hole at most :data:`glcic.strategies.AUTO_DEPTH` x ``resolution``
    deep; less at the image border), and only its own target pixels are kept. The windows
    are independent (each sees every other hole as a hole), so they run
    :data:`WINDOW_BATCH` at a time. With ``prefill``, a window where the photo is flat
    keeps its pre-fill and is not run (:data:`FLAT_STEP`, :func:`flat_windows`). An image
    whose short side fits in 1.5 windows (and whose long side in three) is completed in one
    pass. Only the windows (2 px wider, for
    the pre-fill's stencil) are read from ``frame``: an 8-bit photo is converted to float
    there only (:class:`glcic.frame.Frame`).

    Args:
        forward: the network pass (see :data:`glcic.strategies.Forward`).
        frame: the image, ``(1, 3, h, w)`` in [0, 1]; ``target``'s pixels are written
            into it, nothing else changes.
        hole: ``(1, 1, h, w)`` ``bool``: every hole (stays a hole unless completed here).
        target: ``(1, 1, h, w)`` ``bool``: the holes to complete, a subset of ``hole``.
        resolution: the model's training resolution in pixels.
        progress: told before each batch of windows (see :data:`glcic.strategies.Progress`).
        prefill: the network's pre-fill of the whole image (see :data:`Prefill`), computed
            once for all windows; None, or windows that show more pixels of other holes than
            of ``target``: each window is pre-filled by ``forward`` itself.

    Returns:
        ``"original"`` (one pass) or ``"tiles"``.
    """
    progress = progress or (lambda what, done, total: None)
    h, w = frame.shape
    side = round(ONE_PASS_FACTOR * resolution)
    if min(h, w) <= side and max(h, w) <= 2 * side:
        progress("network", 0, 1)
        frame.write_mask(target[0, 0].cpu().numpy(), forward(frame.whole(), hole))
        return "original"
    tile = max(4, round(THIN_TILE * resolution))
    window = round(THIN_WINDOW * resolution)
    wh, ww = min(window, h), min(window, w)
    tiles = place_tiles(target[0, 0].cpu().numpy(), tile)
    # Each window's top-left corner: centred on its tile, inside the image (so it holds the tile).
    corners = [
        (int(np.clip(top + tile // 2 - wh // 2, 0, h - wh)), int(np.clip(left + tile // 2 - ww // 2, 0, w - ww)))
        for top, left, _, _ in tiles
    ]
    if ABSORB_INSET is not None and len(tiles) > 1:
        tiles, corners = _absorb(tiles, corners, (wh, ww), round(ABSORB_INSET * resolution))
    # What the windows read (the pre-fill's 5x5 stencil 2 px past them): converted once.
    frame.ensure([(wy - 2, wx - 2, wy + wh + 2, wx + ww + 2) for wy, wx in corners])
    call = forward
    holes = hole[0, 0].cpu().numpy()  # (h, w) bool
    near = np.zeros((h, w), bool)  # what some window shows
    for wy, wx in corners:
        near[wy : wy + wh, wx : wx + ww] = True
    near &= holes
    saved = None
    # One solve for every window, unless the windows show more of other holes than of their
    # targets (a blob beside the wire): a compact hole costs the banded solve far more than
    # pieces of it per window (every target pixel is in a window). The pre-fill goes into
    # the frame's hole pixels for the windows to be cut from, and what they held is put
    # back afterwards.
    n_target = sum(t[2].size for t in tiles)
    if prefill is not None and tiles and np.count_nonzero(near) - n_target <= n_target:
        ys, xs, values = prefill(frame, holes, near)
        saved = (ys, xs, frame.values(ys, xs))  # (3, k): a copy
        frame.write(ys, xs, values)

        def call(xb: torch.Tensor, hb: torch.Tensor) -> torch.Tensor:
            return forward(xb, hb, prefilled=True)

    def cut(ks: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The windows ``ks``: ``(n, 3, wh, ww)`` as the frame holds them, ``(n, 1, wh, ww)`` holes."""
        at = [corners[k] for k in ks]
        return (
            torch.cat([frame.region(wy, wx, wh, ww) for wy, wx in at]),
            torch.cat([hole[:, :, wy : wy + wh, wx : wx + ww] for wy, wx in at]),
        )

    fills = []  # written once every window has been cut
    run = list(range(len(tiles)))
    if saved is not None and FLAT_STEP is not None:
        # Where the photo is flat the pre-fill is the network's answer: keep it, skip the window.
        chunks = range(0, len(run), WINDOW_BATCH)
        flat = torch.cat([flat_windows(*cut(run[i : i + WINDOW_BATCH]), FLAT_STEP) for i in chunks]).numpy()
        for k in np.flatnonzero(flat):
            _, _, ys, xs = tiles[k]
            fills.append((ys, xs, frame.values(ys, xs)))  # the pre-fill (a copy)
        run = [k for k in run if not flat[k]]
    for i in range(0, len(run), WINDOW_BATCH):
        progress("network", i, len(run))
        batch = run[i : i + WINDOW_BATCH]
        y = call(*cut(batch))  # (n, 3, wh, ww)
        for j, k in enumerate(batch):
            _, _, ys, xs = tiles[k]
            wy, wx = corners[k]
            iy, ix = torch.from_numpy(ys - wy).to(y.device), torch.from_numpy(xs - wx).to(y.device)
            fills.append((ys, xs, y[j][:, iy, ix]))  # only this tile's own pixels
    if saved is not None:
        frame.write(*saved)
    for ys, xs, v in fills:
        frame.write(ys, xs, v)
    return "tiles"


def knots_down(thin: list[np.ndarray], level: int, depth: np.ndarray, limit: float) -> None:
    """Move the parts of ``thin[level]`` that touch ``thin[level - 1]`` and are nowhere deeper
    than ``limit`` (px, ``depth`` the distance transform ``(H, W)``) to ``thin[level - 1]``,
    in place (:func:`glcic.strategies.split_by_depth`)."""
    import cv2

    part, finer = thin[level], thin[level - 1]
    rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    if rows.size == 0 or not finer.any():
        return
    # The box of this level's pixels, one pixel wider (the finer pixels they touch).
    y0, y1 = max(0, rows[0] - 1), min(part.shape[0], rows[-1] + 2)
    x0, x1 = max(0, cols[0] - 1), min(part.shape[1], cols[-1] + 2)
    box = (slice(y0, y1), slice(x0, x1))
    n, labels = cv2.connectedComponents(part[box].view(np.uint8), connectivity=8)  # (h, w) int32
    ys, xs = np.nonzero(part[box])
    lab = labels[ys, xs]
    deepest = np.zeros(n, np.float32)
    np.maximum.at(deepest, lab, depth[box][ys, xs])
    near = cv2.dilate(finer[box].view(np.uint8), np.ones((3, 3), np.uint8)) > 0  # (h, w): touches a finer pixel
    touching = np.zeros(n, bool)
    touching[lab[near[ys, xs]]] = True
    move = touching & (deepest <= limit)
    move[0] = False  # the background label
    moved = np.zeros_like(part)
    moved[box] = move[labels]
    thin[level - 1] = finer | moved
    thin[level] = part & ~moved
