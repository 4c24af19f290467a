"""Losses of the paper (Sec. 3.3) and the report's options. Each returns ``(loss, stats)``.

- eq. (1): the weighted MSE on the hole, L(x, M_c) = ||M_c * (C(x, M_c) - x)||^2.
- eq. (2): the GAN loss, min_C max_D E[log D(x, M_d) + log(1 - D(C(x, M_c), M_c))].
- eq. (3): the joint objective, min_C max_D E[L(x, M_c) + alpha * log D(x, M_d)
  + alpha * log(1 - D(C(x, M_c), M_c))].
- not in the paper: an L1 term on the hole beside eq. (1) (``train.l1_weight``), for the
  hole L1 that evaluations report and MSE-trained networks trail diffusion methods on.
- not in the paper: ``train.hole_weighting: image`` averages the hole losses per image, then
  over the images, instead of over every hole pixel of the batch.
- not in the paper: the hinge GAN loss (``train.gan_loss: hinge``, SN-PatchGAN), the
  feature-matching term (``train.fm_weight``, pix2pixHD) and the R1 gradient penalty
  (``train.r1_weight``, LaMa's discriminator), options for sharper fills; and
  :func:`depth_weights`, which keeps those terms off the hole's rim (``train.adv_depth``).
- not in the paper: :func:`texture_style`, a style (Gram-matrix) term on the hole's texture
  statistics (``train.style_weight``), read by fixed random filters instead of a pretrained
  network.

The discriminator returns logits, so the sigmoid of Table 2 lives inside
binary_cross_entropy_with_logits (numerically safer, same objective).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from glcic.models.completion import erode_hole

Stats = dict[str, float]


def masked_mse(
    output: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    holes: torch.Tensor | float | None = None,
    per_image: bool = False,
) -> tuple[torch.Tensor, Stats]:
    """eq. (1), divided by the number of hole values so that it does not depend on hole size.

    Args:
        output, target: (B, 3, H, W) in the model's value range.
        mask: (B, 1, H, W), 1 = hole.
        holes: the hole-pixel count to divide by (default ``mask.sum()``). Under
            torch.distributed pass the mean count over ranks: averaging the ranks'
            gradients then gives exactly the loss of the whole global batch.
        per_image: ``train.hole_weighting: image``: each image's hole mean, averaged over
            the images, so a thin hole weighs as much as a large one (``holes`` unused).
            False: every hole pixel of the batch weighs the same, as eq. (1) summed over a batch.
    """
    diff = (output.float() - target.float()) * mask  # (B, 3, H, W)
    loss = _hole_mean(diff.pow(2), mask, holes, per_image)
    return loss, {"loss/C_mse": loss.item()}


def masked_l1(
    output: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    holes: torch.Tensor | float | None = None,
    per_image: bool = False,
) -> tuple[torch.Tensor, Stats]:
    """The mean absolute error on the hole, normalised as :func:`masked_mse` (same arguments)."""
    diff = (output.float() - target.float()) * mask  # (B, 3, H, W)
    loss = _hole_mean(diff.abs(), mask, holes, per_image)
    return loss, {"loss/C_l1": loss.item()}


def _hole_mean(
    values: torch.Tensor, mask: torch.Tensor, holes: torch.Tensor | float | None, per_image: bool
) -> torch.Tensor:
    """The mean of ``values`` (B, C, H, W), zero outside the hole, over the hole's values:
    over the batch's (``holes`` hole pixels, else the mask's, times C), or per image and
    then over the images (``per_image``). A hole-free image counts as one value of 0."""
    channels = values.shape[1]
    if per_image:
        per = values.sum(dim=(1, 2, 3)) / (mask.sum(dim=(1, 2, 3)) * channels).clamp_min(1.0)  # (B,)
        return per.mean()
    count = mask.sum() if holes is None else holes
    return values.sum() / torch.as_tensor(count * channels, dtype=torch.float32).clamp_min(1.0)


def generator_adversarial(
    fake_logit: torch.Tensor, nonsaturating: bool = True, gan_loss: str = "bce"
) -> tuple[torch.Tensor, Stats]:
    """The completion network's adversarial term (to be multiplied by alpha, eq. 3).

    nonsaturating=True (the report's choice, Goodfellow et al. 2014): minimise
    -log D(C(x)); otherwise the paper's minimax form: minimise log(1 - D(C(x))).
    ``gan_loss="hinge"`` (SN-PatchGAN): minimise -D(C(x)), the mean over every logit.
    The logits may be (B,) or (B, N) (one per region: ``model.discriminator: patch``).
    """
    logit = fake_logit.float()
    if gan_loss == "hinge":
        loss = -logit.mean()
    elif nonsaturating:
        loss = F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))
    else:
        loss = -F.binary_cross_entropy_with_logits(logit, torch.zeros_like(logit))
    return loss, {"loss/C_adv": loss.item()}


def discriminator_loss(
    real_logit: torch.Tensor,
    fake_logit: torch.Tensor,
    real_label: float = 1.0,
    gan_loss: str = "bce",
) -> tuple[torch.Tensor, Stats]:
    """Binary cross-entropy of real (x, M_d) against completed (C(x, M_c), M_c) (eq. 2).

    real_label < 1 is one-sided label smoothing (Salimans et al. 2016; the report: 0.75).
    ``gan_loss="hinge"`` (SN-PatchGAN; Lim & Ye 2017): relu(1 - D(x)) + relu(1 + D(C(x))),
    each the mean over every logit (``real_label`` unused).
    """
    real, fake = real_logit.float(), fake_logit.float()
    if gan_loss == "hinge":
        loss_real, loss_fake = F.relu(1 - real).mean(), F.relu(1 + fake).mean()
    else:
        loss_real = F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_label))
        loss_fake = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    stats = {
        "loss/D_real": loss_real.item(),
        "loss/D_fake": loss_fake.item(),
        "acc/D_real": (real > 0).float().mean().item(),
        "acc/D_fake": (fake < 0).float().mean().item(),
    }
    return loss_real + loss_fake, stats


def feature_matching(fake_maps: list[torch.Tensor], real_maps: list[torch.Tensor]) -> tuple[torch.Tensor, Stats]:
    """pix2pixHD's feature-matching term (Wang et al. 2018, eq. 4): the mean absolute difference
    between the discriminator's maps of the completed and of the real image, averaged over
    the layers. The real maps are targets (no gradient).

    Args:
        fake_maps, real_maps: the same layers' maps, each (B, C_i, ...) for both.
    """
    if len(fake_maps) != len(real_maps) or not fake_maps:
        raise ValueError(f"feature matching needs the same layers on both sides; got {len(fake_maps)} and {len(real_maps)}")
    terms = [(f.float() - r.detach().float()).abs().mean() for f, r in zip(fake_maps, real_maps, strict=True)]
    loss = torch.stack(terms).mean()
    return loss, {"loss/C_fm": loss.item()}


def r1_penalty(real_logit: torch.Tensor, real_images: torch.Tensor) -> tuple[torch.Tensor, Stats]:
    """The R1 gradient penalty (Mescheder et al. 2018), as LaMa computes it: the mean over the
    real images of ``||d sum(D(x)) / dx||^2``, differentiable (the discriminator minimises it
    times ``train.r1_weight``).

    Args:
        real_logit: D's logits of the real images, (B,) or (B, N); computed from ``real_images``.
        real_images: (B, 3, H, W) with ``requires_grad`` set before D ran.
    """
    (grad,) = torch.autograd.grad(real_logit.float().sum(), real_images, create_graph=True)
    penalty = grad.float().pow(2).flatten(1).sum(dim=1).mean()
    return penalty, {"loss/D_r1": penalty.item()}


def attribute_loss(attr_logits: torch.Tensor, attrs: torch.Tensor) -> tuple[torch.Tensor, Stats]:
    """The report's supervised term: BCE of the auxiliary head on real images' attributes.

    Args:
        attr_logits: (B, K) logits; attrs: (B, K) in {0, 1}.
    """
    loss = F.binary_cross_entropy_with_logits(attr_logits.float(), attrs.float())
    acc = ((attr_logits > 0).float() == attrs).float().mean()
    return loss, {"loss/D_aux": loss.item(), "acc/D_aux": acc.item()}


def depth_weights(mask: torch.Tensor, depth: int) -> torch.Tensor:
    """Each hole pixel's depth over ``depth``, capped at 1; 0 outside the hole (``train.adv_depth``).

    A pixel's depth is its chessboard distance to the nearest known pixel: 1 on the hole's rim,
    2 one pixel further in, and so on (the image's border is not known). It is counted by
    eroding the hole ``depth - 1`` times with a 3x3 window, on the mask's own device.

    Args:
        mask: (B, 1, H, W), 1 = hole.
        depth: >= 1, the depth from which a pixel's weight is 1.

    Returns:
        (B, 1, H, W) float weights in {0, 1/depth, ..., 1}.
    """
    total = eroded = erode_hole(mask, 0)  # each step below makes new tensors
    for _ in range(depth - 1):
        eroded = erode_hole(eroded)
        total = total + eroded
    return total / depth


def rim_gated(image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``image`` itself in the forward pass, with its gradient multiplied by ``weights`` (broadcast)."""
    frozen = image.detach()
    return frozen + (image - frozen) * weights.to(image.dtype)


STYLE_SCALES = (1, 2, 4)
""":func:`texture_style` reads the image at full, half and quarter resolution (average-pooled)."""
STYLE_FILTERS = 32
"""Random filters per scale: each scale's Gram matrix is 32 x 32."""
STYLE_KERNEL = 5
"""Their size: 5 px at full resolution, so the three scales see structure of about 2 to 20 px."""


@functools.lru_cache(maxsize=4)
def style_filters(device: torch.device) -> torch.Tensor:
    """The fixed bank of :func:`texture_style`: (STYLE_FILTERS, 3, k, k) Gaussian random weights
    drawn from seed 0, each made zero-mean (so it reads structure, not the mean colour) and of
    unit norm. The same on every run and every machine, and never trained or saved."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(STYLE_FILTERS, 3, STYLE_KERNEL, STYLE_KERNEL, generator=g)  # (K, 3, k, k)
    w = w - w.mean(dim=(1, 2, 3), keepdim=True)
    w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return w.to(device)


def texture_style(
    completed: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, Stats]:
    """A style term on the hole (Gatys et al. 2015, as PConv's inpainting loss uses it, Liu et
    al. 2018): the Gram matrices of filter responses over the hole, of the completed image
    against the photo's, at each of :data:`STYLE_SCALES`. PConv reads VGG features; we have no
    pretrained network, and random filters at several scales capture a texture's statistics
    well (Ustyuzhaninov et al., ICLR 2017): :func:`style_filters`, ReLU after them. A blur has
    too little filter energy: it changes the Gram matrix, which, unlike a discriminator, does not
    learn. Patterns can match it too: on scene photos the completion network met it with bars
    (docs/ablations.md, ``ft-resize+style0.05``).

    Per image and scale: G = sum_p w_p f_p f_p^T over the pixels p, w the hole (average-pooled
    at coarser scales) normalised to sum 1, f_p the K responses at p. Per scale the term is
    ``sum_b |G_completed - G_photo|_1 / sum_b |G_photo|_1`` over the batch's images (so it does
    not depend on the photos' contrast), averaged over the scales. The division is by the
    batch's sum, not each image's: a hole over a flat patch of sky has a Gram matrix near 0, and
    dividing by it made the term explode (a first run's step 1,300: docs/ablations.md). An image
    without a hole adds 0 to both sums.

    Args:
        completed: (B, 3, H, W), the composite (the photo outside the hole), in the model's range.
        target: (B, 3, H, W), the photo (no gradient).
        mask: (B, 1, H, W), 1 = hole.
    """
    w = style_filters(completed.device)
    pad = STYLE_KERNEL // 2
    fake, real, m = completed.float(), target.detach().float(), mask.float()
    terms = []
    for scale in STYLE_SCALES:
        if scale > 1:
            fake, real, m = (F.avg_pool2d(t, 2) for t in (fake, real, m))
        weights = m / m.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)  # (B, 1, h, w)
        grams = []
        for image in (fake, real):
            f = F.relu(F.conv2d(image, w, padding=pad))  # (B, K, h, w)
            grams.append(torch.einsum("bkhw,blhw->bkl", f * weights, f))  # (B, K, K)
        diff = (grams[0] - grams[1]).abs().sum()
        terms.append(diff / grams[1].abs().sum().clamp_min(1e-12))
    loss = torch.stack(terms).mean()
    return loss, {"loss/C_style": loss.item()}
