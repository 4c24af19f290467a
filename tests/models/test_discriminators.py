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
