"""The comparison picture of an evaluation: one row per image, one column per method."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glcic.errors import InputError

GRID_PAD = 2
"""Pixels of white between cells and around the picture."""
GRID_HEADER = 14
"""Height of the row of column labels, in pixels."""
GRID_CELL = 128
"""Side of a cell when the images have different sizes (``--size native``)."""


def fit_cell(img: np.ndarray, cell: int) -> np.ndarray:
    """``img`` ``uint8`` (H, W, 3) shrunk to fit a ``cell`` square (aspect kept, never
    enlarged) and centred on white: ``uint8`` (cell, cell, 3)."""
    from PIL import Image

    h, w = img.shape[:2]
    scale = min(1.0, cell / max(h, w))
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    small = img if (th, tw) == (h, w) else np.asarray(Image.fromarray(img).resize((tw, th), Image.BILINEAR))
    out = np.full((cell, cell, 3), 255, np.uint8)
    y0, x0 = (cell - th) // 2, (cell - tw) // 2
    out[y0 : y0 + th, x0 : x0 + tw] = small
    return out


def grid_size(rows: int, cols: int, cell: int) -> tuple[int, int]:
    """``(width, height)`` in pixels of a :func:`write_grid` picture."""
    return cols * cell + (cols + 1) * GRID_PAD, GRID_HEADER + rows * cell + (rows + 1) * GRID_PAD


def write_grid(
    path: str | os.PathLike,
    rows: Sequence[tuple[np.ndarray, np.ndarray, Sequence[np.ndarray]]],
    methods: Sequence[str],
) -> Path:
    """Draw a comparison picture: one row per image, columns input (hole in white), each
    method, ground truth, under a header of labels.

    Args:
        path: PNG file to write.
        rows: ``(input, target, outputs)`` per image, each ``uint8`` (S, S, 3) (other
            sizes are fitted into an S square, S the first input's height); ``outputs``
            in the order of ``methods``.
        methods: column labels of the outputs.

    Returns:
        ``path``; the picture has the size :func:`grid_size` gives.
    """
    from PIL import Image, ImageDraw

    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write the grid {path}: the folder {path.parent} does not exist")
    if not rows:
        raise InputError("no images to draw in the grid")
    cell = rows[0][0].shape[0]
    labels = ["input", *methods, "ground truth"]
    w, h = grid_size(len(rows), len(labels), cell)
    canvas = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(labels):
        x = GRID_PAD + c * (cell + GRID_PAD)
        text = label
        while len(text) > 1 and draw.textlength(text) > cell:
            text = text[:-1]  # cut labels that would spill into the next column
        draw.text((x + max(0, (cell - draw.textlength(text)) / 2), 1), text, fill=(0, 0, 0))
    for r, (inp, target, outs) in enumerate(rows):
        y = GRID_HEADER + GRID_PAD + r * (cell + GRID_PAD)
        for c, img in enumerate([inp, *outs, target]):
            if img.shape[:2] != (cell, cell):
                img = fit_cell(img, cell)
            canvas.paste(Image.fromarray(img), (GRID_PAD + c * (cell + GRID_PAD), y))
    canvas.save(path)
    return path
