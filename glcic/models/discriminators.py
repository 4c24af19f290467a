"""Context discriminators (Iizuka et al. 2017, Sec. 3.2, Table 2).

The global discriminator sees the whole (completed) image, the local one a
patch centred on the hole. Each ends in a fully connected layer with 1024
outputs; the two vectors are concatenated and a last fully connected layer
gives one real/fake logit (the paper's sigmoid is folded into the loss).
An optional auxiliary head on the concatenated 2048-d features predicts K
attribute logits (the report's semi-supervised discriminator).

Not in the paper: ``model.discriminator: patch`` replaces the pair by an SN-PatchGAN
(Yu et al. 2019, DeepFill v2), :class:`PatchDiscriminator`. Both give every block's
feature maps (``run``) for the feature-matching loss (``train.fm_weight``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.utils.parametrizations import spectral_norm

from glcic import native
from glcic.config import ModelConfig, patch_scale_fits
from glcic.errors import InputError
from glcic.models.casts import autocast_weight, run_module
from glcic.models.fused import run_sequence

CHANNELS = (64, 128, 256, 512, 512, 512)
# Convolutions that run as one matrix product (:func:`conv2d_as_matmul`): (at least this
# many input channels, at most this many output pixels). Measured faster there, forward
# and backward (512 channels into 3x3: 3.3-3.8x; 256 into 10x10: 1.4x; 128 into 10x10 and
# 64 into 4x4: 1.3x), slower on larger maps or fewer channels (docs/benchmarks.md).
MATMUL_SHAPES = ((128, 100), (64, 16))


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
        self.blocks: list[tuple[int, int]] = []  # each convolution's (first, end) index in self.convs
        in_ch, s = 3, size
        for i in range(num_convs(size)):
            out_ch = max(1, int(round(CHANNELS[min(i, len(CHANNELS) - 1)] * width)))
            start = len(layers)
            layers.append(nn.Conv2d(in_ch, out_ch, 5, stride=2, padding=2, bias=norm == "none"))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.ReLU(inplace=True))
            self.blocks.append((start, len(layers)))
            in_ch, s = out_ch, (s + 1) // 2
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(in_ch * s * s, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[0]

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, 1024) features, and the map after each convolution block (for feature matching)."""
        check_square(self, x, self.size)
        maps = []
        h = x
        for a, b in self.blocks:
            h = run_sequence(self.convs[a:b], h, _conv_or_matmul)  # (B, C_i, s_i, s_i)
            maps.append(h)
        return torch.relu(run_module(self.fc, h.flatten(1))), maps  # (B, 1024)


def check_square(module: nn.Module, x: torch.Tensor, size: int) -> None:
    """Raise InputError unless ``x`` is (B, 3, size, size)."""
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[-2:] != (size, size):
        raise InputError(f"{type(module).__name__} expects (B, 3, {size}, {size}); got {tuple(x.shape)}")


