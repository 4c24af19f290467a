"""One typed configuration: dataclasses, YAML presets and ``key=value`` overrides.

A run is described by a :class:`Config` (model, data, masks, training). Presets
live in ``configs/*.yaml`` (also shipped inside the package); CLI flags only
override fields (``--set train.batch_size=32``). The resolved config is written
into every run folder, checkpoint and released weight file as a plain dict.

This module holds the dataclasses and their validation; reading presets, YAML files,
overrides and plain dicts is :mod:`glcic.config_parsing`, and :func:`load_config` puts
the two together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Reading presets, overrides and plain dicts lives in glcic.config_parsing; its public names
# are re-exported here (``as``), where callers have always imported them.
from glcic.config_parsing import PRESET_DIRS as PRESET_DIRS
from glcic.config_parsing import _find_preset, _read_yaml, apply_overrides, dataclass_from_dict
from glcic.config_parsing import preset_names as preset_names
from glcic.errors import ConfigError
from glcic.options import (
    DATA_FORMATS,
    DEFAULT_DATA_ROOT,
    DISCRIMINATORS,
    GAN_LOSSES,
    HOLE_WEIGHTINGS,
    NORMS,
    OPTIMIZERS,
    OUTPUTS,
    PRECISIONS,
    PREFILLS,
    TRAIN_MASK_KINDS,
    UPSAMPLES,
    check_choice,
)


@dataclass
class ModelConfig:
    """Completion network and discriminator architecture."""

    width: float = 1.0
    """Channel multiplier of the completion network (1, 0.5, 0.25, ...)."""
    output: str = "sigmoid"
    """'sigmoid' -> values in [0, 1] (the paper); 'tanh' -> values in [-1, 1] (the report)."""
    skip: bool = False
    """FCN-style skip links from encoder layers into decoder layers of the same resolution."""
    norm: str = "batch"
    """'batch' (batch norm after every conv but the last) or 'none'."""
    dilations: list[int] = field(default_factory=lambda: [2, 4, 8, 16])
    """Dilation of the four dilated convs (the paper: 2, 4, 8, 16)."""
    disc_width: float = 1.0
    """Channel multiplier of both discriminators."""
    attributes: int = 0
    """K > 0 adds the report's auxiliary head: K attribute logits on the joint features."""
    prefill: str = "mean"
    """What fills the hole before the network sees it: 'mean' (the dataset mean pixel, the
    paper), 'telea' (OpenCV's fast-marching inpainting) or 'biharmonic' (scikit-image's
    biharmonic fill), so the network starts from the classical answer and learns what to
    add (glcic.prefill). Stored in the bundle; inference does the same."""
    residual: bool = False
    """The output is the pre-filled input plus what the network adds (x + r, with r the last
    layer's convolution, initialised to zero, and no output activation). So an untrained
    network returns its pre-fill, and keeping the pre-fill where it is right (thin holes,
    with ``prefill: biharmonic``) costs the network nothing. The value range stays the one
    ``output`` names. False: the paper's output, the activation of the last layer alone."""
    keep_thin: int = 0
    """Parts of the hole at most ``2 * keep_thin`` px wide keep the pre-fill: the network's
    correction is added only to the parts a (2 keep_thin + 1)-px square fits in (``residual``
    only; 0 = everywhere). Across a gap of one or two pixels between known pixels the biharmonic
    pre-fill beat every network we trained (docs/ablations.md, "Thin parts keep the pre-fill")."""
    upsample: str = "deconv"
    """How the decoder doubles its resolution (Table 1's two "deconv" rows): 'deconv' (the
    paper's 4x4 transposed convolutions with stride 1/2) or 'resize' (nearest-neighbour
    resize to twice the size, then a 3x3 convolution: Odena et al. 2016's cure for the
    checkerboard of transposed convolutions; the same receptive field)."""
    attention: bool = False
    """A contextual attention branch at the network's middle (DeepFill v1, Yu et al. 2018): each
    position's features get a mix of the known positions' features, weighted by their cosine
    similarity, so texture is copied from the photo (glcic.models.attention). Its output
    convolution starts at zero, so a network warm-started without it begins unchanged."""
    discriminator: str = "context"
    """'context' (the paper's global + local discriminators, Table 2) or 'patch' (an
    SN-PatchGAN as in DeepFill v2: 5x5 stride-2 convolutions with spectral norm and leaky
    ReLU, no batch norm, one logit per region of the whole image; the local patch is unused)."""
    spectral_norm: bool = True
    """The patch discriminator's spectral norm (DeepFill v2). False: the same convolutions
    plain, as LaMa's patch discriminator (which relies on R1, ``train.r1_weight``): on our
    budgets the spectral-normed one stayed at chance for hundreds of steps
    (docs/ablations.md). Only ``discriminator: patch`` has it."""
    patch_scale: int = 1
    """The patch discriminator reads the image average-pooled by this factor (and the mask
    max-pooled), so that it judges the fill's layout at 1/scale resolution and not its finest
    pixels (HiFill's division of labour: the adversarial loss at low resolution, the fine detail
    copied); at full resolution (1) our completion network fooled it with 4-8 px blocks
    (docs/ablations.md). A divisor of the image size; ``discriminator: patch`` only."""

    @property
    def value_range(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.output == "sigmoid" else (-1.0, 1.0)


def patch_scale_fits(image_size: int, scale: int) -> bool:
    """Whether the patch discriminator can read ``image_size`` px images pooled by ``scale``
    (``model.patch_scale``): the scale divides the size and leaves at least 8 px."""
    return image_size % scale == 0 and image_size // scale >= 8


@dataclass
class DataConfig:
    """Where the images come from and how they are prepared."""

    root: str = DEFAULT_DATA_ROOT
    """A CelebA root (official layout) or any folder of images."""
    format: str = "auto"
    """'celeba', 'folder' or 'auto' (celeba when list_eval_partition.txt is there)."""
    extra_roots: list[str] = field(default_factory=list)
    """More image folders or CelebA roots added to the training split only."""
    size: int = 160
    """Training resolution: images are centre-cropped to a square and resized to it."""
    train_split: str = "train"
    val_split: str = "val"
    val_fraction: float = 0.05
    """For folders without a partition file: the share held out for validation."""
    hflip: bool = True
    crop_jitter: float = 0.0
    """Random crops: up to this fraction of the side is trimmed before resizing."""
    cache: bool = True
    """Decode the whole set into memory once (fastest on a small CPU machine)."""
    num_workers: int = 0
    max_images: int = 0
    """0 = all; otherwise use only the first N images of the training split."""


@dataclass
class MaskConfig:
    """Training holes; see glcic.data.masks."""

    kind: str = "rect"
    """'rect' (the paper), 'freeform' (strokes inside the window), 'mix' (rectangles, strokes
    and blobs; see glcic.data.mask_mix) or 'folder'."""
    hole_min: int = 46
    hole_max: int = 80
    local_size: int = 80
    """Side of the local discriminator's patch; every hole must fit inside it."""
    num_holes: list[int] = field(default_factory=lambda: [1, 1])
    """[min, max] number of holes per image (all inside one local window)."""
    folder: str = ""
    """For kind='folder': a folder of mask images (white = hole)."""
    mix_weights: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    """For kind='mix': relative weights of rectangles, strokes and blobs."""
    area: list[float] = field(default_factory=lambda: [0.02, 0.6])
    """For kind='mix': [min, max] hole area of strokes and blobs, as fractions of the image."""


@dataclass
class TrainConfig:
    """Algorithm 1 and everything around it."""

    batch_size: int = 64
    t_c: int = 9000
    """Iterations of the completion network alone (masked MSE, eq. 1)."""
    t_d: int = 1000
    """Iterations of the discriminator alone."""
    t_train: int = 50000
    """Total iterations (the joint phase runs from t_c + t_d to t_train)."""
    alpha: float = 0.0004
    """Weight of the adversarial term in the joint phase (eq. 3)."""
    l1_weight: float = 0.0
    """Weight of an L1 term on the hole beside eq. (1), in every phase that trains the
    completion network (not in the paper: 0 keeps it out)."""
    hole_weighting: str = "pixel"
    """How the hole losses (MSE, L1) average over a batch: 'pixel' (every hole pixel weighs
    the same: eq. (1) summed over the batch, so large holes dominate) or 'image' (each
    image's hole mean, then the mean over images: a thin stroke weighs as much as a blob)."""
    optimizer: str = "adadelta"
    lr_c: float = 1.0
    """Completion network learning rate in the MSE-only phase."""
    lr_joint: float = 1.0
    """Completion network learning rate in the joint phase."""
    lr_d: float = 1.0
    weight_decay: float = 0.0
    adam_betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    nonsaturating: bool = True
    """Generator maximises log D(G(z)) instead of minimising log(1 - D(G(z)))."""
    real_label: float = 1.0
    """One-sided label smoothing: target for real images (the report: 0.75)."""
    gan_loss: str = "bce"
    """'bce' (the paper's eq. 2 on logits) or 'hinge' (SN-PatchGAN's: the discriminator
    minimises relu(1 - D(x)) + relu(1 + D(C(x))), the completion network -D(C(x)))."""
    fm_weight: float = 0.0
    """Weight of a feature-matching term in the joint phase (pix2pixHD, Wang et al. 2018): the
    L1 distance between the discriminator's features of the completed image and of the real
    one, layer by layer. The two differ only in the hole, so it asks the fill to look like the
    photo to the discriminator's own filters. 0 keeps it out (the paper)."""
    style_weight: float = 0.0
    """Weight of a style term on the hole's texture (not in the paper; glcic.losses.texture_style):
    the Gram matrices of fixed random filters' responses over the hole, at three scales, of the
    completed image against the photo's, relative to the photo's. Unlike the adversarial term it
    needs no discriminator: it asks the fill for the photo's amount and kind of texture, in every
    phase that trains the completion network. On scene photos a plaid of bars met it as well as
    texture would (docs/ablations.md, ``ft-resize+style0.05``). 0 keeps it out (the paper)."""
    r1_weight: float = 0.0
    """Weight of the R1 gradient penalty on the discriminator (Mescheder et al. 2018; LaMa uses
    0.001 with its patch discriminator): the discriminator also minimises r1_weight x the mean
    over real images of the squared norm of the gradient of its logits' sum with respect to the
    image, so it cannot answer with the sharp, narrow gradients a completion network exploits
    by painting stripes. ``model.discriminator: patch`` only (the context pair's fused kernels
    have no second derivative). 0 keeps it out (the paper)."""
    adv_depth: int = 0
    """Keep the adversarial and feature-matching gradients off the hole's rim (not in the paper):
    each hole pixel gets them in proportion to its depth, its chessboard distance in pixels to
    the nearest known pixel over ``adv_depth``, capped at 1, so strokes and the first pixels
    inside a blob are fitted by the reconstruction loss alone, while the discriminator still sees
    the whole completed image. A thin hole has one answer its surroundings dictate; the
    discriminator's invented detail there only costs PSNR. 0 = every hole pixel alike (the paper)."""
    d_steps: int = 1
    """Discriminator updates per joint-phase step, each on that step's real and completed
    images (the completion network's update follows the last). More than 1 lets the
    discriminator keep pace with a completion network that learns to fool it. 1: Algorithm 1."""
    attr_weight: float = 1.0
    """Weight of the auxiliary attribute BCE (needs model.attributes > 0)."""
    precision: str = "auto"
    """'fp32', 'bf16', 'fp16' (CUDA) or 'auto' (bf16 where it is fast, else fp32)."""
    channels_last: bool = True
    seed: int = 0
    deterministic: bool = False
    init_from: str = ""
    """Start step 0 from trained weights instead of random ones: a shipped model's name, a
    bundle folder, a run folder or a ckpt_*.pt file (glcic.training.init_from). Empty: random."""
    log_every: int = 50
    sample_every: int = 1000
    ckpt_every: int = 1000
    keep_ckpts: int = 3
    val_images: int = 8
    """Images in the fixed validation batch used for sample grids and val MSE."""


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        return dataclass_from_dict(cls, d, "")

    def validate(self) -> Config:
        """Check values that would otherwise fail late; raise ConfigError with a fix."""
        m, d, k, t = self.model, self.data, self.mask, self.train
        for name, value, allowed in (
            ("model.output", m.output, OUTPUTS),
            ("model.prefill", m.prefill, PREFILLS),
            ("model.norm", m.norm, NORMS),
            ("data.format", d.format, DATA_FORMATS),
            ("mask.kind", k.kind, TRAIN_MASK_KINDS),
            ("train.optimizer", t.optimizer, OPTIMIZERS),
            ("train.hole_weighting", t.hole_weighting, HOLE_WEIGHTINGS),
            ("model.upsample", m.upsample, UPSAMPLES),
            ("model.discriminator", m.discriminator, DISCRIMINATORS),
            ("train.gan_loss", t.gan_loss, GAN_LOSSES),
            ("train.precision", t.precision, PRECISIONS),
        ):
            check_choice(name, value, allowed, error=ConfigError)
        if len(m.dilations) != 4 or any(x < 1 for x in m.dilations):
            raise ConfigError(f"model.dilations must be four integers >= 1; got {m.dilations}")
        if m.width <= 0 or m.disc_width <= 0:
            raise ConfigError("model.width and model.disc_width must be > 0")
        if m.attributes < 0:
            raise ConfigError(f"model.attributes must be >= 0 (0 = no attribute head); got {m.attributes}")
        if d.size % 4 != 0 or d.size < 16:
            raise ConfigError(
                f"data.size must be a multiple of 4 and >= 16 (the network halves twice); got {d.size}"
            )
        if not 0 < k.local_size <= d.size:
            raise ConfigError(
                f"mask.local_size ({k.local_size}) must be between 1 and data.size ({d.size})"
            )
        if not 1 <= k.hole_min <= k.hole_max:
            raise ConfigError(
                f"mask.hole_min ({k.hole_min}) must be >= 1 and <= mask.hole_max ({k.hole_max})"
            )
        if k.hole_max > k.local_size:
            raise ConfigError(
                f"holes up to {k.hole_max} px do not fit inside the {k.local_size} px local patch "
                f"the local discriminator sees; set mask.hole_max <= {k.local_size} or raise "
                "mask.local_size"
            )
        if len(k.num_holes) != 2 or not 1 <= k.num_holes[0] <= k.num_holes[1]:
            raise ConfigError(f"mask.num_holes must be [min, max] with 1 <= min <= max; got {k.num_holes}")
        check_mix(k.mix_weights, k.area)
        if k.kind == "folder" and not k.folder:
            raise ConfigError("mask.kind=folder needs mask.folder=PATH (a folder of mask images)")
        if not (t.batch_size >= 1 and t.t_c >= 0 and t.t_d >= 0 and t.t_train >= 1):
            raise ConfigError("train.batch_size >= 1, train.t_c >= 0, train.t_d >= 0, train.t_train >= 1")
        if t.val_images < 1:
            raise ConfigError(
                f"train.val_images must be >= 1 (the fixed val batch of the sample grids and val/C_mse); "
                f"got {t.val_images}"
            )
        if not t.style_weight >= 0.0:
            raise ConfigError(f"train.style_weight must be >= 0 (0 = no style term); got {t.style_weight}")
        if not t.fm_weight >= 0.0:
            raise ConfigError(f"train.fm_weight must be >= 0 (0 = no feature matching); got {t.fm_weight}")
        if isinstance(t.adv_depth, bool) or not isinstance(t.adv_depth, int) or t.adv_depth < 0:
            raise ConfigError(
                f"train.adv_depth must be an integer >= 0 (pixels; 0 = the adversarial gradient on every "
                f"hole pixel alike); got {t.adv_depth!r}"
            )
        if isinstance(t.d_steps, bool) or not isinstance(t.d_steps, int) or t.d_steps < 1:
            raise ConfigError(f"train.d_steps must be an integer >= 1 (1 = Algorithm 1); got {t.d_steps!r}")
        if not t.r1_weight >= 0.0:
            raise ConfigError(f"train.r1_weight must be >= 0 (0 = no gradient penalty); got {t.r1_weight}")
        if t.r1_weight > 0 and m.discriminator != "patch":
            raise ConfigError(
                f"train.r1_weight={t.r1_weight} needs the discriminator's second derivative, which "
                f"model.discriminator={m.discriminator}'s fused kernels do not have; set "
                "model.discriminator=patch or train.r1_weight=0"
            )
        if isinstance(m.keep_thin, bool) or not isinstance(m.keep_thin, int) or m.keep_thin < 0:
            raise ConfigError(
                f"model.keep_thin must be an integer >= 0 (hole parts up to twice that many pixels wide keep "
                f"the pre-fill; 0 = none); got {m.keep_thin!r}"
            )
        if m.keep_thin and not m.residual:
            raise ConfigError(
                f"model.keep_thin={m.keep_thin} keeps the pre-fill in the hole's thin parts, which only a residual "
                "network has: set model.residual=true (with model.prefill=biharmonic) or drop model.keep_thin"
            )
        if isinstance(m.patch_scale, bool) or not isinstance(m.patch_scale, int) or m.patch_scale < 1:
            raise ConfigError(f"model.patch_scale must be an integer >= 1 (1 = full resolution); got {m.patch_scale!r}")
        if m.patch_scale > 1 and m.discriminator != "patch":
            raise ConfigError(
                f"model.patch_scale={m.patch_scale} applies to the patch discriminator only; "
                "set model.discriminator=patch or drop model.patch_scale"
            )
        if not patch_scale_fits(d.size, m.patch_scale):
            raise ConfigError(
                f"model.patch_scale={m.patch_scale} must divide data.size={d.size} "
                "and leave at least 8 px; pick 2 or 4"
            )
        if not m.spectral_norm and m.discriminator != "patch":
            raise ConfigError(
                f"model.spectral_norm=false applies to the patch discriminator only; "
                f"model.discriminator={m.discriminator} has no spectral norm to remove; "
                "set model.discriminator=patch or drop model.spectral_norm"
            )
        if m.discriminator == "patch" and m.attributes > 0:
            raise ConfigError(
                f"model.attributes={m.attributes} needs the context discriminator's joint features, and "
                "model.discriminator=patch has none; set model.discriminator=context or model.attributes=0"
            )
        if not t.l1_weight >= 0.0:
            raise ConfigError(f"train.l1_weight must be >= 0 (0 = the paper's MSE alone); got {t.l1_weight}")
        if not 0.0 < t.real_label <= 1.0:
            raise ConfigError(f"train.real_label must be in (0, 1]; got {t.real_label}")
        return self


def check_mix(weights: list[float], area: list[float]) -> None:
    """The mix generator's settings: three weights >= 0 (not all 0) and an area range in (0, 1)."""
    if len(weights) != 3 or any(x < 0 for x in weights) or sum(weights) <= 0:
        raise ConfigError(
            f"mask.mix_weights must be 3 weights >= 0 for rect, stroke, blob, not all 0; got {list(weights)}"
        )
    if len(area) != 2 or not 0 < area[0] <= area[1] < 1:
        raise ConfigError(
            f"mask.area must be [min, max] fractions of the image with 0 < min <= max < 1; got {list(area)}"
        )


def load_config(preset_or_path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Resolve a config: defaults <- preset or YAML file <- ``key=value`` overrides.

    Args:
        preset_or_path: a preset name (``paper``, ``report``, ``cpu``, ...) or a YAML path.
        overrides: strings like ``train.batch_size=32`` or ``model.dilations=[1,2,4,8]``.
    """
    raw: dict[str, Any] = {}
    if preset_or_path is not None:
        raw = _read_yaml(_find_preset(str(preset_or_path)))
    apply_overrides(raw, overrides or [])
    return Config.from_dict(raw).validate()


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
