"""The folded inference copy computes what the network computes in eval mode."""

import pytest
import torch

from glcic.config import ModelConfig
from glcic.errors import InputError
from glcic.models import CompletionNetwork
from glcic.models.inference import FoldedConv, InferenceCompletionNetwork, inference_copy


def _trained_looking(cfg: ModelConfig, seed: int = 0) -> CompletionNetwork:
    """A small network whose batch-norm layers hold non-trivial statistics and affine terms."""
    torch.manual_seed(seed)
    net = CompletionNetwork(cfg)
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.2)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)
    if cfg.residual:  # its last conv starts at zero: give it something to compute
        net.layers[-1][0].weight.data.copy_(torch.randn(net.layers[-1][0].weight.shape, generator=g) * 0.1)
    return net.eval()


def _inputs(size: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, size, size, generator=g)  # (2, 3, S, S)
    m = torch.zeros(2, 1, size, size)  # (2, 1, S, S), 1 = hole
    m[..., size // 4 : size // 2, size // 3 : 3 * size // 4] = 1
    return x * (1 - m) + 0.5 * m, m


CONFIGS = [
    ModelConfig(width=0.125, dilations=[2, 4, 8, 8]),  # sigmoid, batch norm, no skips (the shipped layout)
    ModelConfig(width=0.125, output="tanh", skip=True, dilations=[1, 2, 2, 4]),  # the report's head and skips
    ModelConfig(width=0.125, norm="none", dilations=[1, 2, 2, 4]),  # conv biases, nothing to fold
    ModelConfig(width=0.125, skip=True, residual=True, dilations=[1, 2, 2, 4]),  # a correction of the input
    ModelConfig(width=0.125, output="tanh", residual=True, dilations=[1, 2, 2, 4]),
    # model.upsample=resize: FoldedConv folds the nearest resize and the 3x3 conv into one transposed conv.
    ModelConfig(width=0.125, upsample="resize", dilations=[2, 4, 8, 8]),
    ModelConfig(width=0.125, upsample="resize", skip=True, residual=True, dilations=[1, 2, 2, 4]),  # scenes-like
    ModelConfig(width=0.125, upsample="resize", output="tanh", norm="none", dilations=[1, 2, 2, 4]),
    ModelConfig(width=0.125, skip=True, residual=True, keep_thin=1, dilations=[1, 2, 2, 4]),  # thin parts keep x
]
IDS = ["shipped", "tanh-skip", "no-norm", "residual", "tanh-residual", "resize", "resize-skip-residual",
       "resize-tanh-no-norm", "residual-keep-thin"]
RESIZE = [i for i, c in enumerate(CONFIGS) if c.upsample == "resize"]


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@pytest.mark.parametrize("size", [32, 44])
def test_fp32_copy_matches_the_eval_network(cfg, size):
    net = _trained_looking(cfg)
    x, m = _inputs(size)
    with torch.no_grad():
        ref = net(x, m)  # (2, 3, S, S)
        out = inference_copy(net)(x, m)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("index", [1, *RESIZE], ids=[IDS[1], *(IDS[i] for i in RESIZE)])
def test_fallback_without_onednn_matches(monkeypatch, index):
    """Off the CPU (or without oneDNN) the copy runs plain conv + activation: same function."""
    net = _trained_looking(CONFIGS[index])
    x, m = _inputs(32)
    copy = inference_copy(net)
    with torch.no_grad():
        fused = copy(x, m)
        monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
        plain = copy(x, m)
    torch.testing.assert_close(plain, fused, atol=2e-5, rtol=1e-4)


def test_bf16_copy_stays_within_bf16_noise_of_fp32():
    """bf16 weights, channels_last, as the pipeline runs it: no further from fp32 than autocast is.

    Tolerance: the mean absolute error against the fp32 network is at most twice that of
    the network under bf16 autocast (measured ~1.3x on the shipped model), and below 0.01.
    """
    net = _trained_looking(CONFIGS[0])
    x, m = _inputs(64)
    copy = inference_copy(net, torch.bfloat16)
    assert copy.layers[0].weight.dtype == torch.bfloat16
    assert copy.layers[0].weight.is_contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        ref = net(x, m)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            amp = net(x.contiguous(memory_format=torch.channels_last), m).float()
            out = copy(x.contiguous(memory_format=torch.channels_last), m)
    assert out.dtype == torch.bfloat16
    err, amp_err = (out.float() - ref).abs().mean(), (amp - ref).abs().mean()
    assert err < 0.01 and err <= 2 * amp_err, (err, amp_err)


def test_copy_is_a_frozen_snapshot():
    net = _trained_looking(CONFIGS[0])
    x, m = _inputs(32)
    copy = inference_copy(net)
    assert isinstance(copy, InferenceCompletionNetwork) and not copy.training
    assert list(copy.parameters()) == []  # buffers only: nothing to train by mistake
    with torch.no_grad():
        before = copy(x, m)
        for p in net.parameters():
            p.add_(0.1)
        torch.testing.assert_close(copy(x, m), before, atol=0, rtol=0)


def test_copy_checks_its_input_like_the_network():
    copy = inference_copy(_trained_looking(CONFIGS[0]))
    with pytest.raises(InputError, match="multiples of 4"):
        copy(torch.rand(1, 3, 30, 32), torch.zeros(1, 1, 30, 32))


@pytest.mark.parametrize("index", RESIZE, ids=[IDS[i] for i in RESIZE])
def test_resize_copy_folds_the_upsampling_layers_and_matches_within_bf16_rounding(index):
    """model.upsample=resize: each resize + 3x3 conv runs as one stride-2 transposed conv; bf16 as the pipeline runs it.

    Tolerance as test_bf16_copy_stays_within_bf16_noise_of_fp32's: mean absolute error against the
    fp32 network at most twice that of the network under bf16 autocast, and below 0.01.
    """
    net = _trained_looking(CONFIGS[index])
    copy = inference_copy(net, torch.bfloat16)
    assert [i for i, layer in enumerate(copy.layers) if layer.transposed] == [12, 14]
    assert all(copy.layers[i].weight.shape[-2:] == (4, 4) and copy.layers[i].stride == [2, 2] for i in (12, 14))
    x, m = _inputs(64)
    with torch.inference_mode():
        ref = net(x, m)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            amp = net(x.contiguous(memory_format=torch.channels_last), m).float()
            out = copy(x.contiguous(memory_format=torch.channels_last), m)
    assert out.shape == ref.shape
    err, amp_err = (out.float() - ref).abs().mean(), (amp - ref).abs().mean()
    assert err < 0.01 and err <= 2 * amp_err, (err, amp_err)


def test_resize_fold_is_the_resize_then_the_conv_exactly():
    """RESIZE_TAPS: a nearest 2x resize then a 3x3 conv (padding 1) is one 4x4 transposed conv of stride 2.

    In float64 on random weights and an odd-sized input (its border rows and columns included)
    the two agree to rounding; a wrong tap would differ by the weights' own size.
    """
    g = torch.Generator().manual_seed(3)
    conv = torch.nn.Conv2d(5, 7, 3, padding=1, bias=False).double()
    conv.weight.data.copy_(torch.randn(conv.weight.shape, generator=g, dtype=torch.float64))
    block = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), conv, torch.nn.ReLU())
    folded = FoldedConv(block, torch.float64)
    x = torch.randn(2, 5, 7, 9, generator=g, dtype=torch.float64)
    with torch.no_grad():
        ref = block(x)  # (2, 7, 14, 18)
        out = torch.nn.functional.relu(
            torch.nn.functional.conv_transpose2d(x, folded.weight, folded.bias.double(), stride=2, padding=1)
        )
    assert folded.transposed and folded.weight.shape == (5, 7, 4, 4)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-12)


def test_resize_fold_refuses_a_conv_it_cannot_fold():
    block = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), torch.nn.Conv2d(4, 4, 5, padding=2))
    with pytest.raises(ValueError, match="3x3 convolution of stride 1 and padding 1"):
        FoldedConv(block, None)
    bilinear = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Conv2d(4, 4, 3, padding=1))
    with pytest.raises(ValueError, match="nearest 2x resize"):
        FoldedConv(bilinear, None)
