"""glcic.evaluation at native sizes: each image at its own size, through the pipeline
with glcic inpaint's defaults (read from glcic.options at run time)."""

from __future__ import annotations

import numpy as np
import pytest

from glcic import options
from glcic.evaluation import MaskMaker
from glcic.evaluation.images import blank_hole, load_target
from glcic.metrics import all_metrics
from glcic.pipeline import InpaintPipeline
from tests.evaluation.conftest import run_eval, scores


@pytest.mark.parametrize("masks", ["rect", "center"])
def test_native_size_on_images_of_two_sizes(bundle, two_size_dir, masks):
    r = run_eval(bundle, two_size_dir, size="native", masks=masks, methods="glcic,telea")
    assert r["size"] == "native" and r["n_images"] == 2
    assert [p["size"] for p in r["per_image"]] == [[56, 40], [48, 72]]  # (H, W), not resized
    assert r["inference"] == {
        "strategy": options.DEFAULT_STRATEGY,
        "postprocess": options.DEFAULT_POSTPROCESS,
    }
    # The same numbers as the pipeline called as glcic inpaint calls it, on masks drawn at
    # each image's own size.
    pipe = InpaintPipeline.from_pretrained(bundle, device="cpu", precision="fp32")
    maker = MaskMaker(masks, seed=0)
    for i, p in enumerate(r["per_image"]):
        target = load_target(two_size_dir / p["image"], None)
        m, _ = maker(i, target.shape[:2])
        assert m.shape == target.shape[:2] and p["hole_fraction"] == pytest.approx(m.mean())
        for name in ("glcic", "telea"):
            out = pipe(
                blank_hole(target, m), m.astype(np.uint8) * 255, method=name,
                strategy=options.DEFAULT_STRATEGY, postprocess=options.DEFAULT_POSTPROCESS,
            )  # fmt: skip
            assert scores(p, name) == pytest.approx(all_metrics(out, target, m), nan_ok=True)


def test_native_reads_the_inference_defaults_at_run_time(bundle, two_size_dir, monkeypatch):
    monkeypatch.setattr(options, "DEFAULT_POSTPROCESS", "none")
    monkeypatch.setattr(options, "DEFAULT_STRATEGY", "resize")
    r = run_eval(bundle, two_size_dir, size="native", methods="telea")
    assert r["inference"] == {"strategy": "resize", "postprocess": "none"}
    # Without blending nothing outside the hole changes: the whole-image PSNR is the hole's
    # PSNR plus 10 log10(1 / hole fraction).
    for p in r["per_image"]:
        want = p["telea"]["hole_psnr"] + 10 * np.log10(1 / p["hole_fraction"])
        assert p["telea"]["psnr"] == pytest.approx(want, abs=1e-6)


def test_native_grid_fits_every_image_in_a_cell(bundle, two_size_dir, tmp_path):
    from PIL import Image

    from glcic.evaluation import grid_size
    from glcic.evaluation.grid import GRID_CELL

    run_eval(bundle, two_size_dir, size="native", methods="mean", grid=tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as im:
        assert im.size == grid_size(2, 3, GRID_CELL)
