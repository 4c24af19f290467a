"""The shipped face model: it loads offline, and it beats Telea and Navier-Stokes.

The regression guard evaluates a small fixed subset of the CelebA val partition
(../shared/data; skipped when absent) with seeded masks. The margins asserted are well
below those measured on the full val partition (docs/model_card.md), so only a real
regression fails.
"""

import json

import numpy as np
import pytest

from glcic.bundle import DEFAULT_BUNDLE, load_bundle

N_IMAGES = 48
# Measured on these 48 faces: +3.9 dB (rect) and +6.1 dB (center) over Telea; over NS more.
MIN_MARGIN_DB = {"rect": 3.0, "center": 4.5}


def test_default_bundle_is_shipped_and_small():
    assert (DEFAULT_BUNDLE / "model.safetensors").is_file()
    size = sum(p.stat().st_size for p in DEFAULT_BUNDLE.iterdir())
    assert size < 25 * 2**20
    info = json.loads((DEFAULT_BUNDLE / "config.json").read_text())
    assert "non-commercial" in info["license"]


def test_default_model_loads_and_completes():
    net, info = load_bundle("default")
    from glcic import InpaintPipeline

    pipe = InpaintPipeline.from_pretrained("default", precision="fp32")
    img = np.full((info.resolution, info.resolution, 3), 128, np.uint8)
    mask = np.zeros(img.shape[:2], bool)
    mask[8:24, 8:24] = True
    out = pipe(img, mask, postprocess="none")
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out[~mask], img[~mask])
    # The default blends (Sec. 3.4): only the hole and a seam of DEFAULT_SEAM pixels change.
    from glcic.postprocess import DEFAULT_SEAM

    blended = pipe(img, mask)
    seam = np.zeros_like(mask)
    seam[8 - DEFAULT_SEAM : 24 + DEFAULT_SEAM, 8 - DEFAULT_SEAM : 24 + DEFAULT_SEAM] = True
    assert np.array_equal(blended[~seam], img[~seam])


@pytest.mark.slow
@pytest.mark.parametrize("masks", ["rect", "center"])
def test_shipped_model_beats_telea_and_ns_on_val(celeba_root, masks):
    from glcic.evaluation import evaluate

    report = evaluate(
        model="default", data=celeba_root, masks=masks, limit=N_IMAGES, seed=0,
        methods=["glcic", "telea", "ns"], split="val", progress=False,
    )
    m = report["methods"]
    for baseline in ("telea", "ns"):
        margin = m["glcic"]["hole_psnr"] - m[baseline]["hole_psnr"]
        assert margin > MIN_MARGIN_DB[masks], (masks, baseline, margin)
        assert m["glcic"]["hole_l1"] < m[baseline]["hole_l1"], (masks, baseline)
