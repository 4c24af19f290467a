"""Every user-facing choice and default, in one place.

The CLI (``choices=``), the Python API, the HTTP server and the evaluation all read
their option lists and defaults from here, so they can never drift apart. This
module imports nothing heavy (no torch), so the CLI can build its ``--help`` and
run the classical methods cheaply.
"""

from __future__ import annotations

from typing import Any

from glcic.errors import InputError

# --------------------------------------------------------------------------- inference

CLASSICAL_METHODS = ("telea", "ns", "biharmonic", "mean", "fsr")
"""Methods that need no network (see :mod:`glcic.classical`); ``fsr`` is OpenCV contrib's
frequency-selective reconstruction (slow: about 0.2 s for a 64x64 image)."""
METHODS = ("glcic", *CLASSICAL_METHODS)
"""``glcic`` is the completion network; the rest are classical baselines."""
STRATEGIES = ("auto", "original", "resize", "crop")
"""Where and at what scale the network looks (see :mod:`glcic.strategies`)."""
POSTPROCESS = ("none", "blend")
"""``blend``: the paper's fast marching + Poisson blending (Sec. 3.4)."""
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
"""Numeric precision of the network (see :mod:`glcic.precision`); fp16 is CUDA only."""
BACKENDS = ("torch", "onnxruntime")
DEVICES_HELP = "'auto', 'cpu', 'cuda' or 'cuda:N'"

SHIPPED_MODELS = ("faces", "scenes")
"""The models that ship inside the package (``glcic/weights/NAME``): ``faces`` completes
aligned face photos (CelebA), ``scenes`` any photograph (the role of the paper's Places2
model). Each is a name wherever a model is asked for (``from_pretrained``, ``--model``, the
server's ``model`` field); anything else is read as a bundle folder."""
DEFAULT_MODEL = "default"
"""The alias of the default model: :data:`DEFAULT_MODEL_TARGET`."""
DEFAULT_MODEL_TARGET = "scenes"
"""The shipped model ``default`` names (and ``glcic inpaint`` / ``glcic serve`` use unasked)."""
MODEL_NAMES = (DEFAULT_MODEL, *SHIPPED_MODELS)
"""Every name a shipped model answers to."""
MODEL_HELP = (
    f"a shipped model: {', '.join(repr(n) for n in SHIPPED_MODELS)} or {DEFAULT_MODEL!r} "
    f"(= {DEFAULT_MODEL_TARGET!r}, the default); or a bundle folder written by `glcic export`"
)
"""The help of every ``--model`` flag."""
DEFAULT_METHOD = "glcic"
DEFAULT_STRATEGY = "auto"
DEFAULT_POSTPROCESS = "blend"
"""The paper post-processes every result (Sec. 3.4); ``none`` keeps the seam exact."""
DEFAULT_PRECISION = "auto"
DEFAULT_BACKEND = "torch"

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest image (width x height) read by default; PIL's bomb guard is lifted to this."""

# --------------------------------------------------------------------------- data and evaluation

DEFAULT_DATA_ROOT = "../shared/data/celeba"
"""Where training and evaluation look for CelebA unless told otherwise."""
METRICS = ("psnr", "ssim", "hole_psnr", "hole_l1")
"""Per-image scores (see :mod:`glcic.metrics`), in report order."""
NATIVE_SIZE = "native"
"""``glcic evaluate --size native``: every image at its own size, through the pipeline with the
inference defaults above (instead of cropped and resized to the model's resolution)."""
NVIDIA_BINS = "nvidia-bins"
"""``glcic evaluate --masks nvidia-bins``: every method on NVIDIA masks in each of :data:`NVIDIA_AREA_BINS`."""
NVIDIA_AREA_BINS = ((1, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 60))
"""Hole-area bins (percent of the image) of the NVIDIA test masks, as in Liu et al. 2018."""
SHAPE_AREA_DEFAULT = (0.05, 0.40)
"""Hole area (fractions of the image) of ``glcic evaluate --masks strokes`` and ``blobs``
without ``:LO-HI``: from a few strokes to an object of a third of the photo."""

# --------------------------------------------------------------------------- config fields

OUTPUTS = ("sigmoid", "tanh")
NORMS = ("batch", "none")
DATA_FORMATS = ("auto", "celeba", "folder")
TRAIN_MASK_KINDS = ("rect", "freeform", "mix", "folder")
PREFILLS = ("mean", "telea", "biharmonic")
OPTIMIZERS = ("adadelta", "adam")
HOLE_WEIGHTINGS = ("pixel", "image")


def check_choice(
    name: str, value: Any, allowed: tuple[str, ...], error: type[InputError] = InputError, hint: str = ""
) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``error``.

    The message names the option, the allowed values and what arrived, e.g.
    ``strategy must be one of auto, original, resize, crop; got 'zoom'``; ``hint``
    (for instance ``" (CLI: --strategy)"``) is appended.
    """
    if value not in allowed:
        raise error(f"{name} must be one of {', '.join(allowed)}; got {value!r}{hint}")
    return value
