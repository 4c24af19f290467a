"""The GAN loss forms (eq. 2's BCE, SN-PatchGAN's hinge) and pix2pixHD's feature matching.

The hole losses (eq. 1, the L1 term, the per-image weighting) are tested where the training
step uses them, in tests/training/test_step.py.
"""

import pytest
import torch
import torch.nn.functional as F

from glcic.losses import discriminator_loss, feature_matching, generator_adversarial

# Hand-computed below each: values chosen so that some logits sit on each side of the margins +-1.
REAL_B = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - real) = 0, 0.5, 2 -> mean 5/6
FAKE_B = torch.tensor([-2.0, 0.0, 1.5])  # relu(1 + fake) = 0, 1, 2.5 -> mean 7/6; -mean = 1/6
REAL_BN = torch.tensor([[2.0, 0.0], [0.5, -1.0]])  # relu(1 - real) = 0, 1, 0.5, 2 -> mean 7/8
FAKE_BN = torch.tensor([[-2.0, -0.5], [0.0, 1.0]])  # relu(1 + fake) = 0, 0.5, 1, 2 -> mean 7/8; -mean = 3/8


@pytest.mark.parametrize(
    ("real", "fake", "d_real", "d_fake", "g"),
    [(REAL_B, FAKE_B, 5 / 6, 7 / 6, 0.5 / 3), (REAL_BN, FAKE_BN, 7 / 8, 7 / 8, 3 / 8)],
    ids=["(B,)", "(B,N)"],
)
def test_hinge_losses_are_the_hand_computed_values(real, fake, d_real, d_fake, g):
    """D: relu(1 - D(x)).mean() + relu(1 + D(C(x))).mean(); C: -D(C(x)).mean(), on (B,) or (B, N) logits."""
    loss, stats = discriminator_loss(real, fake, gan_loss="hinge")
    assert loss.item() == pytest.approx(d_real + d_fake)
    assert stats["loss/D_real"] == pytest.approx(d_real) and stats["loss/D_fake"] == pytest.approx(d_fake)
    # real_label is BCE's one-sided smoothing: the hinge has no target to smooth.
    assert discriminator_loss(real, fake, real_label=0.75, gan_loss="hinge")[0].item() == pytest.approx(loss.item())
    for nonsaturating in (True, False):  # the BCE forms' switch does not apply to the hinge
        adv, s = generator_adversarial(fake, nonsaturating, gan_loss="hinge")
        assert adv.item() == pytest.approx(g) and s == {"loss/C_adv": pytest.approx(g)}


def test_hinge_discriminator_gradient_stops_at_the_margin():
    """Logits already beyond the margin (real > 1, fake < -1) get no gradient; the others -1/n or +1/n."""
    real, fake = REAL_B.clone().requires_grad_(), FAKE_B.clone().requires_grad_()
    discriminator_loss(real, fake, gan_loss="hinge")[0].backward()
    torch.testing.assert_close(real.grad, torch.tensor([0.0, -1 / 3, -1 / 3]))
    torch.testing.assert_close(fake.grad, torch.tensor([0.0, 1 / 3, 1 / 3]))


@pytest.mark.parametrize(("real", "fake"), [(REAL_B, FAKE_B), (REAL_BN, FAKE_BN)], ids=["(B,)", "(B,N)"])
def test_bce_stays_the_paper_s_and_the_default(real, fake):
    """gan_loss='bce' (the default): eq. (2) as before the hinge was added, on (B,) or (B, N) logits."""
    want_real = F.softplus(-real).mean().item()  # -log sigmoid(real)
    want_fake = F.softplus(fake).mean().item()  # -log(1 - sigmoid(fake))
    for loss, stats in (discriminator_loss(real, fake), discriminator_loss(real, fake, 1.0, "bce")):
        assert loss.item() == pytest.approx(want_real + want_fake, rel=1e-6)
        assert stats["loss/D_real"] == pytest.approx(want_real, rel=1e-6)
    smoothed = -(0.75 * F.logsigmoid(real) + 0.25 * F.logsigmoid(-real)).mean().item()
    assert discriminator_loss(real, fake, 0.75)[0].item() == pytest.approx(smoothed + want_fake, rel=1e-6)
    assert generator_adversarial(fake)[0].item() == pytest.approx(F.softplus(-fake).mean().item(), rel=1e-6)
    assert generator_adversarial(fake, nonsaturating=False)[0].item() == pytest.approx(
        -F.softplus(fake).mean().item(), rel=1e-6
    )


