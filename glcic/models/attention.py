"""Contextual attention (``model.attention``): the hole's features copied from the known region.

Not in the paper. DeepFill v1 (Yu et al., CVPR 2018, "Generative Image Inpainting with
Contextual Attention"), this paper's direct successor, adds to its refinement network a layer
that fills each hole position's features with a weighted mix of the known positions'
features, weighted by how alike they are, so that texture is copied from the photo rather
than synthesised from the mean. Here that layer is a branch at the completion network's
middle (1/4 resolution, after Table 1's twelfth layer), added back to the features:

    scores[q, k] = scale * cos(h[q], h[k])          for every known position k
    a = softmax_k(scores)                            (B, HW, HW'), in float32
    h <- h + W @ (a @ h)                             W a 1x1 convolution, zero at the start

Differences from DeepFill v1, and why:
- 1x1 feature patches instead of 3x3 (and no 2x downsampling of the background): the same
  matrix products, 9x cheaper; the 3x3 conv after the branch sees each copied patch's
  neighbourhood anyway.
- A residual branch whose output convolution starts at zero: a network warm-started from
  one without the branch (``glcic train --init-from``) computes the same function at step 0.
- No attention propagation ("fuse") step.

A position is known when none of the 4x4 input pixels it covers is a hole; a query with no
known position at all (the whole map is hole) gets a zero update. Queries run in chunks, so
memory grows with the map's area times :data:`CHUNK`, not with its square.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SCALE = 10.0
"""Softmax temperature on the cosine similarities (DeepFill v1's ``softmax_scale``)."""
CHUNK = 1024
"""Query positions per matrix product (about 4 MB of scores per 1,024 known positions)."""


class ContextualAttention(nn.Module):
    """``h + W (softmax(scale * cos(h, h_known)) h_known)`` on a (B, C, h, w) map.

    Args:
        channels: C, the map's channels.
        stride: input pixels per map position along each axis (4 at the network's middle).

    Shapes:
        h: (B, C, h, w); mask: (B, 1, h * stride, w * stride) in {0, 1}, 1 = hole.
        Returns (B, C, h, w).
    """

    def __init__(self, channels: int, stride: int = 4) -> None:
        super().__init__()
        self.stride = stride
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = h.shape
        known = 1.0 - F.max_pool2d(mask.float(), self.stride)  # (B, 1, h, w), 1 = fully known
        if known.shape[-2:] != (hh, ww):
            raise ValueError(
                f"contextual attention: the mask ({tuple(mask.shape[-2:])}) does not cover the map "
                f"({hh}x{ww}) at stride {self.stride}"
            )
        feats = h.float().flatten(2)  # (B, C, N)
        unit = F.normalize(feats, dim=1)  # (B, C, N)
        valid = known.flatten(2) > 0.5  # (B, 1, N)
        bias = torch.where(valid, 0.0, -1e4)  # (B, 1, N): hole keys get no weight
        rows = []
        for q0 in range(0, hh * ww, CHUNK):
            q = unit[:, :, q0 : q0 + CHUNK]  # (B, C, n)
            scores = SCALE * torch.bmm(q.transpose(1, 2), unit) + bias  # (B, n, N)
            rows.append(torch.bmm(feats, torch.softmax(scores, dim=-1).transpose(1, 2)))  # (B, C, n)
        copied = torch.cat(rows, dim=2) * valid.any(dim=2, keepdim=True)  # (B, C, N); 0 with nothing known
        copied = copied.view(b, c, hh, ww).to(h.dtype).contiguous(memory_format=torch.channels_last)
        return h + self.out(copied)  # (B, C, h, w)
