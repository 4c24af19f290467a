import cv2
import numpy as np
import pytest
import torch

from glcic.config import ModelConfig
from glcic.errors import InputError
from glcic.models import (
    CompletionNetwork,
    composite,
    fill_holes,
    layer_table,
    receptive_field,
    receptive_field_bounds,
)
from glcic.models.completion import erode_hole, open_hole

# The paper's Table 1: (type, kernel, stride, dilation, outputs); stride 2 on a
# deconvolution row means the paper's "1/2" (upsampling).
PAPER_TABLE = [
    ("conv", 5, 1, 1, 64),
    ("conv", 3, 2, 1, 128),
    ("conv", 3, 1, 1, 128),
    ("conv", 3, 2, 1, 256),
    ("conv", 3, 1, 1, 256),
    ("conv", 3, 1, 1, 256),
    ("dilated", 3, 1, 2, 256),
    ("dilated", 3, 1, 4, 256),
    ("dilated", 3, 1, 8, 256),
    ("dilated", 3, 1, 16, 256),
    ("conv", 3, 1, 1, 256),
    ("conv", 3, 1, 1, 256),
    ("deconv", 4, 2, 1, 128),
    ("conv", 3, 1, 1, 128),
    ("deconv", 4, 2, 1, 64),
    ("conv", 3, 1, 1, 32),
    ("output", 3, 1, 1, 3),
]


def _conv_of(layer):
    return layer[0]


def test_layer_table_matches_paper():
    table = [(s.kind, s.kernel, s.stride, s.dilation, s.channels) for s in layer_table()]
    assert table == PAPER_TABLE


def test_built_layers_match_table():
    net = CompletionNetwork()
    assert len(net.layers) == 17
    for spec, layer in zip(PAPER_TABLE, net.layers, strict=False):
        kind, k, s, d, c = spec
        conv = _conv_of(layer)
        assert conv.kernel_size == (k, k)
        assert conv.stride == (s, s)
        assert conv.dilation == (d, d)
        assert conv.out_channels == c
        assert isinstance(conv, torch.nn.ConvTranspose2d) == (kind == "deconv")
    assert net.layers[0][0].in_channels == 4  # RGB + mask


def test_batch_norm_after_every_layer_but_last():
    net = CompletionNetwork()
    for layer in net.layers[:-1]:
        assert isinstance(layer[1], torch.nn.BatchNorm2d)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.layers[-1])


def test_parameter_count_full_width():
    n = sum(p.numel() for p in CompletionNetwork().parameters())
    assert abs(n - 6.07e6) / 6.07e6 < 0.01, n


def test_width_multiplier_scales_channels():
    net = CompletionNetwork(ModelConfig(width=0.25))
    assert [_conv_of(layer).out_channels for layer in net.layers][:3] == [16, 32, 32]
    assert _conv_of(net.layers[-1]).out_channels == 3


@pytest.mark.parametrize("output,lo,hi", [("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0)])
def test_output_range(output, lo, hi):
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, output=output))  # train mode: BN normalises
    with torch.no_grad():  # large weights on the last conv push outputs to both ends
        net.layers[-1][0].weight.normal_(0, 100.0)
    y = net(torch.randn(2, 3, 32, 32) * 3, torch.ones(2, 1, 32, 32))
    assert y.min() >= lo and y.max() <= hi
    assert y.min() < lo + 0.01 and y.max() > hi - 0.01


@pytest.mark.parametrize("h,w", [(4, 4), (32, 32), (36, 64), (64, 28), (100, 52)])
@pytest.mark.parametrize("skip", [False, True])
def test_output_shape_equals_input_shape(h, w, skip):
    net = CompletionNetwork(ModelConfig(width=0.125, skip=skip)).eval()
    x = torch.rand(1, 3, h, w)
    assert net(x, torch.zeros(1, 1, h, w)).shape == (1, 3, h, w)


@pytest.mark.parametrize("h,w", [(30, 32), (32, 33), (2, 8)])
def test_sizes_not_multiple_of_4_refused(h, w):
    net = CompletionNetwork(ModelConfig(width=0.125))
    with pytest.raises(InputError, match="multiples of 4"):
        net(torch.rand(1, 3, h, w), torch.zeros(1, 1, h, w))


@pytest.mark.parametrize("output", ["sigmoid", "tanh"])
def test_untrained_residual_network_returns_its_input(output):
    """model.residual: the last conv starts at zero, so the output is the pre-filled input."""
    torch.manual_seed(0)
    cfg = ModelConfig(width=0.125, output=output, residual=True, skip=True)
    lo, hi = cfg.value_range
    x = torch.rand(2, 3, 32, 32) * (hi - lo) + lo
    y = CompletionNetwork(cfg)(x, (torch.rand(2, 1, 32, 32) > 0.5).float())
    assert torch.equal(y, x)


def test_residual_output_is_the_input_plus_the_last_convolution():
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, residual=True)).eval()
    with torch.no_grad():
        net.layers[-1][0].bias.copy_(torch.tensor([0.5, -0.25, 0.0]))  # the same correction everywhere
    x, m = torch.rand(1, 3, 32, 32), torch.ones(1, 1, 32, 32)
    torch.testing.assert_close(net(x, m), x + torch.tensor([0.5, -0.25, 0.0]).view(1, 3, 1, 1))


