import pytest
import torch

from glcic.config import ModelConfig
from glcic.errors import InputError
from glcic.models import (
    ContextDiscriminator,
    GlobalDiscriminator,
    LocalDiscriminator,
    PatchDiscriminator,
    build_discriminator,
)
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


# --------------------------------------------------------------------------- run(): the maps for feature matching


def _reference_context_forward(d: ContextDiscriminator, image: torch.Tensor, patch: torch.Tensor) -> torch.Tensor:
    """The context discriminator as it was before run(): each tower's nn.Sequential, FC, ReLU; the joint FC."""
    g = torch.relu(d.global_d.fc(d.global_d.convs(image).flatten(1)))  # (B, 1024)
    loc = torch.relu(d.local_d.fc(d.local_d.convs(patch).flatten(1)))  # (B, 1024)
    return d.fc(torch.cat([g, loc], dim=1)).squeeze(1)  # (B,)


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_context_forward_is_unchanged_and_is_run_without_the_maps(norm):
    """run() added the maps; forward still computes the towers' Sequential + FC of the paper."""
    torch.manual_seed(0)
    d = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.5, norm=norm, attributes=3)).eval()
    image, patch = torch.rand(3, 3, 64, 64), torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        logit, attrs = d(image, patch)
        run_logit, run_attrs, maps = d.run(image, patch)
        want = _reference_context_forward(d, image, patch)
    torch.testing.assert_close(logit, want, atol=1e-5, rtol=1e-5)
    assert torch.equal(logit, run_logit) and torch.equal(attrs, run_attrs)


def test_context_run_gives_every_block_of_both_towers_then_their_features():
    """Maps: each conv block's output (after BN + ReLU) of the global tower, then of the local one,
    then the two towers' 1024-d features: what the joint FC reads."""
    torch.manual_seed(0)
    d = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125)).eval()
    image, patch = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        _, _, maps = d.run(image, patch)
        # The same maps, block by block through each tower's plain Sequential.
        want, h = [], image
        for i in range(4):  # 64 px: 4 blocks of conv, BN, ReLU
            h = d.global_d.convs[3 * i : 3 * i + 3](h)
            want.append(h)
        g = torch.relu(d.global_d.fc(h.flatten(1)))
        h = patch
        for i in range(3):  # 32 px: 3 blocks
            h = d.local_d.convs[3 * i : 3 * i + 3](h)
            want.append(h)
        want += [g, torch.relu(d.local_d.fc(h.flatten(1)))]
    assert [tuple(m.shape) for m in maps] == [
        (2, 8, 32, 32), (2, 16, 16, 16), (2, 32, 8, 8), (2, 64, 4, 4),  # global: 64, 128, 256, 512 at width 1/8
        (2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4),  # local
        (2, 1024), (2, 1024),
    ]
    for got, ref in zip(maps, want, strict=True):
        torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
        assert (got >= 0).all()  # after the ReLU


def test_context_state_dict_keys_are_unchanged():
    """Old checkpoints load: the towers are still one nn.Sequential each (convs.0 conv, convs.1 BN, convs.2 ReLU, ...)."""
    d = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125))
    want = []
    for tower, n in (("global_d", 4), ("local_d", 3)):
        for i in range(n):
            want.append(f"{tower}.convs.{3 * i}.weight")  # no bias: batch norm follows
            want += [f"{tower}.convs.{3 * i + 1}.{k}" for k in
                     ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]
        want += [f"{tower}.fc.weight", f"{tower}.fc.bias"]
    want += ["fc.weight", "fc.bias"]
    assert list(d.state_dict()) == want
    old = {k: v.clone() for k, v in ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125)).state_dict().items()}
    d.load_state_dict(old)  # strict


def test_context_run_maps_carry_the_gradient_to_every_parameter():
    """Feature matching's path: a loss on the maps alone reaches every conv and FC of both towers."""
    torch.manual_seed(0)
    d = ContextDiscriminator(64, 32, ModelConfig(disc_width=0.125))
    _, _, maps = d.run(torch.rand(4, 3, 64, 64), torch.rand(4, 3, 32, 32))
    sum(m.square().mean() for m in maps).backward()
    for name, p in d.named_parameters():
        if name.startswith("fc."):  # the joint FC is after the maps
            assert p.grad is None, name
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


# --------------------------------------------------------------------------- model.discriminator=patch (SN-PatchGAN)