def test_feature_matching_is_zero_for_identical_maps():
    g = torch.Generator().manual_seed(0)
    maps = [torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 16, generator=g)]
    loss, stats = feature_matching(maps, [m.clone() for m in maps])
    assert loss.item() == 0.0 and stats == {"loss/C_fm": 0.0}


def test_feature_matching_is_the_mean_of_the_per_layer_mean_l1():
    """Each layer weighs the same, however many values it has (not the mean over all values)."""
    fake = [torch.ones(2, 3, 4, 4), torch.zeros(2, 5)]  # 96 values 1 apart, then 10 values 3 apart
    real = [torch.zeros(2, 3, 4, 4), torch.full((2, 5), 3.0)]
    loss, stats = feature_matching(fake, real)
    assert loss.item() == pytest.approx((1.0 + 3.0) / 2)  # not (96 + 30) / 106
    assert stats["loss/C_fm"] == pytest.approx(2.0)
    g = torch.Generator().manual_seed(1)
    fake = [torch.randn(3, 2, 5, 5, generator=g), torch.randn(3, 7, generator=g), torch.randn(3, 1, 2, 2, generator=g)]
    real = [torch.randn(f.shape, generator=g) for f in fake]
    want = sum((f - r).abs().mean() for f, r in zip(fake, real, strict=True)) / 3
    torch.testing.assert_close(feature_matching(fake, real)[0], want)


def test_feature_matching_sends_no_gradient_to_the_real_maps():
    g = torch.Generator().manual_seed(0)
    fake = [torch.randn(2, 3, 4, 4, generator=g).requires_grad_(), torch.randn(2, 6, generator=g).requires_grad_()]
    real = [torch.randn(f.shape, generator=g).requires_grad_() for f in fake]
    feature_matching(fake, real)[0].backward()
    assert all(r.grad is None for r in real)
    for f, r in zip(fake, real, strict=True):  # d/d fake of mean |f - r| over 2 layers: sign / (numel * 2)
        torch.testing.assert_close(f.grad, torch.sign(f - r).detach() / (f.numel() * 2))


def test_feature_matching_in_bf16_returns_float32():
    fake = [torch.ones(2, 3, 4, 4, dtype=torch.bfloat16)]
    loss, _ = feature_matching(fake, [torch.zeros(2, 3, 4, 4, dtype=torch.bfloat16)])
    assert loss.dtype == torch.float32 and loss.item() == 1.0


@pytest.mark.parametrize(("n_fake", "n_real"), [(2, 1), (1, 3), (0, 0)])
def test_feature_matching_refuses_different_layer_counts(n_fake, n_real):
    fake, real = [torch.zeros(1, 2)] * n_fake, [torch.zeros(1, 2)] * n_real
    with pytest.raises(ValueError, match=rf"the same layers on both sides; got {n_fake} and {n_real}"):
        feature_matching(fake, real)


def test_depth_weights_count_chessboard_pixels_to_the_known_region():
    from glcic.losses import depth_weights

    m = torch.zeros(1, 1, 9, 11)
    m[0, 0, 1:8, 1:8] = 1  # a 7 x 7 square: depths 1, 2, 3, 4 from its rim to its centre
    m[0, 0, 4, 9] = 1  # a single pixel: depth 1
    w = depth_weights(m, 3)[0, 0]
    assert w[0].abs().sum() == 0 and w[:, 8].abs().sum() == 0  # known pixels weigh 0
    assert w[1, 1:8].tolist() == pytest.approx([1 / 3] * 7)
    assert w[2, 1:8].tolist() == pytest.approx([1 / 3] + [2 / 3] * 5 + [1 / 3])
    assert w[3:6, 3:6].eq(1).all() and w[4, 4] == 1  # depth 3 and 4 both capped at 1
    assert w[4, 9] == pytest.approx(1 / 3)
    assert torch.equal(depth_weights(m, 1), m)  # depth 1: every hole pixel whole


def test_depth_weights_treat_the_image_border_as_unknown():
    from glcic.losses import depth_weights

    m = torch.ones(1, 1, 4, 4)
    m[0, 0, 3, 3] = 0  # the only known pixel, in a corner: the opposite corner is 3 px from it
    w = depth_weights(m, 4)[0, 0]
    assert w[0, 0] == pytest.approx(3 / 4) and w[2, 2] == pytest.approx(1 / 4) and w[1, 1] == pytest.approx(2 / 4)


def test_rim_gated_is_the_image_with_its_gradient_weighed():
    from glcic.losses import rim_gated

    image = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    weights = torch.tensor([[0.0, 0.5, 1.0]])
    out = rim_gated(image, weights)
    assert torch.equal(out.detach(), image.detach())
    (out * torch.tensor([[4.0, 4.0, 4.0]])).sum().backward()
    assert image.grad.tolist() == [[0.0, 2.0, 4.0]]


