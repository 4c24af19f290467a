"""Start a run from trained weights (``train.init_from``): fine-tuning and warm starts.

``glcic train --init-from SOURCE`` (or ``--set train.init_from=SOURCE``) starts step 0 from
the weights of a shipped model's name (``faces``, ``scenes``), a bundle folder, a run
folder (its latest checkpoint) or a ``ckpt_*.pt`` file, instead of a random
initialisation: fine-tune a shipped model on your own photos, or continue a run under a
changed option. Only the weights come over; the optimisers, the step count, the random
streams and the mean pixel start fresh (``--resume`` is what continues a run exactly).

What loads:
- The completion network: every tensor. The two networks must have tensors of the same
  shapes (the same ``model.width`` and ``norm``); a difference is refused by name. The
  dilations may differ (they change no shape): the weights then run at the new dilations,
  as when a 64 px network with dilations 2, 4, 8, 8 starts a 128 px one with 16. One
  exception: when the source's output means something else (``model.output`` or
  ``model.residual`` differ) its output layer is not copied, and the new one keeps its own
  initialisation (zero for a residual output, so the warm-started network begins at its
  pre-fill). Likewise, when ``model.upsample`` differs, the two upsampling layers (Table 1's
  deconvolutions, or their resize-convolutions) start fresh and every other layer loads; and
  a contextual attention branch (``model.attention``) the source lacks starts at its own
  initialisation (a zero update), so the warm-started network begins as the source. A source
  with the branch into a network without it is refused (its weights would be lost).
- The discriminators, from a checkpoint whose discriminator has the same shapes (the same
  ``data.size``, ``mask.local_size``, ``model.disc_width``, ``model.attributes``); otherwise
  they start fresh, which the run says. A bundle holds no discriminator.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from glcic.config import Config, ModelConfig
from glcic.errors import BundleError, ConfigError
from glcic.models.completion import layer_table
from glcic.training.checkpoint import checkpoint_dir, load_checkpoint
from glcic.training.step import Nets

OUTPUT_LAYER = "layers.16."
"""Prefix of the completion network's output layer in its state dict (Table 1's last row)."""
UPSAMPLE_LAYERS = tuple(f"layers.{i}." for i, spec in enumerate(layer_table()) if spec.kind == "deconv")
"""Prefixes of the two upsampling layers (Table 1's deconvolutions)."""
ATTENTION = "attention."
"""Prefix of the contextual attention branch (``model.attention``)."""


def read_source(source: str) -> tuple[ModelConfig, dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """The model config, completion weights and (from a checkpoint) discriminator weights of ``source``.

    Raises:
        ConfigError: ``source`` is none of a shipped model's name, a bundle folder, a run
            folder or a checkpoint file, or cannot be read.
    """
    from glcic.bundle import load_bundle

    path = Path(source)
    try:
        if path.suffix == ".pt" or checkpoint_dir(path).is_dir():
            state = load_checkpoint(path)
            model = Config.from_dict(state["config"]).model
            return model, state["completion"], state.get("discriminator")
        net, info = load_bundle(source)
        return info.model, net.state_dict(), None
    except BundleError as e:
        raise ConfigError(
            f"train.init_from={source!r}: {e}; it also takes a run folder (its latest checkpoint) or a "
            "ckpt_*.pt file"
        ) from e


def completion_weights(
    source: str, src: ModelConfig, weights: dict[str, torch.Tensor], cfg: ModelConfig, own: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """``weights`` checked against the new network's state ``own``; and the prefixes of the
    layers that keep their own initialisation (:data:`OUTPUT_LAYER`, :data:`UPSAMPLE_LAYERS`,
    :data:`ATTENTION`).

    Raises:
        ConfigError: a tensor is missing or of another shape (a different layout).
    """
    same_output = (src.output, src.residual) == (cfg.output, cfg.residual)
    fresh = () if same_output else (OUTPUT_LAYER,)
    if src.upsample != cfg.upsample:
        fresh += UPSAMPLE_LAYERS
    if cfg.attention and not src.attention:
        fresh += (ATTENTION,)
    if src.attention and not cfg.attention:
        raise ConfigError(
            f"train.init_from={source!r} has a contextual attention branch and this config does not; "
            "set model.attention=true to keep it"
        )
    chosen: dict[str, torch.Tensor] = {}
    for key, mine in own.items():
        if key.startswith(fresh):
            continue
        theirs = weights.get(key)
        if theirs is None or theirs.shape != mine.shape:
            found = "missing" if theirs is None else f"of shape {tuple(theirs.shape)}"
            raise ConfigError(
                f"train.init_from={source!r}: its completion network does not fit this one ({key} is {found} "
                f"there, {tuple(mine.shape)} here). Its layout: width {src.width}, norm {src.norm}; this "
                f"config's: width {cfg.width}, norm {cfg.norm}. Set the same model.width and model.norm"
            )
        chosen[key] = theirs
    return chosen, fresh


def init_from(source: str, cfg: Config, nets: Nets, main: bool = True) -> dict[str, Any]:
    """Copy ``source``'s weights into the fresh ``nets`` (see the module docstring); return what loaded.

    Returns:
        ``{"output_layer": bool, "discriminator": bool}``: whether the output layer and the
        discriminators came from ``source``.
    """
    src, weights, disc = read_source(source)
    own = nets.netC.state_dict()
    chosen, fresh = completion_weights(source, src, weights, cfg.model, own)
    same_output = OUTPUT_LAYER not in fresh
    nets.netC.load_state_dict({**own, **chosen})
    disc_own = nets.netD.state_dict()
    disc_fits = disc is not None and disc.keys() == disc_own.keys() and all(
        disc[k].shape == disc_own[k].shape for k in disc_own
    )
    if disc_fits:
        nets.netD.load_state_dict(disc)
    if main:
        notes = []
        if not same_output:
            notes.append(
                f"its output layer was not copied (output {src.output}, residual {src.residual} there; "
                f"{cfg.model.output}, {cfg.model.residual} here)"
            )
        if ATTENTION in fresh:
            notes.append("its contextual attention branch starts at zero (the source has none)")
        if UPSAMPLE_LAYERS[0] in fresh:
            notes.append(f"its upsampling layers were not copied (upsample {src.upsample} there, "
                         f"{cfg.model.upsample} here)")
        notes.append("discriminators too" if disc_fits else "discriminators start fresh")
        print(f"glcic train: completion network initialised from {source}; {'; '.join(notes)}", file=sys.stderr)
    return {"output_layer": same_output, "discriminator": disc_fits}
