"""Batch norm + ReLU on the C kernels computes what BatchNorm2d followed by ReLU computes."""

import copy
import logging
import platform

import pytest
import torch
from torch import nn

from glcic import native
from glcic.models import fused
from glcic.models.fused import bn_relu, fusable, run_sequence

needs_kernels = pytest.mark.skipif(native.library() is None, reason="no C compiler: the fused kernels are not built")

CL = torch.channels_last


def _pair(c: int, momentum: float | None, seed: int = 0) -> tuple[nn.BatchNorm2d, nn.BatchNorm2d]:
    """Two identical batch-norm layers with non-trivial affine terms and running statistics."""
    g = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm2d(c, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(c, generator=g) * 0.5)
        bn.running_mean.copy_(torch.randn(c, generator=g))
        bn.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    return bn, copy.deepcopy(bn)


def _maps(shape, dtype, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """A channels-last input with an offset mean (cancellation-prone) and an upstream gradient."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g) * 2 + 3).to(dtype).contiguous(memory_format=CL)
    dy = torch.randn(shape, generator=g).to(dtype).contiguous(memory_format=CL)
    return x, dy


def _run(bn, x, dy, fused_path: bool):
    x = x.clone().requires_grad_()
    y = bn_relu(bn, x) if fused_path else torch.relu(bn(x))
    y.backward(dy)
    return y.detach(), x.grad, bn.weight.grad, bn.bias.grad


@needs_kernels
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(4, 16, 8, 8), (3, 40, 5, 7), (2, 64, 20, 20)])
def test_fused_float32_matches_batchnorm_then_relu(shape, momentum, threads):
    """Tolerance: float32 rounding (sums in another order): 1e-5 relative to the largest value."""
    ref, bn = _pair(shape[1], momentum)
    x, dy = _maps(shape, torch.float32)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(2):  # the second step moves the running statistics again (momentum None: 1/2)
            want = _run(ref, x, dy, fused_path=False)
            got = _run(bn, x, dy, fused_path=True)
            ref.zero_grad(), bn.zero_grad()
    finally:
        torch.set_num_threads(before)
    for g, w in zip(got, want, strict=True):
        assert torch.allclose(g, w, rtol=0, atol=1e-5 * w.abs().max().item())
    for name in ("running_mean", "running_var"):
        assert torch.allclose(getattr(bn, name), getattr(ref, name), rtol=1e-5, atol=1e-6), name
    assert int(bn.num_batches_tracked) == int(ref.num_batches_tracked) == 2


@needs_kernels
@pytest.mark.parametrize("shape", [(4, 16, 8, 8), (2, 64, 20, 20)])
def test_fused_bfloat16_matches_batchnorm_then_relu_within_bf16_rounding(shape):
    """bf16 maps, float32 parameters (what autocast hands the layer).

    Tolerance: outputs and input gradients within 2 bf16 units in the last place of the
    largest value (one rounding of the output, one of the input each side); parameter
    gradients and running statistics within 1e-3 relative (float32 sums of bf16 values).
    """
    ref, bn = _pair(shape[1], 0.1)
    x, dy = _maps(shape, torch.bfloat16)
    want = _run(ref, x, dy, fused_path=False)
    got = _run(bn, x, dy, fused_path=True)
    assert got[0].dtype == got[1].dtype == torch.bfloat16
    assert got[2].dtype == got[3].dtype == torch.float32
    for g, w in list(zip(got, want, strict=True))[:2]:
        ulp = 2.0 ** -7 * w.float().abs().max().item()
        assert (g.float() - w.float()).abs().max().item() <= 2 * ulp
    for g, w in list(zip(got, want, strict=True))[2:]:
        assert torch.allclose(g, w, rtol=0, atol=1e-3 * w.abs().max().item())
    for name in ("running_mean", "running_var"):
        assert torch.allclose(getattr(bn, name), getattr(ref, name), rtol=1e-3, atol=1e-5), name


@needs_kernels
def test_fused_leaves_frozen_parameters_without_gradients():
    ref, bn = _pair(16, 0.1)
    for m in (ref, bn):
        m.requires_grad_(False)
    x, dy = _maps((4, 16, 6, 6), torch.float32)
    got, want = _run(bn, x, dy, fused_path=True), _run(ref, x, dy, fused_path=False)
    assert got[2] is None and got[3] is None
    assert torch.allclose(got[1], want[1], atol=1e-5)


@needs_kernels
def test_run_sequence_fuses_only_training_mode_channels_last_cpu_maps(monkeypatch):
    calls = []
    real = fused.bn_relu
    monkeypatch.setattr(fused, "bn_relu", lambda bn, x: calls.append(1) or real(bn, x))
    torch.manual_seed(0)
    block = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
    plain = copy.deepcopy(block)
    x = torch.randn(2, 3, 8, 8)

    out = run_sequence(block.to(memory_format=CL), x.contiguous(memory_format=CL))
    assert len(calls) == 1
    assert torch.allclose(out, plain(x), atol=1e-5)

    run_sequence(plain, x)  # channels-first weights and maps: the modules themselves
    block.eval()
    run_sequence(block, x.contiguous(memory_format=CL))  # eval mode: running statistics, no fusion
    assert len(calls) == 1


def test_fusable_refuses_what_the_kernels_do_not_compute():
    x = torch.randn(2, 8, 4, 4).contiguous(memory_format=CL)
    assert not fusable(nn.BatchNorm2d(8).eval(), x)
    assert not fusable(nn.BatchNorm2d(8, affine=False), x)
    assert not fusable(nn.BatchNorm2d(8, track_running_stats=False), x)
    assert not fusable(nn.SyncBatchNorm(8), x)
    assert not fusable(nn.BatchNorm2d(8), x.contiguous())
    assert not fusable(nn.BatchNorm2d(8), x.double().contiguous(memory_format=CL))
    assert not fusable(nn.BatchNorm2d(8), torch.randn(1, 8, 1, 1))  # one value per channel: BN refuses it


def test_without_a_compiler_the_plain_modules_run(monkeypatch, tmp_path, caplog):
    """No compiler: a warning, library() is None, and run_sequence gives BatchNorm2d + ReLU's result."""
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("GLCIC_CACHE", str(tmp_path / "cache"))
    native.library.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="glcic.native"):
            assert native.library() is None
        assert "plain PyTorch" in caplog.text
        block = nn.Sequential(nn.BatchNorm2d(4), nn.ReLU())
        x = torch.randn(2, 4, 5, 5).contiguous(memory_format=CL)
        assert not fusable(block[0], x)
        assert torch.equal(run_sequence(block, x), torch.relu(copy.deepcopy(block)[0](x)))
    finally:
        native.library.cache_clear()