def test_erode_hole_removes_the_rim_by_chessboard_distance():
    m = torch.zeros(1, 1, 9, 12)
    m[..., 1:8, 1:8] = 1  # a 7x7 square: depths 1 (its rim) to 4 (its centre)
    m[..., :, 10:] = 1  # a band touching the right, top and bottom borders (not known there)
    once, twice = erode_hole(m), erode_hole(m, 2)
    assert torch.equal(erode_hole(m, 0), m)
    assert torch.equal(once[0, 0, 2:7, 2:7], torch.ones(5, 5)) and once[0, 0, :, :10].sum() == 25
    assert torch.equal(twice[0, 0, 3:6, 3:6], torch.ones(3, 3)) and twice[0, 0, :, :10].sum() == 9
    assert torch.equal(once[0, 0, :, 11], torch.ones(9))  # the border is no known pixel
    assert once[0, 0, :, 10].sum() == 0  # its left edge touches known column 9


def test_open_hole_is_opencvs_opening():
    rng = np.random.default_rng(0)
    hole = rng.random((3, 40, 52)) > 0.55
    hole[0, :, :3] = True  # a band on the border
    for r in (1, 2):
        got = open_hole(torch.from_numpy(hole[:, None].astype(np.float32)), r)[:, 0].numpy() > 0.5
        kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
        want = np.stack([cv2.morphologyEx(h.astype(np.uint8), cv2.MORPH_OPEN, kernel) > 0 for h in hole])
        assert np.array_equal(got, want), r


def test_keep_thin_leaves_the_pre_fill_in_thin_parts_and_corrects_the_rest():
    """model.keep_thin: the correction goes to the hole's parts wider than 2 * keep_thin px only."""
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, residual=True, keep_thin=1)).eval()
    with torch.no_grad():
        net.layers[-1][0].bias.copy_(torch.tensor([0.5, -0.25, 0.0]))
    x, m = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    m[..., 8:24, 4:12] = 1  # a block 8 px wide: corrected to its edge
    m[..., 4:28, 20:22] = 1  # a line 2 px wide: keeps the pre-fill
    m[..., 4:28, 26] = 1  # a line 1 px wide: keeps it
    y = net(x, m)
    block = torch.zeros_like(m, dtype=torch.bool)
    block[..., 8:24, 4:12] = True
    shift = torch.tensor([0.5, -0.25, 0.0]).view(1, 3, 1, 1).expand_as(x)
    torch.testing.assert_close(y[block.expand_as(x)], (x + shift)[block.expand_as(x)])
    assert torch.equal(y[~block.expand_as(x)], x[~block.expand_as(x)])  # the lines and the known pixels
    # Those pixels give the network no gradient: its correction there is not used.
    net.train()
    out = net(x, m)
    ((out - x) * (~block)).pow(2).sum().backward()
    assert net.layers[-1][0].bias.grad.abs().sum() == 0


def test_residual_pixels_at_the_ends_of_the_range_still_learn():
    """A pre-fill clipped to 1 (biharmonic overshoot) gets the full gradient: d out / d r = 1.

    (The sigmoid(logit(x) + r) form this replaced gave such pixels a slope of 0.002.)"""
    net = CompletionNetwork(ModelConfig(width=0.125, residual=True))
    out = net(torch.ones(1, 3, 32, 32), torch.ones(1, 1, 32, 32))  # pre-fill at the top of [0, 1]
    (out**2).sum().backward()  # the target is 0 everywhere
    # d/d bias_c = sum over the 32 x 32 pixels of 2 * (out - 0) = 2 * 1024 with out = 1.
    torch.testing.assert_close(net.layers[-1][0].bias.grad, torch.full((3,), 2048.0))


