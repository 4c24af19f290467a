"""ONNX export: parity with PyTorch, dynamic sizes, the CLI command and the onnxruntime backend."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from glcic.bundle import BundleInfo, save_bundle
from glcic.cli import main
from glcic.config import ModelConfig
from glcic.errors import InputError
from glcic.models.completion import CompletionNetwork
from glcic.onnx_export import check_onnx, export_onnx
from glcic.pipeline import InpaintPipeline

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, skip=True))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    info = BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5, 0.4, 0.3], name="tiny")
    return save_bundle(tmp_path_factory.mktemp("bundle"), net, info)


def test_export_and_parity_on_several_sizes(bundle: Path, tmp_path: Path) -> None:
    from glcic.bundle import load_bundle

    net, _ = load_bundle(bundle)
    path = export_onnx(net, tmp_path / "m.onnx")
    diff = check_onnx(net, path, sizes=[(64, 64), (96, 128), (36, 20)])
    print(f"max abs diff onnxruntime vs torch: {diff:.3g}")
    assert diff < 1e-4
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # written atomically


def test_residual_network_exports_with_parity(tmp_path: Path) -> None:
    """model.residual adds the input's logit before the sigmoid: written with ops ONNX has."""
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, skip=True, residual=True)).eval()
    with torch.no_grad():
        net.layers[-1][0].weight.normal_(0, 0.1)
    path = export_onnx(net, tmp_path / "r.onnx")
    assert check_onnx(net, path, sizes=[(64, 64), (36, 20)]) < 1e-4


def test_export_onnx_command(bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export-onnx", "--model", str(bundle), "--output", str(tmp_path / "m.onnx")])
    out = capsys.readouterr().out
    assert code == 0 and (tmp_path / "m.onnx").is_file()
    diff = float(out.strip().splitlines()[-1].rsplit(":", 1)[1])
    assert diff < 1e-4
    code = main(["export-onnx", "--model", str(tmp_path), "--output", str(tmp_path / "x.onnx")])
    assert code == 2 and "is not a glcic bundle" in capsys.readouterr().err
    code = main(["export-onnx", "--model", str(bundle), "--output", str(tmp_path / "x.txt")])
    assert code == 2 and "--output should end in .onnx" in capsys.readouterr().err


def test_onnxruntime_backend_matches_torch_fp32(bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the export cache goes to the temp folder
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    ort_pipe = InpaintPipeline.from_pretrained(bundle, backend="onnxruntime")
    torch_pipe = InpaintPipeline.from_pretrained(bundle, precision="fp32")
    assert ort_pipe.info["backend"] == "onnxruntime" and ort_pipe.precision == "fp32"
    assert len(list((tmp_path / "glcic-onnx").glob("*.onnx"))) == 1
    t = torch.rand(3, 61, 83, generator=torch.Generator().manual_seed(0))
    m = torch.zeros(61, 83, dtype=torch.bool)
    m[10:30, 20:50] = True
    for strategy in ("original", "resize", "crop"):
        a, b = ort_pipe(t, m, strategy=strategy, postprocess="none"), torch_pipe(t, m, strategy=strategy, postprocess="none")
        assert torch.equal(a[:, ~m], t[:, ~m])
        assert (a - b).abs().max() < 1e-4


def test_bundle_model_onnx_is_used_when_fresh(bundle: Path, tmp_path: Path) -> None:
    import shutil

    from glcic.bundle import load_bundle

    b = Path(shutil.copytree(bundle, tmp_path / "b"))
    net, _ = load_bundle(b)
    export_onnx(net, b / "model.onnx")
    os.utime(b / "model.onnx", (1e10, 1e10))  # newer than the weights
    pipe = InpaintPipeline.from_pretrained(b, backend="onnxruntime")
    img = np.random.default_rng(0).integers(0, 256, (40, 44, 3), dtype=np.uint8)
    hole = np.zeros((40, 44), bool)
    hole[5:15, 5:15] = True
    out = pipe(img, hole, postprocess="none")
    np.testing.assert_array_equal(out[~hole], img[~hole])
    # A stale model.onnx (older than the weights) is not trusted.
    os.utime(b / "model.onnx", (1, 1))
    with pytest.warns(UserWarning, match="is older than model.safetensors; exporting a fresh ONNX graph"):
        InpaintPipeline.from_pretrained(b, backend="onnxruntime")


def test_onnxruntime_is_fp32_only(bundle: Path) -> None:
    with pytest.raises(InputError, match="the onnxruntime backend runs in fp32; got precision='bf16'; use 'fp32' or 'auto'"):
        InpaintPipeline.from_pretrained(bundle, backend="onnxruntime", precision="bf16")