def _conv_or_matmul(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return conv2d_as_matmul(x, layer) if _as_matmul(layer, x) else run_module(layer, x)


def _as_matmul(layer: nn.Module, x: torch.Tensor) -> bool:
    if not isinstance(layer, nn.Conv2d) or x.device.type != "cpu":  # measured on CPUs only
        return False
    (k, _), (s, _), (p, _) = layer.kernel_size, layer.stride, layer.padding
    out = (x.shape[-1] + 2 * p - k) // s + 1
    return any(x.shape[1] >= c and out * out <= n for c, n in MATMUL_SHAPES)


def conv2d_as_matmul(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv(x)`` as one matrix product over the gathered windows (im2col), for small output maps.

    The same sums as the convolution, in another order. oneDNN's kernels reach about a
    tenth of the CPU's bf16 peak on the discriminators' late layers (5x5 kernels, stride 2,
    outputs of 5x5 or less: mostly padding), its weight gradient less still; a plain matrix
    product runs them several times faster, forward and backward (docs/benchmarks.md).
    Square kernels, no dilation, no groups.

    Args:
        x: (B, C, H, W), best channels_last. Returns (B, C_out, H', W'), channels_last.
    """
    w, bias = conv.weight, conv.bias  # (C_out, C, k, k), (C_out,) or None
    if torch.is_autocast_enabled(x.device.type):  # matmul would cast, but the gather comes first
        dtype = torch.get_autocast_dtype(x.device.type)
        x, w = x.to(dtype), autocast_weight(w)
        bias = None if bias is None else bias.to(dtype)
    with torch.autocast(x.device.type, enabled=False):
        return _ConvAsMatmul.apply(x, w, bias, conv.stride[0], conv.padding[0])


def _windows(xh: torch.Tensor, k: int, s: int) -> torch.Tensor:
    """(B, Hp, Wp, C) padded maps -> (B, H', W', k, k, C) view of every window."""
    return xh.unfold(1, k, s).unfold(2, k, s).permute(0, 1, 2, 4, 5, 3)


class _ConvAsMatmul(torch.autograd.Function):
    """im2col + GEMM forward; backward: two GEMMs, the windows' gradients summed back by :func:`_col2im`."""

    @staticmethod
    def forward(ctx, x, w, bias, stride: int, pad: int):  # noqa: D102
        b, c, h, wd = x.shape
        co, k = w.shape[0], w.shape[-1]
        xh = F.pad(x.permute(0, 2, 3, 1), (0, 0, pad, pad, pad, pad))  # (B, H + 2p, W + 2p, C)
        win = _windows(xh, k, stride)  # (B, H', W', k, k, C)
        ho, wo = win.shape[1], win.shape[2]
        cols = win.reshape(b * ho * wo, k * k * c)  # (B H' W', k k C), a copy
        wm = w.permute(0, 2, 3, 1).reshape(co, k * k * c)  # (C_out, k k C)
        out = cols @ wm.t() if bias is None else torch.addmm(bias, cols, wm.t())  # (B H' W', C_out)
        ctx.save_for_backward(cols, wm)
        ctx.geometry = (b, c, h, wd, ho, wo, k, stride, pad)
        return out.view(b, ho, wo, co).permute(0, 3, 1, 2)  # (B, C_out, H', W'), channels_last

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # noqa: D102
        cols, wm = ctx.saved_tensors
        b, c, h, wd, ho, wo, k, s, pad = ctx.geometry
        g = grad.to(cols.dtype).permute(0, 2, 3, 1).reshape(b * ho * wo, -1)  # (B H' W', C_out)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _col2im((g @ wm).view(b, ho, wo, k, k, c), h, wd, s, pad)  # (B, H, W, C)
            gx = gx.permute(0, 3, 1, 2)  # (B, C, H, W), channels_last
        if ctx.needs_input_grad[1]:
            gw = (g.t() @ cols).view(-1, k, k, c).permute(0, 3, 1, 2)  # (C_out, C, k, k), channels_last
        if ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return gx, gw, gb, None, None


def _col2im(gcols: torch.Tensor, h: int, w: int, s: int, pad: int) -> torch.Tensor:
    """(B, H', W', k, k, C) gradients of the windows -> (B, H, W, C) of the input, summed in float32.

    On the native kernel (:mod:`glcic.native`) where it is built, else tap by tap in torch.
    """
    b, ho, wo, k, _, c = gcols.shape
    lib = native.library() if gcols.device.type == "cpu" else None
    if lib is not None and gcols.dtype in (torch.float32, torch.bfloat16) and gcols.is_contiguous():
        out = torch.empty(b, h, w, c, dtype=gcols.dtype)
        status = lib.col2im_nhwc(
            gcols.data_ptr(), out.data_ptr(), int(gcols.dtype == torch.bfloat16),
            b, h, w, c, ho, wo, k, s, pad, torch.get_num_threads(),
        )
        if status:
            raise MemoryError("the native col2im kernel could not allocate its work space")
        return out
    dtype, gcols = gcols.dtype, gcols.float()
    acc = torch.zeros(b, h + 2 * pad, w + 2 * pad, c)  # (B, Hp, Wp, C)
    for i in range(k):  # each tap's gradient lands on a strided slice
        for j in range(k):
            acc[:, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s] += gcols[:, :, :, i, j]
    return acc[:, pad : pad + h, pad : pad + w].to(dtype).contiguous()


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
        image: (B, 3, S, S), patch: (B, 3, L, L), both in the model's value range; mask
        (B, 1, S, S) accepted for :class:`PatchDiscriminator`'s call and not read.
        Returns (logit (B,), attribute logits (B, K) or None).
    """

    def __init__(self, image_size: int, local_size: int, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or ModelConfig()
        self.global_d = GlobalDiscriminator(image_size, cfg.disc_width, cfg.norm)
        self.local_d = LocalDiscriminator(local_size, cfg.disc_width, cfg.norm)
        self.fc = nn.Linear(2048, 1)
        self.aux = nn.Linear(2048, cfg.attributes) if cfg.attributes > 0 else None

    def forward(
        self, image: torch.Tensor, patch: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        logit, attrs, _ = self.run(image, patch, mask)
        return logit, attrs

    def run(
        self, image: torch.Tensor, patch: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor]]:
        """:meth:`forward`'s logit and attribute logits, and every block's map of both towers.
        ``mask`` is not read: the paper's pair finds the hole through the local patch."""
        del mask
        g, g_maps = self.global_d.run(image)
        loc, l_maps = self.local_d.run(patch)
        feats = torch.cat([g, loc], dim=1)  # (B, 2048)
        logit = run_module(self.fc, feats).squeeze(1)  # (B,)
        attrs = run_module(self.aux, feats) if self.aux is not None else None  # (B, K)
        return logit, attrs, [*g_maps, *l_maps, g, loc]


PATCH_CHANNELS = (64, 128, 256, 256, 256, 256)
"""SN-PatchGAN's channels at width 1 (Yu et al. 2019, DeepFill v2)."""


class PatchDiscriminator(nn.Module):
    """SN-PatchGAN (``model.discriminator: patch``): one logit per region of the whole image.

    5x5 stride-2 convolutions (64, 128, 256, 256, 256 ... channels at width 1) with spectral
    norm (Miyato et al. 2018; plain with ``model.spectral_norm: false``) and leaky ReLU
    (0.2), no batch norm, until the map is at most
    4x4; every value of the last map is a logit whose receptive field covers most of the
    image. As in DeepFill v2, the input is the image and its hole mask (4 channels: the
    discriminator is told where the fill is, as the context pair is by its local patch),
    and it is trained with the hinge loss (``train.gan_loss: hinge``). Same call as
    :class:`ContextDiscriminator`; the local patch is not used.

    Shapes:
        image: (B, 3, S, S) in the model's value range; mask: (B, 1, S, S), 1 = hole (the
        training step passes each image's completion mask, the same for the real image and
        its completion). Returns (logits (B, N), None).
    """

    def __init__(self, image_size: int, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or ModelConfig()
        self.size = image_size
        self.scale = cfg.patch_scale  # model.patch_scale: it reads the image pooled by this
        if not patch_scale_fits(image_size, self.scale):
            raise ValueError(f"patch_scale {self.scale} must divide the image size {image_size} and leave at least 8 px")
        # Inputs centred on 0 in [-1, 1] (as DeepFill v2's): with no batch norm to centre them,
        # [0, 1] images and a 0/1 mask made the first layer's responses mostly their mean,
        # and the discriminator learned a blurred hole from the photo some 5x slower.
        lo, hi = cfg.value_range
        self.centre, self.half = (lo + hi) / 2, (hi - lo) / 2
        convs = []
        in_ch = 4  # RGB and the mask
        for i in range(num_convs(image_size // self.scale)):
            out_ch = max(1, int(round(PATCH_CHANNELS[min(i, len(PATCH_CHANNELS) - 1)] * cfg.disc_width)))
            conv = nn.Conv2d(in_ch, out_ch, 5, stride=2, padding=2)
            convs.append(spectral_norm(conv) if cfg.spectral_norm else conv)
            in_ch = out_ch
        self.convs = nn.ModuleList(convs)

    def forward(
        self, image: torch.Tensor, patch: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, None]:
        logits, _, _ = self.run(image, patch, mask)
        return logits, None

    def run(
        self, image: torch.Tensor, patch: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, None, list[torch.Tensor]]:
        """:meth:`forward`'s logits, and the map after every convolution but the last."""
        del patch
        check_square(self, image, self.size)
        if mask is None or mask.shape[-2:] != image.shape[-2:] or mask.shape[:2] != (image.shape[0], 1):
            got = None if mask is None else tuple(mask.shape)
            raise ValueError(
                f"the patch discriminator needs each image's hole mask, (B, 1, H, W) = "
                f"{(image.shape[0], 1, *image.shape[-2:])}; got {got}"
            )
        maps = []
        if self.scale > 1:  # the layout at 1/scale: an area mean, and a hole wherever one pixel is
            image, mask = F.avg_pool2d(image, self.scale), F.max_pool2d(mask.to(image.dtype), self.scale)
        h = torch.cat([(image - self.centre) / self.half, mask.to(image.dtype) * 2 - 1], dim=1)  # (B, 4, S, S) in [-1, 1]
        for i, conv in enumerate(self.convs):
            h = conv(h)  # (B, C_i, s_i, s_i)
            if i < len(self.convs) - 1:
                h = F.leaky_relu(h, 0.2)
                maps.append(h)
        return h.flatten(1), None, maps  # (B, C s s)


def build_discriminator(image_size: int, local_size: int, cfg: ModelConfig) -> nn.Module:
    """The discriminator ``model.discriminator`` names: the paper's context pair or SN-PatchGAN."""
    if cfg.discriminator == "patch":
        return PatchDiscriminator(image_size, cfg)
    return ContextDiscriminator(image_size, local_size, cfg)