def test_residual_network_trains_from_its_zero_start():
    """The zero last layer gets a gradient at once; the layers before it from the next step on."""
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, residual=True, skip=True))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, m, target = torch.rand(2, 3, 32, 32), torch.ones(2, 1, 32, 32), torch.rand(2, 3, 32, 32)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = ((net(x, m) - target) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        opt.step()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
    assert net.layers[0][0].weight.grad.abs().sum() > 0
    assert losses[-1] < losses[0]


def test_skip_links_change_the_function():
    torch.manual_seed(0)
    a = CompletionNetwork(ModelConfig(width=0.125, skip=False)).eval()
    b = CompletionNetwork(ModelConfig(width=0.125, skip=True)).eval()
    b.load_state_dict(a.state_dict())  # same weights, only the wiring differs
    x, m = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    assert not torch.allclose(a(x, m), b(x, m))


def test_composite_keeps_known_pixels_exactly():
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125)).eval()
    x = torch.rand(2, 3, 40, 48)
    m = torch.zeros(2, 1, 40, 48)
    m[:, :, 10:30, 5:25] = 1
    mean = torch.tensor([0.5, 0.4, 0.3])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(fill_holes(x, m, mean), m)
    y = composite(out, x, m)
    known = (m == 0).expand_as(x)
    assert torch.equal(y[known], x[known])
    assert not torch.equal(y[~known], x[~known])


def test_fill_holes_uses_mean_inside_only():
    x = torch.rand(1, 3, 8, 8)
    m = torch.zeros(1, 1, 8, 8)
    m[..., 2:5, 3:6] = 1
    mean = torch.tensor([0.1, 0.2, 0.3])
    y = fill_holes(x, m, mean)
    assert torch.equal(y[..., 2:5, 3:6], mean.view(1, 3, 1, 1).expand(1, 3, 3, 3))
    keep = (m == 0).expand_as(x)
    assert torch.equal(y[keep], x[keep])


@pytest.mark.parametrize("skip", [False, True])
def test_every_parameter_gets_a_gradient_and_no_nan(skip):
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, skip=skip))
    x = torch.rand(2, 3, 32, 32)
    m = (torch.rand(2, 1, 32, 32) > 0.5).float()
    y = net(x, m)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("dilations", [[2, 4, 8, 16], [1, 2, 4, 8]])
def test_receptive_field_measured_through_gradients(dilations):
    # Positive weights and no normalisation keep every ReLU open, so the gradient of one
    # output pixel is non-zero exactly on its receptive field. Four neighbouring pixels
    # cover every position modulo 4 (the extent depends on it).
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.0625, norm="none", dilations=dilations, output="tanh"))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.rand_like(p) * 0.01 + 0.001)
    net.eval().double()
    rf = receptive_field(dilations)
    size = rf + 44 + (-(rf + 44)) % 4
    c0 = size // 2 - 2
    extents = []
    for c in range(c0, c0 + 4):
        x = torch.ones(1, 3, size, size, dtype=torch.float64, requires_grad=True)
        y = net(x, torch.zeros(1, 1, size, size, dtype=torch.float64))
        y[0, :, c, c].sum().backward()
        nz = x.grad[0].abs().sum(0) > 0
        rows = nz.any(1).nonzero().flatten()
        cols = nz.any(0).nonzero().flatten()
        assert rows.min() > 0 and rows.max() < size - 1  # not clipped by the border
        assert (rows.min().item(), rows.max().item()) == receptive_field_bounds(c, dilations)
        assert (cols.min().item(), cols.max().item()) == receptive_field_bounds(c, dilations)
        extents.append(rows.max().item() - rows.min().item() + 1)
    assert max(extents) == rf


def test_receptive_field_of_the_paper_network():
    assert receptive_field() == 303


# --------------------------------------------------------------------------- model.upsample=resize (issue 25)

UPSAMPLES = ["deconv", "resize"]


def test_resize_replaces_the_two_deconvolutions_alone():
    """Table 1's two "deconv" rows become nearest x2 + 3x3 conv (stride 1, padding 1); every other layer stays."""
    deconv = CompletionNetwork(ModelConfig(width=0.25))
    resize = CompletionNetwork(ModelConfig(width=0.25, upsample="resize"))
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in resize.modules())
    for i, (spec, a, b) in enumerate(zip(layer_table(), deconv.layers, resize.layers, strict=True)):
        if spec.kind != "deconv":
            assert repr(a) == repr(b), i
            continue
        up, conv, bn, act = b
        assert isinstance(up, torch.nn.Upsample) and up.scale_factor == 2.0 and up.mode == "nearest"
        assert type(conv) is torch.nn.Conv2d and conv.bias is None  # batch norm follows: no bias, as the deconv
        assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == ((3, 3), (1, 1), (1, 1), (1, 1))
        assert (conv.in_channels, conv.out_channels) == (a[0].in_channels, a[0].out_channels)
        assert isinstance(bn, torch.nn.BatchNorm2d) and isinstance(act, torch.nn.ReLU)
    no_norm = CompletionNetwork(ModelConfig(width=0.25, upsample="resize", norm="none"))
    assert no_norm.layers[12][1].bias is not None and len(no_norm.layers[12]) == 3  # up, conv (+ bias), ReLU


@pytest.mark.parametrize("h,w", [(4, 4), (32, 32), (36, 64), (100, 52)])
@pytest.mark.parametrize("skip", [False, True])
def test_resize_output_shape_equals_input_shape(h, w, skip):
    net = CompletionNetwork(ModelConfig(width=0.125, skip=skip, upsample="resize")).eval()
    x = torch.rand(1, 3, h, w)
    with torch.no_grad():
        assert net(x, torch.zeros(1, 1, h, w)).shape == (1, 3, h, w)


@pytest.mark.parametrize("cfg", [
    ModelConfig(width=0.125, upsample="resize", dilations=[1, 2, 2, 4]),
    ModelConfig(width=0.125, upsample="resize", skip=True, dilations=[1, 2, 2, 4]),
    ModelConfig(width=0.125, upsample="resize", norm="none", dilations=[1, 2, 2, 4]),
], ids=["batch-norm", "skip", "no-norm"])
def test_resize_every_parameter_gets_a_gradient_and_no_nan(cfg):
    torch.manual_seed(0)
    net = CompletionNetwork(cfg)
    x = torch.rand(2, 3, 32, 32)
    m = (torch.rand(2, 1, 32, 32) > 0.5).float()
    y = net(x, m)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("upsample", UPSAMPLES)
def test_one_input_pixel_reaches_exactly_the_receptive_field_bounds(upsample):
    """Both upsamplings give the same receptive field: the one receptive_field_bounds derives.

    Zero input, zero biases and positive weights: the output is exactly 0, and a single lit
    input pixel p makes every output o with p in receptive_field_bounds(o) positive and leaves
    every other output exactly 0 (no ReLU closes, nothing to round away). Four neighbouring
    pixels cover every position modulo 4 (the extent depends on it).
    """
    dilations = [1, 2, 2, 4]
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.0625, norm="none", dilations=dilations, output="tanh",
                                        upsample=upsample))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.rand_like(p) * 0.01 + 0.001 if p.ndim == 4 else torch.zeros_like(p))
    net.eval().double()
    rf = receptive_field(dilations)
    size = rf + 44 + (-(rf + 44)) % 4
    zeros = torch.zeros(1, 3, size, size, dtype=torch.float64)
    mask = torch.zeros(1, 1, size, size, dtype=torch.float64)
    with torch.no_grad():
        assert not net(zeros, mask).any()
        for p in range(size // 2 - 2, size // 2 + 2):
            x = zeros.clone()
            x[0, :, p, p] = 1.0
            reached = net(x, mask)[0].abs().sum(0) > 0  # (S, S)
            want = [o for o in range(size) if receptive_field_bounds(o, dilations)[0] <= p <= receptive_field_bounds(o, dilations)[1]]
            assert 0 < want[0] and want[-1] < size - 1  # not clipped by the border
            assert reached.any(1).nonzero().flatten().tolist() == want, (upsample, p)
            assert reached.any(0).nonzero().flatten().tolist() == want, (upsample, p)
            assert reached.sum().item() == len(want) ** 2  # the whole square, no holes in it

