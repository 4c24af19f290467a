"""glcic.evaluation.scoring: pixel metrics per image, LPIPS and FID from local weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glcic.errors import InputError
from glcic.evaluation import build_masks, format_markdown
from glcic.metrics import all_metrics
from tests.evaluation.conftest import make_info, run_eval, scores


def test_per_image_metrics_match_a_direct_computation(bundle, image_dir):
    from glcic.classical import inpaint_classical
    from glcic.data import preprocess, read_rgb

    r = run_eval(bundle, image_dir, limit=2, methods="telea")
    em = build_masks("rect", 32, 2, 0, make_info(32))
    for i, p in enumerate(r["per_image"]):
        target = preprocess(read_rgb(image_dir / p["image"]), 32)
        m = em.masks[i]
        out = inpaint_classical("telea", np.where(m[:, :, None], np.uint8(255), target), m)
        want = all_metrics(out, target, m)
        assert scores(p, "telea") == pytest.approx(want, nan_ok=True)
        assert p["hole_fraction"] == pytest.approx(m.mean())


def test_lpips_and_fid_need_local_weights(bundle, image_dir, tmp_path):
    with pytest.raises(InputError, match="--lpips-weights .*no such file.*never downloads"):
        run_eval(bundle, image_dir, lpips_weights=tmp_path / "alex.pth")
    w = tmp_path / "inception.pth"
    w.write_bytes(b"x")
    with pytest.raises(InputError, match="--fid-weights .*inception.pth is not a readable state dict"):
        run_eval(bundle, image_dir, fid_weights=w)
    torch.save({"conv.weight": torch.zeros(1)}, w)
    with pytest.raises(InputError, match=r"--fid-weights: the file is not FID Inception weights: \d+ key\(s\) missing"):
        run_eval(bundle, image_dir, fid_weights=w)


@pytest.mark.slow
def test_lpips_and_fid_from_local_weights(bundle, image_dir, tmp_path):
    from glcic.feature_metrics import LPIPS, FIDInception

    torch.manual_seed(0)
    lp = LPIPS()
    for k in range(5):  # the real lin layers are non-negative
        getattr(lp, f"lin{k}").model[1].weight.data.uniform_(0.0, 0.1)
    # As the lpips package saves it: the scaling layer's buffers under scaling_layer.*
    state = {("scaling_layer." + k if k in ("shift", "scale") else k): v for k, v in lp.state_dict().items()}
    torch.save(state, tmp_path / "alex.pth")
    from safetensors.torch import save_file

    save_file(FIDInception().state_dict(), str(tmp_path / "inception.safetensors"))

    r = run_eval(bundle, image_dir, limit=3, lpips_weights=tmp_path / "alex.pth",
                 fid_weights=tmp_path / "inception.safetensors")
    for name, m in r["methods"].items():
        assert m["lpips"] > 0 and m["fid"] >= 0, name
    assert all("lpips" in row[name] for row in r["per_image"] for name in r["methods"])
    assert "| LPIPS | FID |" in format_markdown(r)

