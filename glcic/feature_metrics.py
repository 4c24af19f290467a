"""LPIPS and FID from local weight files (glcic never downloads weights).

Both need a pretrained network that glcic cannot ship, so the user gives its weights:

- **LPIPS** (Zhang et al. 2018, AlexNet variant): a state dict in the layout of the
  ``lpips`` package's ``LPIPS(net="alex")`` (keys ``net.slice1.0.weight`` ...
  ``lin4.model.1.weight``), saved with ``torch.save(model.state_dict(), path)`` or as
  safetensors. Images in [0, 1]; lower is more similar.
- **FID** (Heusel et al. 2017): the TensorFlow-ported Inception-v3 of ``pytorch-fid``
  (``pt_inception-2015-12-05-6726825d.pth``; keys ``Conv2d_1a_3x3.conv.weight`` ...
  ``Mixed_7c.branch_pool.conv.weight``, ``fc.weight``), pool3 features (2048-d).

The network definitions are written here from the published architectures; loading
checks every key and shape and says what is missing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from glcic.errors import InputError


def load_state_dict_file(path: str | Path, what: str, flag: str) -> dict[str, torch.Tensor]:
    """Read a .pth/.pt (``torch.load(weights_only=True)``) or .safetensors state dict."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{flag} {p}: no such file; give a local {what} weight file (glcic never downloads weights)")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(p))
        else:
            state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, pickled objects, wrong format
        raise InputError(f"{flag} {p} is not a readable state dict ({type(e).__name__}: {e})") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{flag} {p} does not hold a state dict of tensors")
    return state


def _load_into(module: nn.Module, state: dict[str, torch.Tensor], what: str, flag: str, optional: tuple[str, ...] = ()) -> None:
    own = module.state_dict()
    missing = [k for k in own if k not in state and not k.startswith(optional)]
    if missing:
        raise InputError(
            f"{flag}: the file is not {what} weights: {len(missing)} key(s) missing, e.g. "
            f"{', '.join(missing[:3])}"
        )
    bad = [k for k in own if k in state and state[k].shape != own[k].shape]
    if bad:
        k = bad[0]
        raise InputError(f"{flag}: {k} has shape {tuple(state[k].shape)}; {what} expects {tuple(own[k].shape)}")
    module.load_state_dict({k: state[k] for k in own if k in state}, strict=False)


# --------------------------------------------------------------------------------------
# LPIPS (AlexNet)
# --------------------------------------------------------------------------------------


class _Lin(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))


