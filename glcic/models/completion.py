"""The completion network (Iizuka et al. 2017, Sec. 3.1, Table 1).

A fully convolutional encoder-decoder that works at 1/4 resolution in the
middle, with four dilated convolutions (dilation 2, 4, 8, 16) that widen the
receptive field without losing resolution, and two deconvolutions back up
(``model.upsample: resize``: nearest-neighbour resizes, each followed by a 3x3
convolution, instead). ``model.attention`` adds a contextual attention branch at the
middle (:mod:`glcic.models.attention`).

Input: an image with holes pre-filled by the dataset mean pixel, plus a binary
mask channel (1 = hole). Output: an image of the same size in the configured
value range (sigmoid -> [0, 1] as in the paper, tanh -> [-1, 1] as in the
report). Only the hole of the output is used: see :func:`composite`. With
``model.residual`` the output is the pre-filled input plus a correction
(:func:`residual_output`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from glcic.config import ModelConfig
from glcic.errors import InputError
from glcic.models.attention import ContextualAttention
from glcic.models.casts import run_module
from glcic.models.dilated import dilated_conv
from glcic.models.dilated import eligible as dilated_eligible
from glcic.models.fused import run_sequence


@dataclass(frozen=True)
class LayerSpec:
    """One row of the paper's Table 1 (channels at width 1)."""

    kind: str  # "conv", "dilated", "deconv", "output"
    kernel: int
    stride: int  # 2 for the deconvolutions means "stride 1/2" (upsampling)
    dilation: int
    channels: int


def layer_table(dilations: tuple[int, ...] | list[int] = (2, 4, 8, 16)) -> list[LayerSpec]:
    """The completion network's 17 layers, as in Table 1 of the paper."""
    d = list(dilations)
    return [
        LayerSpec("conv", 5, 1, 1, 64),
        LayerSpec("conv", 3, 2, 1, 128),
        LayerSpec("conv", 3, 1, 1, 128),
        LayerSpec("conv", 3, 2, 1, 256),
        LayerSpec("conv", 3, 1, 1, 256),
        LayerSpec("conv", 3, 1, 1, 256),
        LayerSpec("dilated", 3, 1, d[0], 256),
        LayerSpec("dilated", 3, 1, d[1], 256),
        LayerSpec("dilated", 3, 1, d[2], 256),
        LayerSpec("dilated", 3, 1, d[3], 256),
        LayerSpec("conv", 3, 1, 1, 256),
        LayerSpec("conv", 3, 1, 1, 256),
        LayerSpec("deconv", 4, 2, 1, 128),
        LayerSpec("conv", 3, 1, 1, 128),
        LayerSpec("deconv", 4, 2, 1, 64),
        LayerSpec("conv", 3, 1, 1, 32),
        LayerSpec("output", 3, 1, 1, 3),
    ]


# FCN-style skip links (report; Long et al. 2015): encoder layer index -> decoder
# layer index whose output has the same resolution and channel count. The
# encoder features are added to the decoder's after its activation.
SKIP_LINKS = {2: 12, 0: 14}


ATTENTION_AFTER = 11
"""``model.attention``: the contextual attention branch runs on the output of this layer (the
last convolution at 1/4 resolution, before the decoder)."""


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class CompletionNetwork(nn.Module):
    """The paper's completion network.

    Args:
        cfg: architecture (width multiplier, output activation, skip links,
            normalisation, dilations).

    Shapes:
        x: (B, 3, H, W) image in ``cfg.value_range`` with holes filled by the
        mean pixel; mask: (B, 1, H, W) in {0, 1}, 1 = hole. H and W must be
        multiples of 4 (the network halves the resolution twice).
        Returns (B, 3, H, W) in ``cfg.value_range``.
    """

    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ModelConfig()
        self.table = layer_table(cfg.dilations)
        layers = []
        in_ch = 4  # RGB + mask
        for i, spec in enumerate(self.table):
            out_ch = 3 if spec.kind == "output" else _scaled(spec.channels, cfg.width)
            last = spec.kind == "output"
            block: list[nn.Module] = []
            if spec.kind == "deconv" and cfg.upsample == "resize":
                # Resize-convolution (Odena et al. 2016): every output pixel gets the same
                # number of kernel taps, so no checkerboard; same receptive field as the deconv.
                block.append(nn.Upsample(scale_factor=2, mode="nearest"))
                conv: nn.Module = nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=cfg.norm == "none")
            elif spec.kind == "deconv":
                conv = nn.ConvTranspose2d(
                    in_ch, out_ch, spec.kernel, stride=spec.stride, padding=1, bias=last or cfg.norm == "none"
                )
            else:
                pad = spec.dilation * (spec.kernel - 1) // 2
                conv = nn.Conv2d(
                    in_ch,
                    out_ch,
                    spec.kernel,
                    stride=spec.stride,
                    padding=pad,
                    dilation=spec.dilation,
                    bias=last or cfg.norm == "none",
                )
            block.append(conv)
            if not last:
                if cfg.norm == "batch":
                    block.append(nn.BatchNorm2d(out_ch))
                block.append(nn.ReLU(inplace=True))
            elif cfg.residual:
                # No activation: residual_output adds the correction to the pre-filled input.
                # Zero weights: the untrained network returns its pre-filled input.
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)
            else:
                block.append(nn.Sigmoid() if cfg.output == "sigmoid" else nn.Tanh())
            layers.append(nn.Sequential(*block))
            in_ch = out_ch
            del i
        self.layers = nn.ModuleList(layers)
        channels = _scaled(self.table[ATTENTION_AFTER].channels, cfg.width)
        self.attention = ContextualAttention(channels) if cfg.attention else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        check_input_size(x)
        h = torch.cat([x, mask.to(x.dtype)], dim=1)  # (B, 4, H, W)
        y = run_layers(self.layers, h, self.cfg.skip, self.attention, mask)  # (B, 3, H, W)
        return residual_output(y, x, mask, self.cfg.keep_thin) if self.cfg.residual else y


