"""A tiny random pipeline built like the shipped ones, for tests of the inference paths."""

from __future__ import annotations

from pathlib import Path

import torch

from glcic.bundle import BundleInfo, save_bundle
from glcic.config import ModelConfig
from glcic.models.completion import CompletionNetwork
from glcic.pipeline import InpaintPipeline

RES = 32
"""The tiny network's own resolution."""


def tiny_residual_pipe(folder: Path, last_std: float = 0.0, residual: bool = True) -> InpaintPipeline:
    """A width-1/8 network pre-filled like the shipped ones (biharmonic, residual), with
    random batch-norm statistics, saved in ``folder`` and loaded in fp32.

    Args:
        last_std: if > 0, the last layer's weights are drawn with this spread (as
            initialised they are zero, and the output is the pre-fill everywhere).
        residual: False: the same network with the paper's output (a sigmoid, not the
            pre-fill plus a correction).
    """
    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, prefill="biharmonic", residual=residual))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    if last_std > 0:
        last = next(m for m in net.layers[-1] if isinstance(m, torch.nn.Conv2d))
        torch.nn.init.normal_(last.weight, std=last_std)
    info = BundleInfo(model=net.cfg, resolution=RES, mean_pixel=[0.5, 0.4, 0.3], name="tiny", license="test only")
    return InpaintPipeline.from_pretrained(save_bundle(folder, net, info), precision="fp32")
