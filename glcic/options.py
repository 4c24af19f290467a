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

CLASSICAL_METHODS = ("telea", "ns", "biharmonic", "mean", "fsr", "patchmatch")
"""Methods that need no network (see :mod:`glcic.classical`); ``fsr`` is OpenCV contrib's
frequency-selective reconstruction (slow: about 0.2 s for a 64x64 image); ``patchmatch`` is
PatchMatch (Barnes et al. 2009) through PyPatchMatch, the exemplar method that copies
texture from the known pixels (it needs that package's native library:
:func:`glcic.classical.available_methods` says which methods can run here)."""
METHODS = ("glcic", *CLASSICAL_METHODS)
"""``glcic`` is the completion network; the rest are classical baselines."""
STRATEGIES = ("auto", "refine", "original", "resize", "crop")
"""Where and at what scale the network looks (see :mod:`glcic.strategies`); ``refine`` is
``auto`` plus native-scale detail from the photo's own pixels where the network ran at a
smaller scale (:mod:`glcic.refine`)."""
POSTPROCESS = ("auto", "blend", "none")
"""``blend``: the paper's fast marching + Poisson blending (Sec. 3.4) on every hole;
``auto``: the same on every hole but those a residual network (``model.residual``, both
shipped models) completed at native scale, which meet the photo already and lose hole PSNR
when blended (:func:`glcic.steps.blend_target`); ``none``: the raw fill."""
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
DEFAULT_POSTPROCESS = "auto"
"""The paper post-processes every result (Sec. 3.4); ``auto`` does where it helps (a fill
made at a smaller scale, a classical method's, a non-residual network's); ``none`` keeps the
seam exact."""
DEFAULT_PRECISION = "auto"
DEFAULT_BACKEND = "torch"

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest image (width x height) read by default; PIL's bomb guard is lifted to this."""

# --------------------------------------------------------------------------- data and evaluation

DEFAULT_DATA_ROOT = "../shared/data/celeba"
"""Where training and evaluation look for CelebA unless told otherwise."""
METRICS = ("psnr", "ssim", "hole_psnr", "hole_l1")
"""Per-image scores (see :mod:`glcic.metrics`), in report order; averaged over images."""
GRID_PERIODS = (4, 2)
"""Periods (px) of the decoder's upsampling pattern that :func:`glcic.metrics.grid_peaks` reads:
two stride-2 transposed convolutions repeat every 4 and every 2 pixels."""
TEXTURE_METRICS = ("detail", "colour_detail", *(f"grid_peak_{p}" for p in GRID_PERIODS), "stripe_peak")
"""Per-image measures of the fill's texture (:func:`glcic.texture.texture_metrics`): the hole
detail ratio of the luma and of the chroma, the grid peaks, and the stripe peak (the strongest
period from 2 to 16 px); ``NaN`` for a hole without an interior. Summarised by the median and the mean over the images where they are defined
(``detail_median``, ...)."""
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
UPSAMPLES = ("deconv", "resize")
"""How the completion network's decoder doubles its resolution: 'deconv' (the paper's 4x4 stride-1/2
transposed convolutions) or 'resize' (nearest-neighbour resize, then a 3x3 convolution)."""
DISCRIMINATORS = ("context", "patch")
"""'context': the paper's global + local discriminators joined by a fully connected layer;
'patch': an SN-PatchGAN (DeepFill v2) that gives one logit per region of the image."""
GAN_LOSSES = ("bce", "hinge")


def check_choice(
    name: str, value: Any, allowed: tuple[str, ...], error: type[InputError] = InputError, hint: str = ""
) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``error``.

    The message names the option, the allowed values and what arrived, e.g.
    ``strategy must be one of auto, refine, original, resize, crop; got 'zoom'``; ``hint``
    (for instance ``" (CLI: --strategy)"``) is appended.
    """
    if value not in allowed:
        raise error(f"{name} must be one of {', '.join(allowed)}; got {value!r}{hint}")
    return value
