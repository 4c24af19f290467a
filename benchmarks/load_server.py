"""The server under test for benchmarks/load_test.py: ``glcic serve`` as a child process.

``child_server`` starts it on a free 127.0.0.1 port (with a random-weight network unless
a bundle is named) and stops it on exit; ``wait_healthy`` waits until it answers;
``rss_mib`` reads its resident memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def random_bundle(folder: Path, width: float) -> Path:
    """A completion network with random weights: the paper's cost at width 1, the server's alone at 1/8."""
    import torch

    from glcic.bundle import BundleInfo, save_bundle
    from glcic.config import ModelConfig
    from glcic.models.completion import CompletionNetwork

    torch.manual_seed(0)
    cfg = ModelConfig(width=width)
    info = BundleInfo(
        model=cfg, resolution=160, mean_pixel=[0.5, 0.5, 0.5], name=f"random-width-{width:g}"
    )
    return save_bundle(folder, CompletionNetwork(cfg).eval(), info)


def start_server(model: str, port: int, max_concurrent: int, queue: int) -> subprocess.Popen:
    """``glcic serve`` on 127.0.0.1:``port``, from this checkout's ``glcic``, its stdout discarded."""
    cmd = [sys.executable, "-m", "glcic.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--model", model, "--max-concurrent", str(max_concurrent), "--queue", str(queue)]
    cmd += ["--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)


def wait_healthy(url: str, proc: subprocess.Popen | None, timeout: float = 120.0) -> None:
    """Wait until ``url`` answers its health check; exit if ``proc`` (when given) dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode} before it answered")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"no answer from {url}/api/v1/health within {timeout:.0f} s")


@contextmanager
def child_server(
    model: str, width: float, max_concurrent: int, queue: int
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start ``glcic serve`` on a free loopback port; yield (its URL, the process); stop it on exit.

    ``model`` is "random" (a random-weight network of ``width``, saved to a temporary
    folder that is removed on exit), "default" or a bundle folder.
    """
    from glcic.server.testing import free_port

    with tempfile.TemporaryDirectory(prefix="glcic-load-") as tmp:
        if model == "random":
            model = str(random_bundle(Path(tmp), width))
        port = free_port()
        proc = start_server(model, port, max_concurrent, queue)
        try:
            yield f"http://127.0.0.1:{port}", proc
        finally:
            proc.terminate()
            proc.wait(10)