def _holes(b: int, size: int) -> torch.Tensor:
    """(b, 1, size, size) masks, 1 = hole: a square of half the side at a different place in each."""
    m = torch.zeros(b, 1, size, size)
    for i in range(b):
        top = (i * size // 8) % (size // 2)
        m[i, :, top : top + size // 2, size // 4 : 3 * size // 4] = 1
    return m


def test_patch_discriminator_reads_the_mask_and_refuses_to_run_without_it():
    """As in DeepFill v2 it is told where the fill is: the same image with another mask gets other logits."""
    torch.manual_seed(0)
    d = PatchDiscriminator(64, ModelConfig(disc_width=0.125)).eval()
    assert d.convs[0].in_channels == 4
    image, mask = torch.rand(2, 3, 64, 64), _holes(2, 64)
    with torch.no_grad():
        assert not torch.allclose(d(image, None, mask)[0], d(image, None, mask.flip(-2))[0])
    with pytest.raises(ValueError, match=r"needs each image's hole mask, \(B, 1, H, W\) = \(2, 1, 64, 64\); got None"):
        d(image)
    with pytest.raises(ValueError, match=r"got \(2, 1, 32, 32\)"):
        d(image, None, mask[..., :32, :32])


@pytest.mark.parametrize("size,n_convs,last", [(32, 3, 4), (64, 4, 4), (128, 5, 4)])
def test_patch_logits_are_one_per_region_of_the_last_map(size, n_convs, last):
    """(B, N) logits, N = the last map's channels x its 4x4 regions; the local patch is not read."""
    torch.manual_seed(0)
    d = PatchDiscriminator(size, ModelConfig(disc_width=0.125))
    convs = list(d.convs)
    assert len(convs) == n_convs
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) and c.padding == (2, 2) for c in convs)
    assert [c.out_channels for c in convs] == [8, 16, 32, 32, 32][:n_convs]  # 64, 128, 256, 256, 256 at 1/8
    image, mask = torch.rand(3, 3, size, size), _holes(3, size)
    logits, attrs = d(image, None, mask)
    assert logits.shape == (3, convs[-1].out_channels * last * last) and attrs is None
    d.eval()  # in training mode every call takes a power-iteration step, which moves the logits a little
    with torch.no_grad():
        logits = d(image, None, mask)[0]
        assert torch.equal(d(image, torch.rand(3, 3, 16, 16), mask)[0], logits)


def test_patch_discriminator_has_spectral_norm_and_no_batch_norm():
    from torch.nn.utils import parametrize

    d = PatchDiscriminator(64, ModelConfig(disc_width=0.25, norm="batch"))  # model.norm is the context pair's
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    for conv in d.convs:
        assert parametrize.is_parametrized(conv, "weight")
        assert type(conv.parametrizations.weight[0]).__name__ == "_SpectralNorm"
        assert conv.bias is not None


def test_patch_discriminator_without_spectral_norm_has_plain_convolutions_of_the_same_shapes():
    from torch.nn.utils import parametrize

    sn = PatchDiscriminator(64, ModelConfig(disc_width=0.25))
    plain = PatchDiscriminator(64, ModelConfig(disc_width=0.25, spectral_norm=False))
    assert [c.weight.shape for c in plain.convs] == [c.weight.shape for c in sn.convs]
    assert not any(parametrize.is_parametrized(c, "weight") for c in plain.convs)
    logits, _ = plain(torch.rand(2, 3, 64, 64), None, _holes(2, 64))
    assert logits.shape == sn(torch.rand(2, 3, 64, 64), None, _holes(2, 64))[0].shape


