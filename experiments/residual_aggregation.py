"""Measure contextual residual aggregation at the model's scale: the hole's fine detail copied
from the known region, chosen by the completion network's own features.

HiFill (Yi et al., CVPR 2020) adds to a blurry fill the high-frequency residual of the known
region, aggregated into the hole with attention scores. This experiment asks whether the same
move gives a 128 px fill texture (issue 25) without training anything:

1. The network fills the hole as usual (``glcic evaluate``'s path: the ``original`` scale, no
   post-processing).
2. Its features after Table 1's twelfth layer (:data:`glcic.models.completion.ATTENTION_AFTER`,
   1/4 resolution: one feature per 4x4 block) give each hole block a source: the fully known
   block of most similar features (cosine), a neighbour's source continued instead when its
   score is within ``--coherence`` of the best (so the copies are whole regions, not 4 px tiles).
3. The source's ``--patch`` px patch of the known photo's high band (the photo minus its
   Gaussian blur of ``--sigma`` px over known pixels only) is laid on the hole block with a Hann
   window, overlapping patches summed with variance-preserving weights (divided by the root
   of the summed squared weights, so seams do not fade the amplitude every 4 px), times
   ``--gain``, and added to the fill inside the hole.

No noise and no filter on the fill: every added value is a pixel difference of the same photo.
The gain trades detail against PSNR (an uncorrelated copy adds its own variance to the error).

    python experiments/residual_aggregation.py --model ~/glcic-runs/sharp/ft-resize/bundle --split train --limit 100
    python experiments/residual_aggregation.py --model ~/glcic-runs/sharp/ft-resize/bundle --split val --limit 0 \\
        --grid /tmp/cra_blobs.png

Tune on ``--split train`` (photos the model trained on), report on ``val``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from glcic.evaluation import evaluate  # noqa: E402
from glcic.evaluation.report import family_scores  # noqa: E402
from glcic.models.completion import ATTENTION_AFTER  # noqa: E402
from glcic.pipeline import InpaintPipeline  # noqa: E402


def known_blur(x: np.ndarray, known: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``x`` (H, W, 3) over the ``known`` (H, W) pixels only (normalised
    convolution), so that no hole value leaks into the high band of the pixels around it."""
    k = known.astype(np.float32)
    num = cv2.GaussianBlur(x * k[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(k, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-6)


def block_sources(feats: torch.Tensor, hole: np.ndarray, known: np.ndarray, coherence: float) -> dict[int, int]:
    """For every hole block (raster order), the known block to copy from.

    Args:
        feats: (C, h, w) the network's features, one per block.
        hole, known: (h, w) bool: blocks touching the hole; blocks with no hole pixel.
        coherence: a left or upper neighbour's source, shifted by one block, is kept when its
            cosine score is within this (x 10, DeepFill's softmax scale) of the best.
    Returns:
        {hole block index: known block index}, indices into the flattened (h, w) map.
    """
    h, w = known.shape
    unit = F.normalize(feats.float().flatten(1), dim=0)  # (C, N)
    kidx = np.flatnonzero(known.ravel())
    qidx = np.flatnonzero(hole.ravel())
    scores = 10.0 * (unit[:, qidx].T @ unit[:, kidx])  # (nq, nk)
    column = {int(k): j for j, k in enumerate(kidx)}
    best = scores.argmax(1)
    src: dict[int, int] = {}
    for i, q in enumerate(qidx):
        qy, qx = divmod(int(q), w)
        j = int(best[i])
        top = float(scores[i, j])
        for ny, nx in ((qy, qx - 1), (qy - 1, qx)):
            n = ny * w + nx
            if n not in src:
                continue
            ky, kx = divmod(int(kidx[src[n]]), w)
            ky, kx = ky + qy - ny, kx + qx - nx
            c = column.get(ky * w + kx) if 0 <= ky < h and 0 <= kx < w else None
            if c is not None and float(scores[i, c]) >= top - coherence:
                j, top = c, float(scores[i, c]) + coherence
        src[int(q)] = j
    return {q: int(kidx[j]) for q, j in src.items()}


def aggregate(x: np.ndarray, hole: np.ndarray, feats: torch.Tensor, sigma: float, patch: int,
              coherence: float) -> np.ndarray:
    """The copied high band (H, W, 3), zero outside the hole's blocks.

    Args:
        x: (H, W, 3) float photo in [0, 1] (hole values ignored); hole: (H, W) bool.
        feats: (C, H / s, W / s) features, one per s x s block.
    """
    H, W = hole.shape
    _, h, w = feats.shape
    s = H // h
    blocks = hole.reshape(h, s, w, s).any(axis=(1, 3))
    if blocks.all() or not blocks.any():
        return np.zeros_like(x)
    src = block_sources(feats, blocks, ~blocks, coherence)
    band = x - known_blur(x, ~hole, sigma)
    band[hole] = 0
    pad = (patch - s) // 2
    t = torch.from_numpy(band).permute(2, 0, 1)[None]
    t = F.pad(t, (pad,) * 4, mode="reflect") if pad else t
    patches = F.unfold(t, patch, stride=s)[0]  # (3 * patch^2, h * w)
    win = np.hanning(patch + 2)[1:-1] if patch > s else np.ones(patch)
    win = torch.from_numpy(np.outer(win, win).astype(np.float32)).flatten()  # (patch^2,)
    q = torch.tensor(list(src), dtype=torch.long)
    k = torch.tensor(list(src.values()), dtype=torch.long)
    laid = torch.zeros_like(patches)
    laid[:, q] = patches[:, k] * win.repeat(3)[:, None]
    weight = torch.zeros(patch * patch, h * w)
    weight[:, q] = (win**2)[:, None]
    size = (H + 2 * pad, W + 2 * pad)
    out = F.fold(laid[None], size, patch, stride=s)[0] / F.fold(weight[None], size, patch, stride=s)[0].clamp_min(1e-6).sqrt()
    if pad:
        out = out[:, pad:-pad, pad:-pad]
    return out.permute(1, 2, 0).numpy()


class AggregatingPipeline:
    """An :class:`InpaintPipeline` whose fill gets the copied high band (what ``evaluate``
    calls: ``pipe(image, mask, method=..., strategy=..., postprocess=...)``)."""

    def __init__(self, pipe: InpaintPipeline, gain: float, sigma: float, patch: int, coherence: float) -> None:
        self.pipe, self.gain, self.sigma, self.patch, self.coherence = pipe, gain, sigma, patch, coherence
        self.bundle_info = pipe.bundle_info
        self.feats: torch.Tensor | None = None
        # The pipeline runs its folded inference copy of the network; read the features there.
        net = pipe._folded.get(pipe.net, pipe._dtype)
        net.layers[ATTENTION_AFTER].register_forward_hook(lambda m, i, o: setattr(self, "feats", o.detach()))

    def __call__(self, image: np.ndarray, mask: np.ndarray, **kw: str) -> np.ndarray:
        out = self.pipe(image, mask, **kw)
        if self.gain == 0:
            return out
        hole = np.asarray(mask) > 0
        x = np.asarray(image).astype(np.float32) / 255.0
        band = aggregate(x, hole, self.feats[0], self.sigma, self.patch, self.coherence)
        y = np.asarray(out).astype(np.float32) / 255.0 + self.gain * band * hole[..., None]
        return (np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a bundle folder or a shipped model's name")
    p.add_argument("--data", default="../shared/data/scenes/images")
    p.add_argument("--split", default="train", help="train (tuning) or val (reporting)")
    p.add_argument("--limit", type=int, default=100, help="the first N photos (0 = all)")
    p.add_argument("--families", default="blobs,rect")
    p.add_argument("--gains", default="0,0.6", help="comma-separated; 0 is the network alone")
    p.add_argument("--sigma", type=float, default=3.0)
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--coherence", type=float, default=6.0)
    p.add_argument("--grid", type=Path, default=None, help="a picture of the first 8 photos (with PatchMatch), "
                   "for the first family and the last gain")
    args = p.parse_args(argv)
    pipe = InpaintPipeline.from_pretrained(args.model, precision="fp32")
    gains = [float(g) for g in args.gains.split(",")]
    families = args.families.split(",")
    print("gain | family | hole PSNR | hole L1 | detail | grid peaks 4, 2 px | stripe peak (medians)")
    for gain in gains:
        agg = AggregatingPipeline(pipe, gain, args.sigma, args.patch, args.coherence)
        for fam in families:
            rep = evaluate(model=args.model, data=args.data, masks=fam, limit=args.limit or None, seed=0,
                           methods="glcic", pipeline=agg, split=args.split, progress=False)
            s = family_scores(rep, "glcic")[fam]
            print(f"{gain} | {fam} | {s['hole_psnr']:.2f} | {s['hole_l1']:.4f} | {s['detail_median']:.2f} | "
                  f"{s['grid_peak_4_median']:.2f}, {s['grid_peak_2_median']:.2f} | {s['stripe_peak_median']:.2f}", flush=True)
    if args.grid is not None:
        evaluate(model=args.model, data=args.data, masks=families[0], limit=8, seed=0, methods="glcic,patchmatch",
                 pipeline=agg, split=args.split, progress=False, grid=args.grid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
