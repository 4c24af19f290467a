"""`glcic evaluate`: report.json, the Markdown table on stdout, one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glcic.bundle import BundleInfo, save_bundle
from glcic.cli import main
from glcic.config import ModelConfig
from glcic.models.completion import CompletionNetwork


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    cfg = ModelConfig(width=0.125)
    info = BundleInfo(model=cfg, resolution=32, mean_pixel=[0.5, 0.5, 0.5], name="tiny")
    return save_bundle(tmp_path_factory.mktemp("bundle"), CompletionNetwork(cfg).eval(), info)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(1)
    for i in range(4):
        Image.fromarray(rng.integers(60, 200, (40, 48, 3), dtype=np.uint8)).save(root / f"{i}.png")
    return root


def cli(*args: str) -> int:
    return main(["evaluate", *args])


def test_writes_report_and_prints_table(bundle, images, tmp_path, capsys):
    out = tmp_path / "report.json"
    code = cli(
        "--model", str(bundle), "--data", str(images), "--masks", "center", "--limit", "3",
        "--seed", "7", "--methods", "telea,mean", "--output", str(out),
        "--grid", str(tmp_path / "grid.png"), "--save-masks", str(tmp_path / "masks"),
    )  # fmt: skip
    assert code == 0
    r = json.loads(out.read_text())
    assert (r["n_images"], r["masks"], r["seed"], r["size"]) == (3, "center", 7, 32)
    assert set(r["methods"]) == {"telea", "mean"} and len(r["per_image"]) == 3
    assert r["model"]["name"] == "tiny"
    stdout = capsys.readouterr().out
    assert (
        "| method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 | detail (median / mean) "
        "| colour detail (median / mean) | grid 4 px (median / mean) | grid 2 px (median / mean) "
        "| stripes (median / mean) | s / image |"
    ) in stdout
    assert "| original (the photo) |" in stdout
    assert "| telea |" in stdout and "| mean |" in stdout
    assert (tmp_path / "grid.png").is_file()
    assert len(list((tmp_path / "masks").glob("*.png"))) == 3


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--masks", "squares"], "unknown mask spec 'squares'"),
        (["--masks", "nvidia:30-20"], "0 <= LO < HI <= 100"),
        (["--methods", "telea,magic"], r"unknown method\(s\) magic"),
        (["--split", "test"], "is a plain folder .*choose train, val or all"),
        (["--size", "big"], "--size expects a side in pixels .* or native; got 'big'"),
        (
            ["--output", "/nonexistent-dir/report.json"],
            "the folder /nonexistent-dir does not exist",
        ),
        (["--lpips-weights", "/nonexistent/alex.pth"], "never downloads"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(bundle, images, capsys, args, match):
    code = cli(
        "--model", str(bundle), "--data", str(images), "--limit", "1", "--methods", "mean", *args
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("glcic evaluate: error: ") and "\n" not in err
    import re

    assert re.search(match, err), err


def test_missing_model_is_a_clear_error(images, tmp_path, capsys):
    assert cli("--model", str(tmp_path / "nope"), "--data", str(images), "--methods", "glcic") == 2
    assert "does not exist" in capsys.readouterr().err


def test_native_run_skips_and_reports_an_unreadable_image(bundle, images, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(images, data)
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "r.json"
    with pytest.warns(UserWarning, match="skipped unreadable image .*broken.png"):
        code = cli("--model", str(bundle), "--data", str(data), "--size", "native", "--masks", "center",
                   "--methods", "glcic,mean", "--output", str(out))  # fmt: skip
    assert code == 0
    r = json.loads(out.read_text())
    assert (r["n_images"], r["n_skipped"], r["size"]) == (4, 1, "native")
    assert {tuple(p["size"]) for p in r["per_image"]} == {(40, 48)}
    assert "skipped 1 unreadable image(s): broken.png" in capsys.readouterr().out


def test_patchmatch_that_cannot_run_is_one_line_before_any_work(bundle, images, capsys, monkeypatch):
    import glcic.classical.patchmatch as patchmatch_module

    monkeypatch.setattr(patchmatch_module, "_library", lambda: (None, "PyPatchMatch is not installed (test)"))
    code = cli("--model", str(bundle), "--data", str(images), "--limit", "1", "--methods", "telea,patchmatch")
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == "glcic evaluate: error: method patchmatch cannot run here: PyPatchMatch is not installed (test)"
    # Without --methods: every method that can run here, the rest of the run unaffected.
    assert cli("--model", str(bundle), "--data", str(images), "--limit", "1", "--size", "32") == 0
    out = capsys.readouterr().out
    assert "| telea |" in out and "| glcic |" in out and "| patchmatch |" not in out
