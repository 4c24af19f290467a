"""The fast optimisers compute torch's per-parameter updates."""

import pytest
import torch

from glcic import native
from glcic.training import optim
from glcic.training.optim import FastAdadelta, make_optimizer


def _params(seed: int = 0) -> list[torch.Tensor]:
    """A vector, a channels_last conv weight and a matrix, with gradients from 1 to 1e-8."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(3000,), (64, 32, 3, 3), (200, 50)]
    ps = [torch.randn(s, generator=g).requires_grad_() for s in shapes]
    ps[1] = ps[1].detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    return ps


def _set_grads(ps, qs, g: torch.Generator) -> None:
    for p, q in zip(ps, qs, strict=True):
        grad = torch.randn(p.shape, generator=g) * 10.0 ** -torch.randint(0, 9, p.shape, generator=g)
        p.grad = grad.contiguous(memory_format=torch.channels_last) if p.ndim == 4 else grad
        q.grad = p.grad.clone()


def _copies(ps):
    return [p.detach().clone().requires_grad_() for p in ps]


def _step_both(fast, plain, ps, qs, steps: int, check=None) -> None:
    """``steps`` steps of both optimisers on the same gradients; ``check(p, q)`` after each."""
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        _set_grads(ps, qs, g)
        fast.step()
        plain.step()
        for p, q in zip(ps, qs, strict=True):
            if check is not None:
                check(p, q)


@pytest.mark.parametrize("weight_decay", [0.0, 4e-4])
def test_blocked_adadelta_is_torchs_adadelta_bit_for_bit(monkeypatch, weight_decay):
    """Without the native kernels: torch's operations block by block, bit for bit."""
    monkeypatch.setattr(native, "library", lambda: None)
    monkeypatch.setattr(optim, "BLOCK", 1000)  # several blocks per tensor, and a partial last one
    ps = _params()
    qs = _copies(ps)
    fast = FastAdadelta(ps, lr=1.0, weight_decay=weight_decay)
    plain = torch.optim.Adadelta(qs, lr=1.0, weight_decay=weight_decay, foreach=False)
    _step_both(fast, plain, ps, qs, 4, lambda p, q: torch.testing.assert_close(p, q, rtol=0, atol=0))
    # Same state, so checkpoints move between the two either way.
    a, b = fast.state_dict(), plain.state_dict()
    for i in a["state"]:
        for k in ("step", "square_avg", "acc_delta"):
            assert torch.equal(a["state"][i][k], b["state"][i][k]), (i, k)
    fast.load_state_dict(b)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-4])
def test_fused_adam_is_torchs_adam_and_stays_fused_after_a_resume(weight_decay):
    """Within a float32 rounding of torch's Adam: the fused kernel's vector path may contract a
    multiply and an add into one rounding (bit for bit on the AMX machine; on the AMD EPYC one,
    one element in a few thousand differs). The rounding is of the step (size about lr), so
    the tolerance is a few units of the last place of the step: absolute lr * 2**-21."""
    ps = _params()
    qs = _copies(ps)
    fast = make_optimizer(ps, "adam", 1e-3, weight_decay, [0.5, 0.999])
    plain = torch.optim.Adam(qs, lr=1e-3, betas=(0.5, 0.999), weight_decay=weight_decay, foreach=False)
    assert fast.param_groups[0]["fused"]
    _step_both(fast, plain, ps, qs, 3, lambda p, q: torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-3 * 2**-21))
    fast.load_state_dict(plain.state_dict())  # a checkpoint written without the flag
    assert fast.param_groups[0]["fused"] and not fast.param_groups[0]["foreach"]