def _textured(g: torch.Generator) -> torch.Tensor:
    """(2, 3, 32, 32) photos with texture: noise over a smooth ramp."""
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(2, 3, 32, 32)
    return (0.5 * ramp + 0.5 * torch.rand(2, 3, 32, 32, generator=g)).clamp(0, 1)


def _hole() -> torch.Tensor:
    m = torch.zeros(2, 1, 32, 32)
    m[:, :, 8:24, 8:24] = 1
    return m


def test_texture_style_is_zero_for_the_photo_itself_and_grows_with_the_blur():
    """The Gram matrices over the hole match where the fill is the photo; a flat fill (the mean
    colour) scores worse than a blurred one, which scores worse than the photo's texture moved."""
    from glcic.losses import texture_style

    g = torch.Generator().manual_seed(0)
    x, m = _textured(g), _hole()
    same, stats = texture_style(x, x, m)
    assert same.item() == 0.0 and stats["loss/C_style"] == 0.0
    flat = x * (1 - m) + x.mean(dim=(2, 3), keepdim=True) * m
    blurred = x * (1 - m) + torch.nn.functional.avg_pool2d(x, 3, 1, 1) * m
    shifted = x * (1 - m) + torch.roll(x, 5, dims=3) * m  # the same texture, elsewhere
    scores = [texture_style(c, x, m)[0].item() for c in (shifted, blurred, flat)]
    assert 0 < scores[0] < scores[1] < scores[2], scores


def test_texture_style_reads_only_the_hole_and_skips_hole_free_images():
    """Outside the hole and the filters' reach the completed image is not compared; an image
    without a hole adds 0 to the mean."""
    from glcic.losses import texture_style

    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 64, 64, generator=g)
    near = torch.zeros(1, 1, 64, 64)
    near[:, :, 8:56, 8:56] = 1
    completed = x * near + torch.rand(1, 3, 64, 64, generator=g) * (1 - near)  # the photo near the hole
    far = torch.zeros_like(near)
    far[:, :, 28:36, 28:36] = 1  # the 5x5 filters at a quarter reach 20..44: inside `near`
    assert texture_style(completed, x, far)[0].item() == 0.0
    x, m = _textured(g), _hole()
    m[1] = 0
    loss, _ = texture_style(x * (1 - m) + 0.5 * m, x, m)
    assert loss.item() > 0
    alone, _ = texture_style(x[:1] * (1 - m[:1]) + 0.5 * m[:1], x[:1], m[:1])
    assert torch.allclose(loss, alone)  # the hole-free image adds nothing


def test_texture_style_stays_bounded_where_the_photo_is_flat_in_the_hole():
    """A hole over flat sky has a Gram matrix near 0; the batch's sum divides, so a fill with
    texture there costs as much as elsewhere instead of exploding (a first run's step 1,300)."""
    from glcic.losses import texture_style

    g = torch.Generator().manual_seed(3)
    x, m = _textured(g), _hole()
    x[1] = 0.7  # flat: every zero-mean filter reads 0
    noisy = x * (1 - m) + torch.rand(2, 3, 32, 32, generator=g) * m
    loss, _ = texture_style(noisy, x, m)
    assert torch.isfinite(loss) and loss.item() < 20


def test_texture_style_sends_gradient_to_the_fill_only():
    from glcic.losses import texture_style

    g = torch.Generator().manual_seed(2)
    x, m = _textured(g), _hole()
    fill = torch.full_like(x, 0.5).requires_grad_(True)
    target = x.clone().requires_grad_(True)
    loss, _ = texture_style(x * (1 - m) + fill * m, target, m)
    loss.backward()
    assert target.grad is None
    assert fill.grad.abs().sum() > 0 and (fill.grad * (1 - m)).abs().sum() == 0


def test_style_filters_are_fixed_zero_mean_and_unit_norm():
    from glcic.losses import STYLE_FILTERS, STYLE_KERNEL, style_filters

    w = style_filters(torch.device("cpu"))
    assert w.shape == (STYLE_FILTERS, 3, STYLE_KERNEL, STYLE_KERNEL)
    assert torch.allclose(w.mean(dim=(1, 2, 3)), torch.zeros(STYLE_FILTERS), atol=1e-6)
    assert torch.allclose(w.flatten(1).norm(dim=1), torch.ones(STYLE_FILTERS), atol=1e-5)
    style_filters.cache_clear()
    assert torch.equal(style_filters(torch.device("cpu")), w)  # seeded: the same bank again