def test_patch_discriminator_at_a_coarser_scale_reads_the_pooled_picture():
    """``model.patch_scale: 2``: the same network as a full-scale one of half the size, on the
    image averaged over 2x2 pixels and the mask set wherever one of them is a hole; so a
    2-px pattern that averages out in each 2x2 cell changes nothing it sees."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    half = PatchDiscriminator(64, ModelConfig(disc_width=0.25, spectral_norm=False, patch_scale=2)).eval()
    small = PatchDiscriminator(32, ModelConfig(disc_width=0.25, spectral_norm=False)).eval()
    assert len(half.convs) == len(small.convs) == num_convs(32)
    small.load_state_dict(half.state_dict())
    x, m = torch.rand(2, 3, 64, 64), _holes(2, 64)
    torch.testing.assert_close(half(x, None, m)[0], small(F.avg_pool2d(x, 2), None, F.max_pool2d(m, 2))[0])
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None]) % 2 * 0.2 - 0.1  # +-0.1, period 2 px
    torch.testing.assert_close(half(x.clamp(0.1, 0.9) + checker, None, m)[0], half(x.clamp(0.1, 0.9), None, m)[0])
    full = PatchDiscriminator(64, ModelConfig(disc_width=0.25, spectral_norm=False)).eval()
    assert not torch.allclose(full(x.clamp(0.1, 0.9) + checker, None, m)[0], full(x.clamp(0.1, 0.9), None, m)[0])
    with pytest.raises(ValueError, match="patch_scale 3 must divide the image size 64"):
        PatchDiscriminator(64, ModelConfig(patch_scale=3))


def test_patch_discriminator_sees_a_picture_alike_in_either_value_range():
    """Its input is centred in [-1, 1] whatever the model's range: a [0, 1] (sigmoid) model's
    picture and the same picture in a tanh model's [-1, 1] give the same logits."""
    torch.manual_seed(0)
    d01 = PatchDiscriminator(64, ModelConfig(disc_width=0.25, spectral_norm=False)).eval()
    d11 = PatchDiscriminator(64, ModelConfig(disc_width=0.25, spectral_norm=False, output="tanh")).eval()
    d11.load_state_dict(d01.state_dict())
    x, m = torch.rand(2, 3, 64, 64), _holes(2, 64)
    torch.testing.assert_close(d01(x, None, m)[0], d11(x * 2 - 1, None, m)[0])
    # and not the raw [0, 1] values: shifting the picture changes the logits
    assert not torch.allclose(d01(x, None, m)[0], d11(x, None, m)[0])


def test_spectral_norm_bounds_each_layer_s_largest_singular_value_near_1():
    """After a few training-mode passes (one power iteration each) every weight, as a (C_out, C_in k k)
    matrix, has largest singular value ~1, whatever its raw scale."""
    torch.manual_seed(0)
    d = PatchDiscriminator(64, ModelConfig(disc_width=0.25))
    with torch.no_grad():
        for conv in d.convs:
            conv.parametrizations.weight.original.mul_(50.0)  # far from 1 before the norm
        for _ in range(15):
            d(torch.rand(2, 3, 64, 64), None, _holes(2, 64))
    for conv in d.convs:
        raw = torch.linalg.matrix_norm(conv.parametrizations.weight.original.flatten(1), ord=2)
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert raw > 10 and sigma.item() == pytest.approx(1.0, abs=0.05), (raw, sigma)


@pytest.mark.parametrize("size", [64, 128])
def test_patch_forward_is_run_without_the_maps_and_the_maps_are_each_conv_but_the_last(size):
    torch.manual_seed(0)
    d = PatchDiscriminator(size, ModelConfig(disc_width=0.125)).eval()  # eval: no power iteration between calls
    image, mask = torch.rand(2, 3, size, size), _holes(2, size)
    with torch.no_grad():
        logits, _ = d(image, None, mask)
        run_logits, attrs, maps = d.run(image, None, mask)
        want, h = [], torch.cat([image * 2 - 1, mask * 2 - 1], dim=1)  # the image and its mask, 4 channels in [-1, 1]
        for conv in d.convs[:-1]:
            h = torch.nn.functional.leaky_relu(conv(h), 0.2)
            want.append(h)
        want_logits = d.convs[-1](h).flatten(1)
    assert torch.equal(logits, run_logits) and attrs is None
    torch.testing.assert_close(logits, want_logits)
    assert len(maps) == len(d.convs) - 1
    assert [tuple(m.shape) for m in maps] == [(2, c.out_channels, size >> (i + 1), size >> (i + 1))
                                              for i, c in enumerate(list(d.convs)[:-1])]
    for got, ref in zip(maps, want, strict=True):
        torch.testing.assert_close(got, ref)
    assert any((m < 0).any() for m in maps)  # leaky ReLU, not ReLU


def test_patch_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    d = PatchDiscriminator(64, ModelConfig(disc_width=0.125))
    logits, _ = d(torch.rand(4, 3, 64, 64), None, _holes(4, 64))
    logits.mean().backward()
    names = [name for name, _ in d.named_parameters()]
    assert len(names) == 2 * len(d.convs)  # each conv's raw weight and bias
    for name, p in d.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_patch_wrong_input_size_is_refused():
    d = PatchDiscriminator(64, ModelConfig(disc_width=0.125))
    with pytest.raises(InputError, match=r"PatchDiscriminator expects \(B, 3, 64, 64\); got \(1, 3, 32, 32\)"):
        d(torch.rand(1, 3, 32, 32))


def test_build_discriminator_follows_the_config():
    assert type(build_discriminator(64, 32, ModelConfig(disc_width=0.125))) is ContextDiscriminator
    patch = build_discriminator(64, 32, ModelConfig(disc_width=0.125, discriminator="patch"))
    assert type(patch) is PatchDiscriminator and patch.size == 64
