"""Scores of one completed image, and the set-level scores of a method.

Per image: :func:`glcic.metrics.all_metrics` (PSNR, SSIM, hole PSNR, hole L1, in
[0, 1] units), plus LPIPS when its weights are given. Per method: FID of the
completed set against the ground-truth set, when its weights are given. The feature
networks (:mod:`glcic.feature_metrics`) are read from local files only, never
downloaded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from glcic.convert import to_tensor


def _batch(img: np.ndarray) -> torch.Tensor:
    """``uint8`` (H, W, 3) -> float (1, 3, H, W) in [0, 1], as the feature networks take it."""
    return to_tensor(img)[None]  # (1, 3, H, W)


class Scorer:
    """Scores completed images; collects FID features per method.

    Args:
        lpips_weights, fid_weights: local weight files of the ``lpips`` package's AlexNet
            LPIPS and pytorch-fid's Inception-v3; None leaves that score out. Loaded (and
            checked) here, before any work.

    Raises:
        InputError: a weight file that is missing or not the expected network.
    """

    def __init__(
        self,
        lpips_weights: str | os.PathLike | None = None,
        fid_weights: str | os.PathLike | None = None,
    ) -> None:
        from glcic.feature_metrics import LPIPS, FIDInception

        self.lpips = LPIPS.from_file(lpips_weights) if lpips_weights is not None else None
        self.fid = FIDInception.from_file(fid_weights) if fid_weights is not None else None
        self._fid_real: list[np.ndarray] = []
        self._fid_fake: dict[str, list[np.ndarray]] = {}

    def add_target(self, target: np.ndarray) -> None:
        """Record a ground truth ``uint8`` (S, S, 3) for FID (once per image)."""
        if self.fid is not None:
            self._fid_real.append(self.fid(_batch(target))[0].numpy())  # (2048,)

    def score(
        self, method: str, out: np.ndarray, target: np.ndarray, mask: np.ndarray
    ) -> dict[str, float]:
        """Scores of ``method``'s composited ``out`` against ``target`` (both ``uint8``
        (S, S, 3)), ``mask`` ``bool`` (S, S), True = hole.

        Returns:
            ``{"psnr", "ssim", "hole_psnr", "hole_l1"}`` and ``"lpips"`` when its weights
            were given; a PSNR of identical pixels is ``inf``.
        """
        from glcic.metrics import all_metrics

        vals = all_metrics(out, target, mask)
        if self.lpips is not None:
            vals["lpips"] = float(self.lpips(_batch(out), _batch(target))[0])
        if self.fid is not None:
            self._fid_fake.setdefault(method, []).append(self.fid(_batch(out))[0].numpy())
        return vals

    def summarize(self, method: str, rows: Sequence[dict[str, float]]) -> dict[str, Any]:
        """The feature scores of ``method`` over its per-image ``rows``: mean ``lpips``
        (lower is better) and ``fid`` of its completed set; empty without weights."""
        from glcic.feature_metrics import frechet_distance

        out: dict[str, Any] = {}
        if self.lpips is not None:
            out["lpips"] = math.fsum(r["lpips"] for r in rows) / len(rows)
        if self.fid is not None:
            # Completed images against the ground truths of the same set (pool3 features).
            out["fid"] = frechet_distance(
                np.stack(self._fid_fake[method]), np.stack(self._fid_real)
            )
        return out
