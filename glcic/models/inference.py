"""An inference copy of the completion network: batch norm folded into the convolutions.

The dependency runs one way: this module imports :mod:`glcic.models.completion`, never the
reverse. Build a copy with :func:`inference_copy`.

In eval mode a batch-norm layer is an affine map per channel, ``y = s * z + t`` with
``s = gamma / sqrt(running_var + eps)`` and ``t = beta - s * running_mean``, so it can be
folded into the convolution before it (weights scaled by ``s`` along the output
channels, bias ``s * b + t``). The copy computes the same function as the network in
eval mode, with one pass over each feature map instead of three (convolution, batch
norm, ReLU): on the CPU the ReLU (and the output sigmoid or tanh) runs inside oneDNN's
convolution (``torch.ops.mkldnn._convolution_pointwise``), elsewhere right after it.

With ``model.upsample: resize`` each upsampling block (a nearest 2x resize, then a 3x3
convolution) is folded into one 4x4 transposed convolution of stride 2 that computes the
same values from the small feature map: 16 multiply-adds a small pixel per channel pair
instead of 36, as fast as the transposed convolutions of ``model.upsample: deconv``.

Weights are folded in float64 and stored in the dtype the copy will run in (bf16 under
the pipeline's autocast on CPUs with native bf16), channels_last, so that no call casts
a weight. The copy is a snapshot for inference only (no gradients flow through oneDNN's
fused ops): build it again after the weights change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from glcic.models.completion import CompletionNetwork, check_input_size, residual_output, run_layers

# A nearest 2x resize followed by a 3x3 convolution (padding 1), seen from the small image:
# output row 2i reads input rows i-1 (tap 0) and i (taps 1 + 2), output row 2i+1 rows i
# (taps 0 + 1) and i+1 (tap 2). As a transposed convolution of stride 2 and padding 1, whose
# kernel index is t = o - 2i + 1, that is the 4-tap kernel below, one per axis.
RESIZE_TAPS = torch.tensor(
    [[0, 0, 1],  # t = 0: input row i+1 of output row 2i+1
     [0, 1, 1],  # t = 1: input row i of output row 2i
     [1, 1, 0],  # t = 2: input row i of output row 2i+1
     [1, 0, 0]],  # t = 3: input row i-1 of output row 2i
    dtype=torch.float64,
)  # fmt: skip

ACTIVATIONS = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "none": lambda y: y}


class FoldedConv(nn.Module):
    """One block of the completion network (conv or deconv, batch norm, activation) as one op.

    Args:
        block: a ``nn.Sequential`` of an optional ``Upsample`` (``model.upsample: resize``),
            ``Conv2d`` or ``ConvTranspose2d``, an optional ``BatchNorm2d`` and the activation
            (``ReLU``, ``Sigmoid`` or ``Tanh``).
        dtype: the dtype to store the folded weights in (``None``: float32).
    """

    def __init__(self, block: nn.Sequential, dtype: torch.dtype | None) -> None:
        super().__init__()
        first, *rest = list(block)
        # model.upsample=resize: a nearest-neighbour resize before the convolution.
        upsample = isinstance(first, nn.Upsample)
        conv = rest.pop(0) if upsample else first
        bn = next((m for m in rest if isinstance(m, nn.BatchNorm2d)), None)
        # The last block of a residual network (model.residual) has no activation.
        acts = [m for m in rest if not isinstance(m, nn.BatchNorm2d)]
        self.act = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}[type(acts[-1])] if acts else "none"
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.stride, self.padding, self.dilation = list(conv.stride), list(conv.padding), list(conv.dilation)
        self.output_padding = list(getattr(conv, "output_padding", (0, 0)))
        if upsample and (
            (first.mode, float(first.scale_factor)) != ("nearest", 2.0)
            or (conv.kernel_size, conv.stride, conv.padding, conv.dilation) != ((3, 3), (1, 1), (1, 1), (1, 1))
        ):
            raise ValueError(f"a resize block folds only a nearest 2x resize and a 3x3 convolution of stride 1 and "
                             f"padding 1, got {first} and {conv}")
        w = conv.weight.detach().double()  # conv (out, in, k, k); deconv (in, out, k, k)
        out_ch = w.shape[1] if self.transposed else w.shape[0]
        b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(out_ch, dtype=torch.float64)
        if bn is not None:
            s = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)  # (out,)
            shape = (1, -1, 1, 1) if self.transposed else (-1, 1, 1, 1)
            w = w * s.view(shape)
            b = s * (b - bn.running_mean.double()) + bn.bias.detach().double()
        if upsample:
            # model.upsample=resize: the nearest 2x resize and the 3x3 convolution are one
            # 4x4 transposed convolution of stride 2 (RESIZE_TAPS), exactly: 16 taps a
            # low-resolution pixel instead of 36 at the doubled resolution.
            w = torch.einsum("ya,xb,oiab->ioyx", RESIZE_TAPS, RESIZE_TAPS, w)  # (in, out, 4, 4)
            self.transposed = True
            self.stride, self.padding, self.output_padding = [2, 2], [1, 1], [0, 0]
        dtype = dtype or torch.float32
        self.register_buffer("weight", w.to(dtype).contiguous(memory_format=torch.channels_last))
        # The bias stays float32: oneDNN adds it to its float32 sums (mean error against fp32
        # at 512²: 0.0018 with a float32 bias, 0.0022 with a bf16 one; autocast: 0.0015).
        self.register_buffer("bias", b.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight.dtype)
        if x.device.type == "cpu" and torch.backends.mkldnn.is_available():
            # oneDNN applies the activation to the convolution's output in place.
            if self.transposed:
                return torch.ops.mkldnn._convolution_transpose_pointwise(
                    x, self.weight, self.bias, self.padding, self.output_padding, self.stride, self.dilation, 1,
                    self.act, [], "",
                )
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, self.padding, self.stride, self.dilation, 1, self.act, [], ""
            )
        bias = self.bias.to(x.dtype)
        if self.transposed:
            y = F.conv_transpose2d(x, self.weight, bias, self.stride, self.padding, self.output_padding, 1, self.dilation)
        else:
            y = F.conv2d(x, self.weight, bias, self.stride, self.padding, self.dilation)
        return ACTIVATIONS[self.act](y)


def inference_copy(net: CompletionNetwork, dtype: torch.dtype | None = None) -> InferenceCompletionNetwork:
    """A snapshot of ``net`` in eval mode with batch norm folded into the convolutions.

    Computes what ``net.eval()`` computes (same call and shapes), faster: one pass per
    layer, the activation inside the convolution on the CPU, weights stored in ``dtype``
    (``None``: float32) and channels_last. Build it again after the weights change.
    """
    return InferenceCompletionNetwork(net, dtype).eval()


class InferenceCompletionNetwork(nn.Module):
    """The completion network in eval mode, batch norm folded (see the module docstring).

    Build it with :func:`inference_copy`. Same call as the
    network: ``(x (B, 3, H, W), mask (B, 1, H, W), 1 = hole) -> (B, 3, H, W)`` in the
    model's value range, in the copy's dtype.
    """

    def __init__(self, net: CompletionNetwork, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.cfg = net.cfg
        self.layers = nn.ModuleList(FoldedConv(block, dtype) for block in net.layers)
        # model.attention: a snapshot of the branch, in the copy's dtype (it has no batch norm to fold).
        self.attention = None if net.attention is None else copy.deepcopy(net.attention).to(dtype or torch.float32)
        device = next(net.parameters()).device
        self.to(device)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        check_input_size(x)
        h = torch.cat([x, mask.to(x.dtype)], dim=1)  # (B, 4, H, W)
        h = h.to(self.layers[0].weight.dtype).contiguous(memory_format=torch.channels_last)
        y = run_layers(self.layers, h, self.cfg.skip, self.attention, mask)  # (B, 3, H, W)
        return residual_output(y, x, mask, self.cfg.keep_thin).to(y.dtype) if self.cfg.residual else y


@dataclass
class FrozenCopy:
    """An inference copy of a network, rebuilt when the network's weights or statistics change.

    The pipeline runs one network for many calls, and training's discriminator phase runs
    the frozen completion network thousands of times with the same weights: the folded copy
    (:func:`inference_copy`) computes the same outputs in one pass per layer,
    and is rebuilt only when a parameter or buffer changed in place or was replaced.
    """

    net: torch.nn.Module | None = None
    key: tuple = ()

    def get(self, net: CompletionNetwork, dtype: torch.dtype | None) -> torch.nn.Module:
        # Every in-place change (optimizer step, load_state_dict, batch-norm update) bumps _version.
        key = (dtype, *((id(t), t._version) for t in (*net.parameters(), *net.buffers())))
        if self.net is None or key != self.key:
            self.net, self.key = inference_copy(net, dtype), key
        return self.net