@pytest.mark.skipif(native.library() is None, reason="no C compiler: the native kernels are not built")
@pytest.mark.parametrize("weight_decay", [0.0, 4e-4])
def test_native_adadelta_is_torchs_adadelta_within_float32_rounding(weight_decay):
    """Tolerance: 4 steps from the same state stay within 1e-6 (relative) of torch's, state included.

    torch's vectorised square root is off by one unit in the last place for about 0.6 % of
    elements; the kernel's is correctly rounded, so the two are not always bit-identical.
    """
    big = [torch.randn(300_000), torch.randn(64, 128, 3, 3).contiguous(memory_format=torch.channels_last)]
    ps = [*_params(), *(b.requires_grad_() for b in big)]
    qs = _copies(ps)
    fast = FastAdadelta(ps, lr=1.0, weight_decay=weight_decay)
    plain = torch.optim.Adadelta(qs, lr=1.0, weight_decay=weight_decay, foreach=False)
    _step_both(fast, plain, ps, qs, 4)
    for p, q in zip(ps, qs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-9)
        for k in ("square_avg", "acc_delta"):
            torch.testing.assert_close(fast.state[p][k], plain.state[q][k], rtol=1e-5, atol=1e-12)
    assert ps[-1].is_contiguous(memory_format=torch.channels_last)


def test_make_optimizer_picks_the_fast_forms():
    assert isinstance(make_optimizer(_params(), "adadelta", 1.0, 0.0, [0.5, 0.999]), FastAdadelta)
    assert isinstance(make_optimizer(_params(), "adam", 1e-3, 0.0, [0.5, 0.999]), torch.optim.Adam)


def test_blocked_adadelta_refuses_options_it_does_not_implement():
    opt = FastAdadelta(_params(), maximize=True)
    for p in opt.param_groups[0]["params"]:
        p.grad = torch.ones_like(p)
    with pytest.raises(ValueError, match="neither maximize"):
        opt.step()


def test_blocked_adadelta_resumes_bit_for_bit(monkeypatch):
    """Steps after load_state_dict continue exactly as without the interruption."""
    monkeypatch.setattr(optim, "BLOCK", 1000)
    ps, g = _params(), torch.Generator().manual_seed(1)
    qs = _copies(ps)
    straight = FastAdadelta(ps, lr=1.0, weight_decay=4e-4)
    first = FastAdadelta(qs, lr=1.0, weight_decay=4e-4)
    for step in range(4):
        if step == 2:  # "resume": a fresh optimiser from the saved state
            saved = first.state_dict()
            first = FastAdadelta(qs, lr=1.0, weight_decay=4e-4)
            first.load_state_dict(saved)
        _set_grads(ps, qs, g)
        straight.step()
        first.step()
    assert all(torch.equal(p, q) for p, q in zip(ps, qs, strict=True))


@pytest.mark.parametrize("weight_decay", [0.0, 1e-4])
def test_flat_fused_adam_is_torchs_fused_adam_bit_for_bit(weight_decay):
    """The channels-last weight goes to the fused kernel as a flat view: same elements, same update."""
    ps = _params()
    qs = _copies(ps)
    flat = optim.FlatFusedAdam(ps, lr=1e-3, weight_decay=weight_decay, fused=True)
    plain = torch.optim.Adam(qs, lr=1e-3, weight_decay=weight_decay, fused=True)
    _step_both(flat, plain, ps, qs, 3, lambda p, q: torch.testing.assert_close(p, q, rtol=0, atol=0))
    assert ps[1].is_contiguous(memory_format=torch.channels_last)
    assert optim._flat((ps[1], ps[1].grad)) is not None  # the conv weight takes the flat path
    assert optim._flat((ps[0], ps[0].grad)) is None  # contiguous tensors need none


@pytest.mark.parametrize("kind", ["adam", "adadelta"])
def test_optimizer_steps_bump_the_parameters_versions(kind):
    """Caches keyed on ``_version`` (the folded frozen network) must see every update."""
    ps = _params()
    opt = make_optimizer(ps, kind, 1e-3, 0.0, [0.5, 0.999])
    _set_grads(ps, _copies(ps), torch.Generator().manual_seed(1))
    before = [p._version for p in ps]
    opt.step()
    assert all(p._version > v for p, v in zip(ps, before, strict=True))
