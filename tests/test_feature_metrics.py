"""glcic.feature_metrics: LPIPS, the Frechet distance, the FID Inception network."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def test_lpips_is_zero_for_identical_images_and_symmetric():
    from glcic.feature_metrics import LPIPS

    torch.manual_seed(0)
    lp = LPIPS()
    for k in range(5):
        getattr(lp, f"lin{k}").model[1].weight.data.uniform_(0.0, 0.1)
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    assert torch.equal(lp(a, a), torch.zeros(2))
    torch.testing.assert_close(lp(a, b), lp(b, a))
    assert (lp(a, b) > lp(a, a * 0.98 + b * 0.02)).all()  # farther images, larger distance


def test_frechet_distance_matches_the_closed_form():
    from glcic.feature_metrics import frechet_distance

    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (4000, 3))
    b = rng.normal(0.5, 2.0, (4000, 3))
    # Gaussians with diagonal covariance: |mu|^2 + sum (s_a - s_b)^2 per dimension.
    expected = 3 * 0.5**2 + 3 * (1.0 - 2.0) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_fid_network_has_the_reference_parameter_count():
    from glcic.feature_metrics import FIDInception

    # pytorch-fid's pt_inception-2015-12-05: torchvision's Inception-v3 without the aux head
    # (23,834,568 parameters) with a 1008-way fc instead of 1000-way (+8 x 2049).
    assert sum(p.numel() for p in FIDInception().parameters()) == 23_850_960

