"""Server limits (glcic.server.settings) and the `glcic serve` command that sets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from glcic.server import ServerSettings

REPO = Path(__file__).resolve().parents[2]


def test_serve_with_a_missing_model_fails_clearly(tmp_path):
    cmd = [sys.executable, "-m", "glcic.cli", "serve", "--model", str(tmp_path / "nope")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "glcic export" in proc.stderr


def test_settings_are_checked():
    with pytest.raises(ValueError, match="queue must be >= 0"):
        ServerSettings(queue=-1).check()
    with pytest.raises(ValueError, match="max_concurrent must be >= 1"):
        ServerSettings(max_concurrent=0).check()
    with pytest.raises(ValueError, match="idle_timeout must be > 0 seconds; got 0"):
        ServerSettings(idle_timeout=0).check()
    with pytest.raises(ValueError, match="max_uploads must be >= 1"):
        ServerSettings(max_uploads=0).check()
    with pytest.raises(ValueError, match=r"max_connections \(20\) must be at least .* \(25\)"):
        ServerSettings(max_connections=20).check()


def test_serve_flags_default_to_server_settings():
    import argparse

    from glcic.commands import serve

    parser = serve.register(argparse.ArgumentParser().add_subparsers(), "serve")
    args = parser.parse_args([])
    s = ServerSettings()
    assert args.host == "127.0.0.1"
    assert (args.max_upload_mb, args.max_pixels, args.max_concurrent, args.queue, args.timeout) == (
        s.max_upload_mb,
        s.max_pixels,
        s.max_concurrent,
        s.queue,
        s.timeout,
    )
    for name in serve.LIMIT_FLAGS:  # every limit is a flag with the settings' default
        assert getattr(args, name) == getattr(s, name), name
    assert {"max_uploads", "upload_timeout", "idle_timeout", "header_timeout"} <= set(
        serve.LIMIT_FLAGS
    )


def test_serve_flags_do_not_import_the_web_stack():
    """`glcic --help` builds the serve flags from ServerSettings without importing FastAPI."""
    code = (
        "import sys, glcic.commands.serve; print('fastapi' in sys.modules, 'torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def test_default_pixel_limit_is_the_cli_s():
    from glcic.options import DEFAULT_MAX_PIXELS

    assert ServerSettings().max_pixels == DEFAULT_MAX_PIXELS == 40_000_000


def test_a_12_mp_phone_photo_passes_the_default_limits(pipe):
    """Issue 23: a 12 MP photo was refused (the server's default was 4.19 MP, the CLI's 40 MP)."""
    import io

    import numpy as np
    from fastapi.testclient import TestClient
    from PIL import Image

    from glcic.server import create_app

    w, h = 4000, 3000
    small = np.random.default_rng(0).integers(0, 256, (h // 100, w // 100, 3), dtype=np.uint8)
    photo = io.BytesIO()
    Image.fromarray(small).resize((w, h)).save(photo, format="JPEG", quality=80)
    mask = np.zeros((h, w), np.uint8)
    mask[1400:1460, 1900:2000] = 255
    mask_png = io.BytesIO()
    Image.fromarray(mask).save(mask_png, format="PNG")
    with TestClient(create_app(pipeline=pipe, settings=ServerSettings())) as client:
        limits = client.get("/api/v1/health").json()["limits"]
        assert limits["max_pixels"] >= w * h and limits["max_upload_bytes"] > len(photo.getvalue())
        files = {"image": ("phone.jpg", photo.getvalue()), "mask": ("mask.png", mask_png.getvalue())}
        r = client.post("/api/v1/inpaint", files=files, data={"method": "mean"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(r.content)).size == (w, h)