class LPIPS(nn.Module):
    """LPIPS with AlexNet features, in the ``lpips`` package's parameter layout.

    Shapes: ``forward(a, b)`` with a, b (B, 3, H, W) in [0, 1]; returns (B,).
    """

    CHANNELS = (64, 192, 384, 256, 256)

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        relu = lambda: nn.ReLU(inplace=False)  # noqa: E731
        pool = lambda: nn.MaxPool2d(3, 2)  # noqa: E731
        # Indices follow torchvision's alexnet.features, as the lpips package's slices do.
        self.net = nn.Module()
        self.net.slice1 = nn.Sequential()
        self.net.slice1.add_module("0", nn.Conv2d(3, 64, 11, 4, 2))
        self.net.slice1.add_module("1", relu())
        self.net.slice2 = nn.Sequential()
        self.net.slice2.add_module("2", pool())
        self.net.slice2.add_module("3", nn.Conv2d(64, 192, 5, padding=2))
        self.net.slice2.add_module("4", relu())
        self.net.slice3 = nn.Sequential()
        self.net.slice3.add_module("5", pool())
        self.net.slice3.add_module("6", nn.Conv2d(192, 384, 3, padding=1))
        self.net.slice3.add_module("7", relu())
        self.net.slice4 = nn.Sequential()
        self.net.slice4.add_module("8", nn.Conv2d(384, 256, 3, padding=1))
        self.net.slice4.add_module("9", relu())
        self.net.slice5 = nn.Sequential()
        self.net.slice5.add_module("10", nn.Conv2d(256, 256, 3, padding=1))
        self.net.slice5.add_module("11", relu())
        for i, c in enumerate(self.CHANNELS):
            self.add_module(f"lin{i}", _Lin(c))
        self.eval()

    @classmethod
    def from_file(cls, path: str | Path, flag: str = "--lpips-weights") -> LPIPS:
        state = load_state_dict_file(path, "LPIPS (alex)", flag)
        state = {k.replace("scaling_layer.", ""): v for k, v in state.items()}
        m = cls()
        _load_into(m, state, "LPIPS (alex)", flag, optional=("shift", "scale"))
        return m.eval()

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        xa = ((a * 2 - 1) - self.shift) / self.scale  # (B, 3, H, W)
        xb = ((b * 2 - 1) - self.shift) / self.scale
        total = torch.zeros(a.shape[0], device=a.device)
        slices = [self.net.slice1, self.net.slice2, self.net.slice3, self.net.slice4, self.net.slice5]
        for i, sl in enumerate(slices):
            xa, xb = sl(xa), sl(xb)
            na = xa / (xa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)  # unit length over channels
            nb = xb / (xb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            d = getattr(self, f"lin{i}").model[1]((na - nb).pow(2))  # (B, 1, h, w)
            total = total + d.mean(dim=(1, 2, 3))
        return total


# --------------------------------------------------------------------------------------
# FID Inception-v3 (the TensorFlow graph ported by pytorch-fid)
# --------------------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, **kw) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg(x: torch.Tensor) -> torch.Tensor:
    # The TF graph averages without the zero padding (count_include_pad=False).
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg(x)),
            ],
            1,
        )


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, 3, stride=2),
            ],
            1,
        )


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x
        for name in ("branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"):
            d = getattr(self, name)(d)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
                d,
                self.branch_pool(_avg(x)),
            ],
            1,
        )


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin: int, pool: str) -> None:
        super().__init__()
        self.pool = pool  # "avg" in Mixed_7b; "max" in Mixed_7c (a quirk of the TF graph)
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        p = _avg(x) if self.pool == "avg" else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(a),
                self.branch3x3_2b(a),
                self.branch3x3dbl_3a(d),
                self.branch3x3dbl_3b(d),
                self.branch_pool(p),
            ],
            1,
        )


class FIDInception(nn.Module):
    """Inception-v3 pool3 features (B, 2048) of images (B, 3, H, W) in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, "avg")
        self.Mixed_7c = InceptionE(2048, "max")
        self.fc = nn.Linear(2048, 1008)  # in the weight file; pool3 features are taken before it
        self.eval()

    @classmethod
    def from_file(cls, path: str | Path, flag: str = "--fid-weights") -> FIDInception:
        m = cls()
        _load_into(m, load_state_dict_file(path, "FID Inception", flag), "FID Inception", flag, optional=("fc.",))
        return m.eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = x * 2 - 1  # (B, 3, 299, 299) in [-1, 1]
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                     "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)  # (B, 2048)


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two (N, D) feature sets."""
    from scipy import linalg

    if len(feats_a) < 2 or len(feats_b) < 2:
        raise InputError("FID needs at least 2 images per set (and thousands for a stable value)")
    mu_a, mu_b = feats_a.mean(0), feats_b.mean(0)
    sa, sb = np.cov(feats_a, rowvar=False), np.cov(feats_b, rowvar=False)
    with warnings.catch_warnings():
        # Fewer images than feature dimensions make the covariances singular; the square
        # root is still defined, and pytorch-fid computes it the same way.
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(sa.dot(sb))
        if not np.isfinite(covmean).all():  # regularise as pytorch-fid does
            eps = np.eye(sa.shape[0]) * 1e-6
            covmean = linalg.sqrtm((sa + eps).dot(sb + eps))
    covmean = np.real(covmean)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(sa) + np.trace(sb) - 2 * np.trace(covmean))
