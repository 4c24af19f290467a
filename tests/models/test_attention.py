"""The contextual attention branch (model.attention, glcic/models/attention.py)."""

from __future__ import annotations

import pytest
import torch

from glcic.config import ModelConfig
from glcic.models import CompletionNetwork
from glcic.models import attention as attention_mod
from glcic.models.attention import ContextualAttention
from glcic.models.inference import inference_copy


def _map_and_mask(b: int = 2, c: int = 8, side: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    h = torch.rand(b, c, side, side, generator=g)  # (B, C, h, w)
    mask = torch.zeros(b, 1, side * 4, side * 4)
    mask[:, :, 8:20, 4:24] = 1  # positions 2..4 x 1..5 of the map are hole
    return h, mask


def _randomised(att: ContextualAttention, seed: int = 1) -> ContextualAttention:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        att.out.weight.copy_(torch.randn(att.out.weight.shape, generator=g) * 0.1)
        att.out.bias.copy_(torch.randn(att.out.bias.shape, generator=g) * 0.1)
    return att


def test_a_fresh_branch_changes_nothing():
    h, mask = _map_and_mask()
    assert torch.equal(ContextualAttention(8)(h, mask), h)


def test_a_hole_position_copies_the_known_position_it_matches():
    """A query equal (in direction) to one known feature and far from the others takes that feature."""
    c, side = 4, 4
    h = torch.zeros(1, c, side, side)
    h[0, :, :, :] = torch.tensor([1.0, 0, 0, 0]).view(c, 1, 1)  # every position alike ...
    h[0, :, 0, 0] = torch.tensor([0, 3.0, 0, 0])  # ... but one known position, which
    h[0, :, 3, 3] = torch.tensor([0, 1.0, 0, 0])  # the hole position at (3, 3) matches in direction
    mask = torch.zeros(1, 1, side * 4, side * 4)
    mask[:, :, 12:16, 12:16] = 1  # map position (3, 3) is hole
    att = ContextualAttention(c)
    with torch.no_grad():
        att.out.weight.copy_(torch.eye(c).view(c, c, 1, 1))  # the copied features themselves
    out = att(h, mask)
    copied = out[0, :, 3, 3] - h[0, :, 3, 3]
    # softmax over 15 known keys with scale 10: e^10 against 14 * e^0 -> weight ~0.9994 on (0, 0).
    torch.testing.assert_close(copied, torch.tensor([0, 3.0, 0, 0]), atol=3e-3, rtol=0)


def test_hole_keys_get_no_weight():
    """Changing the features at hole positions changes no known-key mix at the other positions."""
    h, mask = _map_and_mask()
    att = _randomised(ContextualAttention(8))
    h2 = h.clone()
    h2[:, :, 2:5, 1:6] += 5.0  # only hole positions
    d = att(h2, mask) - att(h, mask) - (h2 - h)
    known = torch.ones(8, 8, dtype=torch.bool)
    known[2:5, 1:6] = False
    # Known queries see the hole keys nowhere: their update is unchanged.
    assert d[:, :, known].abs().max() < 1e-5


def test_an_all_hole_map_gets_a_zero_update_and_stays_finite():
    h, _ = _map_and_mask()
    mask = torch.ones(2, 1, 32, 32)
    att = _randomised(ContextualAttention(8))
    out = att(h, mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, h + att.out.bias.view(1, -1, 1, 1))


def test_queries_in_chunks_give_the_same_result(monkeypatch):
    h, mask = _map_and_mask(side=8)
    att = _randomised(ContextualAttention(8))
    whole = att(h, mask)
    monkeypatch.setattr(attention_mod, "CHUNK", 5)  # 64 queries in 13 chunks, the last partial
    torch.testing.assert_close(att(h, mask), whole, rtol=1e-5, atol=1e-6)


def test_a_mask_that_does_not_cover_the_map_is_refused():
    h, _ = _map_and_mask()
    with pytest.raises(ValueError, match="does not cover the map"):
        ContextualAttention(8)(h, torch.zeros(2, 1, 16, 16))


def test_the_network_with_the_branch_trains_and_folds():
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, skip=True, attention=True))  # residual's zero output would stop gradients
    _randomised(net.attention)
    x, m = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    m[:, :, 8:20, 8:24] = 1
    net(x, m).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.attention.parameters())
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(inference_copy(net)(x, m), net(x, m), rtol=1e-5, atol=1e-5)


def test_a_fresh_branch_leaves_the_network_unchanged():
    torch.manual_seed(0)
    plain = CompletionNetwork(ModelConfig(width=0.125, skip=True, residual=True)).eval()
    withatt = CompletionNetwork(ModelConfig(width=0.125, skip=True, residual=True, attention=True)).eval()
    missing, unexpected = withatt.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and all(k.startswith("attention.") for k in missing) and missing
    x, m = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    m[:, :, 4:20, 4:20] = 1
    with torch.no_grad():
        assert torch.equal(withatt(x, m), plain(x, m))
