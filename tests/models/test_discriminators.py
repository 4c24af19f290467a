import pytest
import torch

from glcic.config import ModelConfig
from glcic.errors import InputError
from glcic.models import ContextDiscriminator, GlobalDiscriminator, LocalDiscriminator
from glcic.models.discriminators import num_convs


@pytest.mark.parametrize("size,n", [(256, 6), (128, 5), (160, 6), (80, 5), (64, 4), (32, 3)])
def test_number_of_convs_follows_input_size(size, n):
    # The paper: 6 convs for the 256 px global, 5 for the 128 px local discriminator.
    assert num_convs(size) == n
    d = GlobalDiscriminator(size, 0.125, "batch")
    convs = [m for m in d.convs if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == n
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)


def test_paper_channels_and_feature_size():
    d = GlobalDiscriminator(256, 1.0, "batch")
    convs = [m for m in d.convs if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 512, 512]
    assert d.fc.out_features == 1024
    local = LocalDiscriminator(128, 1.0, "batch")
    assert [c.out_channels for c in local.convs if isinstance(c, torch.nn.Conv2d)] == [64, 128, 256, 512, 512]


def test_report_sizes_parameter_count():
    # 160 px image, 80 px patch: 37.7 M parameters (MEASUREMENTS.md).
    n = sum(p.numel() for p in ContextDiscriminator(160, 80).parameters())
    assert abs(n - 37.7e6) / 37.7e6 < 0.01


def test_context_discriminator_outputs_and_aux_head():
    torch.manual_seed(0)
    d = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125, attributes=40))
    logit, attrs = d(torch.rand(3, 3, 64, 64), torch.rand(3, 3, 32, 32))
    assert logit.shape == (3,)
    assert attrs.shape == (3, 40)
    d2 = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125))
    assert d2(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 32, 32))[1] is None


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    d = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125, attributes=5))
    logit, attrs = d(torch.rand(4, 3, 64, 64), torch.rand(4, 3, 32, 32))
    (logit.sum() + attrs.sum()).backward()
    for name, p in d.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_wrong_input_size_is_refused():
    d = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125))
    with pytest.raises(InputError, match=r"expects \(B, 3, 32, 32\)"):
        d(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 30, 30))


@pytest.mark.parametrize("native_kernels", [True, False], ids=["native-col2im", "torch-col2im"])
@pytest.mark.parametrize("size,bias", [(5, False), (10, True), (6, False)])
def test_conv_as_matmul_is_the_convolution(size, bias, native_kernels, monkeypatch):
    """The late layers' matrix-product form: same outputs and gradients as F.conv2d (fp32)."""
    from glcic import native
    from glcic.models.discriminators import conv2d_as_matmul

    if native_kernels and native.library() is None:
        pytest.skip("no C compiler: the native kernels are not built")
    if not native_kernels:
        monkeypatch.setattr(native, "library", lambda: None)

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(256, 32, 5, stride=2, padding=2, bias=bias).to(memory_format=torch.channels_last)
    x = torch.randn(3, 256, size, size).contiguous(memory_format=torch.channels_last).requires_grad_()
    ref = conv(x)
    (gx_ref, gw_ref) = torch.autograd.grad(ref.square().sum(), (x, conv.weight))
    out = conv2d_as_matmul(x, conv)
    assert out.shape == ref.shape and out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    (gx, gw) = torch.autograd.grad(out.square().sum(), (x, conv.weight))
    assert gx.is_contiguous(memory_format=torch.channels_last)
    assert gw.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(gx, gx_ref, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(gw, gw_ref, atol=1e-3, rtol=1e-4)


def test_conv_as_matmul_under_bf16_autocast_is_the_convolution_within_bf16_rounding():
    """Tolerance: 2 % of the largest value (bf16 inputs and weights, float32 sums on both sides)."""
    from glcic.models.discriminators import conv2d_as_matmul

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(256, 64, 5, stride=2, padding=2, bias=True).to(memory_format=torch.channels_last)
    x = torch.randn(4, 256, 10, 10).contiguous(memory_format=torch.channels_last).requires_grad_()
    results = []
    for f in (conv, lambda z: conv2d_as_matmul(z, conv)):
        with torch.autocast("cpu", torch.bfloat16):
            y = f(x)
        results.append((y, *torch.autograd.grad(y.float().square().sum(), (x, conv.weight, conv.bias))))
    for got, want in zip(results[1], results[0], strict=True):
        assert got.dtype == want.dtype
        assert (got.float() - want.float()).abs().max() <= 0.02 * want.float().abs().max()


def test_only_small_maps_with_many_channels_run_as_matmul(monkeypatch):
    """Late layers with many channels and tiny outputs take the matmul form (MATMUL_SHAPES); others don't."""
    from glcic.models import discriminators

    calls = []
    real = discriminators.conv2d_as_matmul
    monkeypatch.setattr(discriminators, "conv2d_as_matmul", lambda x, c: calls.append(tuple(x.shape[1:])) or real(x, c))
    d = LocalDiscriminator(80, 1.0, "batch")
    with torch.no_grad():
        d(torch.rand(2, 3, 80, 80))
    assert calls == [(128, 20, 20), (256, 10, 10), (512, 5, 5)]
    calls.clear()
    with torch.no_grad():
        LocalDiscriminator(32, 0.5, "batch")(torch.rand(2, 3, 32, 32))  # face64's: 64 channels into 4x4
    assert calls == [(64, 8, 8)]
    calls.clear()
    with torch.no_grad():
        GlobalDiscriminator(64, 0.5, "batch")(torch.rand(2, 3, 64, 64))  # 64 channels into 8x8: a convolution
    assert calls == [(128, 8, 8)]