def run_layers(
    layers: nn.ModuleList,
    h: torch.Tensor,
    skip: bool,
    attention: nn.Module | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Table 1's layers in order on ``h`` (B, 4, H, W), with the skip links when ``skip`` and
    the contextual attention branch (``model.attention``, given the (B, 1, H, W) ``mask``)
    after layer :data:`ATTENTION_AFTER`."""
    saved: dict[int, torch.Tensor] = {}
    for i, layer in enumerate(layers):
        h = run_sequence(layer, h, _conv) if isinstance(layer, nn.Sequential) else layer(h)
        if attention is not None and i == ATTENTION_AFTER:
            h = attention(h, mask)  # (B, C, H/4, W/4)
        if skip:
            if i in SKIP_LINKS:
                saved[SKIP_LINKS[i]] = h
            elif i in saved:
                h = h + saved.pop(i)
    return h  # (B, 3, H, W)


def _conv(module: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """One module of a layer; dilated convolutions on small maps take the faster backward."""
    return dilated_conv(module, h) if dilated_eligible(module, h) else run_module(module, h)


def erode_hole(mask: torch.Tensor, times: int = 1) -> torch.Tensor:
    """The hole without its rim, ``times`` px of it: (B, 1, H, W) float, 1 where a hole pixel is
    more than ``times`` px (chessboard distance) from every known pixel. Each step is a 3x3
    min-pool; the image's border counts as unknown (a hole touching it is not eroded there)."""
    hole = (mask > 0.5).float()
    for _ in range(times):
        hole = -F.max_pool2d(-hole, 3, stride=1, padding=1)  # 0 where any neighbour is known
    return hole


def open_hole(mask: torch.Tensor, half_width: int) -> torch.Tensor:
    """The hole without its parts at most ``2 * half_width`` px wide: (B, 1, H, W) float, 1 on the
    hole pixels some (2 half_width + 1)-px square inside the hole covers (the morphological
    opening; the image's border counts as unknown, as in :func:`erode_hole`)."""
    k = 2 * half_width + 1
    return F.max_pool2d(erode_hole(mask, half_width), k, stride=1, padding=half_width)


def residual_output(r: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None, keep_thin: int = 0) -> torch.Tensor:
    """``model.residual``'s output: the pre-filled input plus the correction ``r``, ``x + r``.

    Linear, with no activation: every pixel gets the full gradient, including pre-fill
    pixels at the ends of the value range (a biharmonic fill overshoots and is clipped
    there: about 7 % of the hole pixels of a blob hole on the scene photos, up to half in
    some). An earlier form, sigmoid(logit(x) + r), froze those pixels (the sigmoid's slope
    at logit(1/512) is 0.002) and left coloured blotches in large holes (and lost 0.7 dB on
    the face ablation's centred square; docs/ablations.md). The output can leave the value
    range by a little; the pipeline clamps it when it converts to pixels. Computed in float32.

    With ``keep_thin`` (``model.keep_thin``) the hole's parts up to twice that many pixels wide
    (outside :func:`open_hole` of ``mask``), and the known pixels, keep ``x``.

    Args:
        r: (B, 3, H, W) the last layer's convolution, before any activation.
        x: (B, 3, H, W) the network's pre-filled input, in the model's value range.
        mask: (B, 1, H, W), 1 = hole; needed with ``keep_thin``.
        keep_thin: half the widest hole part that keeps the pre-fill, px (0 = none).
    """
    if not keep_thin:
        return x.float() + r.float()
    assert mask is not None, "keep_thin needs the mask"
    return x.float() + r.float() * open_hole(mask, keep_thin)


def check_input_size(x: torch.Tensor) -> None:
    """Raise InputError unless x is (B, 3, H, W) with H and W multiples of 4."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"expected an image batch of shape (B, 3, H, W); got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % 4 or w % 4 or h < 4 or w < 4:
        raise InputError(
            f"the completion network takes heights and widths that are multiples of 4 (it halves the "
            f"resolution twice); got {h}x{w}. Pad the image (InpaintPipeline does this for you)."
        )


def fill_holes(image: torch.Tensor, mask: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Replace hole pixels by the dataset mean pixel (the network's input convention).

    Args:
        image: (B, 3, H, W) in the model's value range.
        mask: (B, 1, H, W) in {0, 1}, 1 = hole.
        mean: (3,) mean pixel in the model's value range.
    """
    return image * (1 - mask) + mean.view(1, 3, 1, 1).to(image) * mask  # (B, 3, H, W)


def composite(output: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Network output inside the hole, the original outside (exactly).

    ``torch.where`` keeps the known pixels bit-identical, which a blend
    ``out * m + img * (1 - m)`` would not guarantee in low precision.
    """
    return torch.where(mask.bool(), output.to(image.dtype), image)  # (B, 3, H, W)


def receptive_field_bounds(position: int, dilations: tuple[int, ...] | list[int] = (2, 4, 8, 16)) -> tuple[int, int]:
    """First and last input index (along one axis) that output index ``position`` depends on.

    Walks the layer table backwards. A stride-2 conv maps output o to inputs
    [2o - pad, 2o - pad + d(k - 1)]; a stride-1/2 deconvolution (kernel 4, padding 1)
    maps output o to inputs [ceil((o - 2) / 2), floor((o + 1) / 2)]. Because of the
    down- and up-sampling, the extent depends on the position modulo 4.
    """
    a = b = position
    for spec in reversed(layer_table(dilations)):
        if spec.kind == "deconv":
            a, b = -((2 - a) // 2), (b + 1) // 2
        else:
            pad = spec.dilation * (spec.kernel - 1) // 2
            a, b = a * spec.stride - pad, b * spec.stride - pad + spec.dilation * (spec.kernel - 1)
    return a, b


def receptive_field(dilations: tuple[int, ...] | list[int] = (2, 4, 8, 16)) -> int:
    """Largest receptive field (input pixels along one axis) over output positions.

    With the paper's dilations an output pixel sees 299 or 303 pixels, depending on
    its position modulo 4.
    """
    return max(b - a + 1 for a, b in (receptive_field_bounds(p, dilations) for p in range(1000, 1004)))
