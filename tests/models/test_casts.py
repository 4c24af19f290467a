"""Weights cast once per change: the same values and gradients as autocast's own casts."""

import pytest
import torch
from torch import nn

from glcic.models.casts import autocast_weight, run_module
from glcic.training.optim import make_optimizer

BF16 = torch.bfloat16


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, bias=False),
        lambda: nn.Conv2d(4, 6, 5, stride=2, padding=2),
        lambda: nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, bias=False),
        lambda: nn.Linear(4 * 8 * 8, 6),
    ],
    ids=["dilated-conv", "strided-conv", "deconv", "linear"],
)
def test_run_module_under_autocast_is_the_module_bit_for_bit(make):
    torch.manual_seed(0)
    m = make()
    x = torch.randn(2, 4, 8, 8).requires_grad_()
    if isinstance(m, nn.Linear):
        x = x.flatten(1).detach().requires_grad_()
    results = []
    for f in (m, lambda z: run_module(m, z)):
        with torch.autocast("cpu", BF16):
            y = f(x)
        grads = torch.autograd.grad(y.float().square().sum(), (x, *m.parameters()))
        results.append((y, *grads))
    for got, want in zip(results[1], results[0], strict=True):
        assert got.dtype == want.dtype
        assert torch.equal(got, want)


def test_the_copy_is_reused_until_the_weight_changes():
    w = nn.Parameter(torch.randn(8, 4, 3, 3))
    with torch.autocast("cpu", BF16):
        a, b = autocast_weight(w), autocast_weight(w)
        assert a.dtype == BF16 and torch.equal(a, w.detach().to(BF16))
        assert a.data_ptr() == b.data_ptr()  # reused
        with torch.no_grad():
            w.add_(1.0)  # an in-place change bumps the version
        c = autocast_weight(w)
        assert c.data_ptr() != a.data_ptr() and torch.equal(c, w.detach().to(BF16))
        w.data = torch.randn(8, 4, 3, 3)  # replaced storage
        assert torch.equal(autocast_weight(w), w.detach().to(BF16))


@pytest.mark.parametrize("kind", ["adam", "adadelta"])
def test_an_optimiser_step_invalidates_the_copy(kind):
    conv = nn.Conv2d(4, 8, 3, bias=False).to(memory_format=torch.channels_last)
    opt = make_optimizer(conv.parameters(), kind, 0.1, 0.0, [0.5, 0.999])
    with torch.autocast("cpu", BF16):
        before = autocast_weight(conv.weight)
    conv.weight.grad = torch.randn_like(conv.weight)
    opt.step()
    with torch.autocast("cpu", BF16):
        after = autocast_weight(conv.weight)
    assert not torch.equal(after, before)
    assert torch.equal(after, conv.weight.detach().to(BF16))


def test_outside_autocast_the_weight_is_used_as_it_is():
    m = nn.Conv2d(3, 4, 3)
    x = torch.randn(1, 3, 6, 6)
    assert autocast_weight(m.weight) is m.weight
    assert torch.equal(run_module(m, x), m(x))
