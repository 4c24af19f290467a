"""Context discriminators (Iizuka et al. 2017, Sec. 3.2, Table 2).

The global discriminator sees the whole (completed) image, the local one a
patch centred on the hole. Each ends in a fully connected layer with 1024
outputs; the two vectors are concatenated and a last fully connected layer
gives one real/fake logit (the paper's sigmoid is folded into the loss).
An optional auxiliary head on the concatenated 2048-d features predicts K
attribute logits (the report's semi-supervised discriminator).
"""

from __future__ import annotations

import torch
from torch import nn

from glcic.config import ModelConfig
from glcic.errors import InputError

CHANNELS = (64, 128, 256, 512, 512, 512)


def num_convs(size: int) -> int:
    """Stride-2 convs needed so that the last map is at most 4x4.

    Gives the paper's 6 for the 256 px global and 5 for the 128 px local
    discriminator, and 6 / 5 for the report's 160 px image and 80 px patch.
    """
    n, s = 0, size
    while s > 4:
        s = (s + 1) // 2
        n += 1
    return max(n, 1)


class _ConvTower(nn.Module):
    """5x5 stride-2 convs (64, 128, 256, 512, 512, 512, ...) + BN + ReLU, then FC -> 1024."""

    def __init__(self, size: int, width: float, norm: str, features: int = 1024) -> None:
        super().__init__()
        self.size = size
        layers: list[nn.Module] = []
        in_ch, s = 3, size
        for i in range(num_convs(size)):
            out_ch = max(1, int(round(CHANNELS[min(i, len(CHANNELS) - 1)] * width)))
            layers.append(nn.Conv2d(in_ch, out_ch, 5, stride=2, padding=2, bias=norm == "none"))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.ReLU(inplace=True))
            in_ch, s = out_ch, (s + 1) // 2
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(in_ch * s * s, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-2:] != (self.size, self.size):
            raise InputError(
                f"{type(self).__name__} expects (B, 3, {self.size}, {self.size}); got {tuple(x.shape)}"
            )
        h = self.convs(x)  # (B, C, s, s)
        return torch.relu(self.fc(h.flatten(1)))  # (B, 1024)


class GlobalDiscriminator(_ConvTower):
    """Whole image (B, 3, S, S) -> (B, 1024) features."""


class LocalDiscriminator(_ConvTower):
    """Local patch (B, 3, L, L) centred on the hole -> (B, 1024) features."""


class ContextDiscriminator(nn.Module):
    """Global + local discriminators joined by a fully connected layer.

    Args:
        image_size: side of the (square) training images.
        local_size: side of the local patch.
        cfg: ``disc_width``, ``norm`` and ``attributes`` (K > 0 adds the auxiliary head).

    Shapes:
        image: (B, 3, S, S), patch: (B, 3, L, L), both in the model's value range.
        Returns (logit (B,), attribute logits (B, K) or None).
    """

    def __init__(self, image_size: int, local_size: int, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or ModelConfig()
        self.global_d = GlobalDiscriminator(image_size, cfg.disc_width, cfg.norm)
        self.local_d = LocalDiscriminator(local_size, cfg.disc_width, cfg.norm)
        self.fc = nn.Linear(2048, 1)
        self.aux = nn.Linear(2048, cfg.attributes) if cfg.attributes > 0 else None

    def forward(self, image: torch.Tensor, patch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats = torch.cat([self.global_d(image), self.local_d(patch)], dim=1)  # (B, 2048)
        logit = self.fc(feats).squeeze(1)  # (B,)
        attrs = self.aux(feats) if self.aux is not None else None  # (B, K)
        return logit, attrs
