"""Peak memory of one ``POST /api/v1/inpaint`` at 12 MP and 40 MP, as ``glcic serve`` holds it.

For each case a fresh ``glcic serve`` child process (one worker) loads its model; the
script reads its resident memory (``VmRSS``), resets the kernel's high-water mark
(``/proc/PID/clear_refs``), sends one request (a synthetic photo as JPEG and a mask as
PNG, multipart), and reads the high-water mark (``VmHWM``) when the answer is in. A fresh
process per case keeps one request's freed-but-kept memory from hiding the next one's.

The figures size the server's defaults (``docs/serving.md``, "Memory per request") and
are the per-pixel costs of ``glcic.server.costs``: peak memory of one request = ``VmHWM``
- ``VmRSS`` before it; the server's peak with N requests running = its idle RSS + N x that.

    python benchmarks/serve_memory.py                      # every case below
    python benchmarks/serve_memory.py --sizes 12 --cases scenes/object,telea/object
    python benchmarks/serve_memory.py --sizes 12 --cases scenes/object@original,scenes/strokes@refine

Linux only (``/proc``). Each case takes seconds to minutes on two cores.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_server import REPO, wait_healthy  # noqa: E402

SIZES = {4: (2400, 1600), 12: (4000, 3000), 24: (6000, 4000), 40: (7296, 5480)}
"""Megapixels -> (width, height): 12 MP a phone photo, 40 MP the limit (39.98 MP); 4 and 24
MP to see how a cost grows."""
CASES = ("scenes/object", "scenes/strokes", "telea/object", "telea/strokes", "mean/object")
"""``METHOD/MASK[@STRATEGY]``: ``scenes`` is the default model (method glcic; strategy auto
unless ``@`` names another: ``@original`` needs about 10 GB at 40 MP), the others classical methods; ``object``: one deep hole of 6 % of the photo (auto resizes), ``strokes``:
thin brush strokes 12 px wide (auto runs windows at native resolution along them)."""


def proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def photo(w: int, h: int) -> bytes:
    """A photo-like JPEG (quality 90): smooth colour fields plus grain, so it compresses like one."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (max(h // 64, 2), max(w // 64, 2), 3), dtype=np.uint8)
    im = Image.fromarray(small).resize((w, h), Image.BICUBIC)
    grain = Image.effect_noise((w, h), 12).convert("RGB")
    im = Image.blend(im, grain, 0.15)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def mask(w: int, h: int, kind: str) -> bytes:
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    if kind == "object":  # one deep hole of ~6 % of the photo
        rw, rh = int(w * 0.25), int(h * 0.25)
        d.ellipse((w // 3, h // 3, w // 3 + rw, h // 3 + rh), fill=255)
    else:  # five thin strokes across the photo
        for i in range(5):
            y = h * (i + 1) // 6
            d.line([(w // 10, y), (w // 2, y + h // 20), (9 * w // 10, y)], fill=255, width=12)
    buf = io.BytesIO()
    m.save(buf, format="PNG")
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "glcic.cli", "serve", "--port", str(port), "--model", "scenes"]
    # A pixel limit far above the images, so that glcic.server.costs (whose figures come
    # from here) refuses nothing: the point is to measure what each request needs.
    cmd += ["--max-pixels", "400000000", "--max-upload-mb", "64", "--timeout", "3600"]
    cmd += ["--max-concurrent", "1", "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)


def measure(mp: int, case: str, strategy: str) -> dict:
    method, kind = case.split("/")
    w, h = SIZES[mp]
    image, hole = photo(w, h), mask(w, h, kind)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(port)
    try:
        wait_healthy(url, proc)
        # One tiny request first, so the first-call costs (threads, kernels) are not counted.
        tiny_img, tiny_mask = photo(256, 192), mask(256, 192, "object")
        warm = {"method": "glcic" if method == "scenes" else method}
        httpx.post(f"{url}/api/v1/inpaint", files={"image": tiny_img, "mask": tiny_mask}, data=warm, timeout=600)
        before = proc_kib(proc.pid, "VmRSS")
        Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        data = {"method": "glcic" if method == "scenes" else method, "strategy": strategy}
        t = time.perf_counter()
        r = httpx.post(
            f"{url}/api/v1/inpaint",
            files={"image": ("photo.jpg", image, "image/jpeg"), "mask": ("mask.png", hole, "image/png")},
            data=data,
            timeout=3600,
        )
        seconds = time.perf_counter() - t
        peak = proc_kib(proc.pid, "VmHWM")
        if r.status_code != 200:
            raise SystemExit(f"{mp} MP {case}: {r.status_code} {r.text[:300]}")
        return {
            "mp": mp,
            "case": case,
            "strategy": strategy,
            "ran": r.headers.get("X-Glcic-Strategy", "?"),
            "hole_px": int((np.asarray(Image.open(io.BytesIO(hole))) > 0).sum()),
            "idle_mib": before / 1024,
            "peak_mib": peak / 1024,
            "request_mib": (peak - before) / 1024,
            "seconds": seconds,
            "in_mb": len(image) / 1e6,
            "out_mb": len(r.content) / 1e6,
            "out_type": r.headers.get("content-type", "?"),
        }
    finally:
        proc.terminate()
        proc.wait(30)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="12,40", help="megapixels, comma-separated: 12, 40")
    ap.add_argument("--cases", default=",".join(CASES), help="METHOD/MASK[@STRATEGY], comma-separated")
    args = ap.parse_args()
    cases = [(c.partition("@")[0], c.partition("@")[2] or "auto") for c in args.cases.split(",")]
    print(f"# {cpu_name()}, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start")
    print(
        "| size | method / mask | hole px | strategy asked -> ran | idle RSS MiB | peak RSS MiB "
        "| one request MiB | s | in MB | answer |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for mp in (int(s) for s in args.sizes.split(",")):
        for case, strategy in cases:
            m = measure(mp, case, strategy)
            print(
                f"| {mp} MP | {m['case']} | {m['hole_px']:,} | {m['strategy']} -> {m['ran']} | {m['idle_mib']:.0f} | "
                f"{m['peak_mib']:.0f} | {m['request_mib']:.0f} | {m['seconds']:.1f} | {m['in_mb']:.1f} | "
                f"{m['out_type']} {m['out_mb']:.1f} MB |",
                flush=True,
            )
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
