"""torch.hub.load(repo_dir, "glcic", source="local") works offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.models.completion import CompletionNetwork
from glcic.pipeline import InpaintPipeline

REPO = Path(__file__).resolve().parents[1]


def test_hub_load_local(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125))
    bundle = save_bundle(tmp_path / "b", net, BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5] * 3, name="hub"))
    pipe = torch.hub.load(str(REPO), "glcic", source="local", path=str(bundle), precision="fp32")
    assert isinstance(pipe, InpaintPipeline) and pipe.info["name"] == "hub"
    img = np.random.default_rng(0).integers(0, 256, (36, 40, 3), dtype=np.uint8)
    hole = np.zeros((36, 40), bool)
    hole[8:20, 8:20] = True
    out = pipe(img, hole, postprocess="none")
    np.testing.assert_array_equal(out[~hole], img[~hole])
    np.testing.assert_array_equal(out, InpaintPipeline.from_pretrained(bundle, precision="fp32")(img, hole, postprocess="none"))


def test_hub_untrained(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125))
    bundle = save_bundle(tmp_path / "b", net, BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5] * 3))
    pipe = torch.hub.load(str(REPO), "glcic", source="local", pretrained=False, path=str(bundle))
    assert pipe.net.cfg.width == 0.125  # architecture from the bundle, weights random