def test_glcic_native_0_turns_the_kernels_off(monkeypatch):
    monkeypatch.setenv("GLCIC_NATIVE", "0")
    native.library.cache_clear()
    try:
        assert native.library() is None
    finally:
        native.library.cache_clear()


@needs_kernels
def test_the_library_is_built_once_and_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("GLCIC_CACHE", str(tmp_path))
    native.library.cache_clear()
    try:
        assert native.library() is not None
        built = sorted(p.name for p in (tmp_path / "native").iterdir())
        assert len(built) == 1 and built[0].startswith("glcic-native-") and built[0].endswith(".so")
    finally:
        native.library.cache_clear()


@needs_kernels
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="-mno-avx512bf16 is an x86 flag")
def test_the_portable_kernels_match_too(tmp_path, monkeypatch):
    """Built without AVX512-BF16 (CPUs without it run the plain C loops), the results are the same."""
    import shutil

    path = tmp_path / "portable.so"
    native.build(path, shutil.which("cc") or "gcc", ("-mno-avx512bf16",))
    monkeypatch.setattr(native, "library", lambda: native.load(path))
    for dtype in (torch.float32, torch.bfloat16):
        ref, bn = _pair(40, 0.1)
        x, dy = _maps((2, 40, 6, 10), dtype)
        want = _run(ref, x, dy, fused_path=False)
        got = _run(bn, x, dy, fused_path=True)
        for g, w in zip(got, want, strict=True):
            tol = 1e-5 if dtype == torch.float32 else 2 * 2.0**-7
            assert (g.float() - w.float()).abs().max() <= tol * w.float().abs().max()


@needs_kernels
def test_a_nan_in_the_map_shows_in_the_output_as_with_batchnorm_then_relu():
    """A diverged value must not be hidden: its channel's statistics, and so its outputs, are NaN."""
    for dtype in (torch.float32, torch.bfloat16):
        ref, bn = _pair(16, 0.1)
        x, dy = _maps((2, 16, 4, 4), dtype)
        x[1, 3, 2, 2] = float("nan")
        want = _run(ref, x, dy, fused_path=False)
        got = _run(bn, x, dy, fused_path=True)
        assert torch.equal(got[0].isnan(), want[0].isnan()) and got[0][:, 3].isnan().all()
        assert torch.equal(got[1].isnan(), want[1].isnan())
