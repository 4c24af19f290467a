"""Dilated convolutions on small maps: the faster backward computes what the convolution computes."""

import pytest
import torch
from torch import nn

from glcic.config import ModelConfig
from glcic.models import CompletionNetwork
from glcic.models import completion as completion_module
from glcic.models.dilated import dilated_conv, eligible

CL = torch.channels_last


def _conv(c_in: int, c_out: int, d: int) -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(c_in, c_out, 3, padding=d, dilation=d, bias=False).to(memory_format=CL)


@pytest.mark.parametrize(
    "h,w,d",
    [(16, 16, 8), (8, 8, 8), (8, 6, 16), (32, 32, 16), (12, 16, 8), (9, 7, 5)],
    ids=["d8-16x16", "centre-only", "centre-only-wide-d", "d16-32x32", "oblong", "odd"],
)
def test_dilated_conv_matches_the_convolution(h, w, d):
    """Tolerance: float32 rounding (the weight gradient sums in another order): 1e-5 of the largest value."""
    conv = _conv(8, 6, d)
    x = torch.randn(3, 8, h, w).contiguous(memory_format=CL).requires_grad_()
    assert eligible(conv, x)
    ref = conv(x)
    want = torch.autograd.grad(ref.square().sum(), (x, conv.weight))
    out = dilated_conv(conv, x)
    got = torch.autograd.grad(out.square().sum(), (x, conv.weight))
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5 * ref.abs().max().item())
    for g, r in zip(got, want, strict=True):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-5 * r.abs().max().item())
    assert got[1].is_contiguous(memory_format=CL)


def test_dilated_conv_under_bf16_autocast_matches_within_bf16_rounding():
    """Tolerance: 2 % of the largest value (bf16 inputs, float32 sums on both sides)."""
    conv = _conv(32, 16, 8)
    x = torch.randn(4, 32, 16, 16).contiguous(memory_format=CL).requires_grad_()
    results = []
    for f in (conv, lambda z: dilated_conv(conv, z)):
        with torch.autocast("cpu", torch.bfloat16):
            y = f(x)
        results.append((y, *torch.autograd.grad(y.float().square().sum(), (x, conv.weight))))
    for got, want in zip(results[1], results[0], strict=True):
        assert got.dtype == want.dtype
        assert (got.float() - want.float()).abs().max() <= 0.02 * want.float().abs().max()


def test_only_small_maps_for_their_dilation_are_eligible():
    x16 = torch.randn(1, 8, 16, 16).contiguous(memory_format=CL)
    assert eligible(_conv(8, 8, 8), x16)
    assert not eligible(_conv(8, 8, 4), x16)  # oneDNN is faster there
    assert not eligible(_conv(8, 8, 8), torch.randn(1, 8, 40, 40).contiguous(memory_format=CL))
    assert not eligible(_conv(8, 8, 8), x16.contiguous())
    assert not eligible(nn.Conv2d(8, 8, 3, padding=8, dilation=8), x16)  # with a bias
    with torch.no_grad():
        assert not eligible(_conv(8, 8, 8), x16)  # inference: the plain convolution


def test_the_completion_network_uses_it_where_eligible(monkeypatch):
    """face64's middle layers (16x16 maps at 64 px, dilation 8) train through it; the result is unchanged."""
    calls = []
    real = completion_module.dilated_conv
    monkeypatch.setattr(completion_module, "dilated_conv", lambda m, h: calls.append(m.dilation[0]) or real(m, h))
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, dilations=[2, 4, 8, 8])).to(memory_format=CL)
    x = torch.rand(2, 3, 64, 64).contiguous(memory_format=CL)
    m = torch.zeros(2, 1, 64, 64).contiguous(memory_format=CL)
    out = net(x, m)
    assert calls == [8, 8]
    monkeypatch.setattr(completion_module, "dilated_eligible", lambda *a: False)
    torch.testing.assert_close(out, net(x, m), rtol=0, atol=1e-5)
