"""Small C kernels for what eager PyTorch runs slowly on the CPU, compiled on first use.

:func:`library` compiles the ``*.c`` files here (``bn_relu.c``: training-mode batch norm +
ReLU; ``col2im.c``: the input gradient of convolutions run as matrix products;
``adadelta.c``: the optimiser's update in one pass; ``bf16.h``: their bfloat16 conversions)
into one shared library with the system C compiler (``cc``, or ``$CC``) for this CPU
(``-O3 -march=native -fopenmp``), caches the shared library under
``~/.cache/glcic/native`` (``$GLCIC_CACHE``, else ``$XDG_CACHE_HOME/glcic``), keyed by the
source, the compiler and the CPU, and loads it with ctypes. The kernels use OpenMP from the
runtime torch has already loaded, so they share torch's threads.

Where there is no compiler, or ``GLCIC_NATIVE=0`` is set, :func:`library` returns ``None``
and callers run plain PyTorch (the same results, slower); the reason is logged once.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

SOURCES = sorted(Path(__file__).parent.glob("*.c"))
HEADERS = sorted(Path(__file__).parent.glob("*.h"))
FLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-fno-math-errno", "-fopenmp", "-fPIC", "-shared", "-std=c99")

_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_I = ctypes.c_int
_D = ctypes.c_double
_F = ctypes.c_float
SIGNATURES = {
    "bn_relu_forward": (_I, [_P, _P, _I, _I64, _I64, _P, _P, _D, _D, _P, _P, _P, _I]),
    "bn_relu_backward": (_I, [_P, _P, _P, _I, _I64, _I64, _P, _P, _I]),
    "col2im_nhwc": (_I, [_P, _P, _I, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _I]),
    "adadelta_step": (None, [_P, _P, _P, _P, _I64, _F, _F, _F, _F, _F, _I]),
}


def cache_dir() -> Path:
    root = os.environ.get("GLCIC_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glcic"
    return Path(root) / "native"


def _cpu_key() -> str:
    """The CPU's model and feature flags (``-march=native`` compiles for exactly these)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    keep = [ln for ln in lines if ln.startswith(("model name", "flags"))][:2]
    return "\n".join(keep)


@cache
def library() -> ctypes.CDLL | None:
    """The compiled kernels, or ``None`` (disabled, or no working C compiler; logged once)."""
    if os.environ.get("GLCIC_NATIVE", "1") == "0":
        log.info("GLCIC_NATIVE=0: the native kernels are off")
        return None
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        log.warning("no C compiler (cc) found: the native kernels are off, plain PyTorch runs instead (slower)")
        return None
    try:
        version = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
        key = hashlib.sha256(
            "\0".join([*(f.read_text() for f in (*SOURCES, *HEADERS)), cc, version, " ".join(FLAGS), platform.machine(), _cpu_key()]).encode()
        ).hexdigest()[:16]
        path = cache_dir() / f"glcic-native-{key}.so"
        if not path.exists():
            build(path, cc)
            log.info("compiled the native kernels for this CPU into %s", path)
        return load(path)
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        log.warning("could not build the native kernels (%s): plain PyTorch instead (slower)", detail.strip()[:500])
        return None


def build(path: Path, cc: str, extra_flags: tuple[str, ...] = ()) -> None:
    """Compile the kernels into ``path``, atomically (a concurrent process sees all of it or none).

    Raises:
        subprocess.CalledProcessError: the compiler failed (its message in ``stderr``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        out = Path(tmp) / path.name
        cmd = [cc, *FLAGS, *extra_flags, "-o", str(out), *map(str, SOURCES), "-lm"]
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        os.replace(out, path)


def load(path: Path) -> ctypes.CDLL:
    """The compiled kernels at ``path``, with their argument types declared."""
    lib = ctypes.CDLL(str(path))
    for name, (res, args) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib
