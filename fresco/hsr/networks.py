"""The translator ``f`` (coarse -> fine), its inverse ``g`` (fine -> coarse) and the multi-head
discriminator ``D`` of method.md section 4, with configurable widths and depth.

All networks take and return single-channel patches ``(N, 1, side, side)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from fresco.ops.resample import upsampling_matrix

__all__ = ["Discriminator", "InverseTranslator", "Translator", "init_weights", "upsampling_operator"]


def upsampling_operator(n_coarse: int, ratio: int, kernel: str) -> torch.Tensor:
    """1-D upsampling matrix ``(ratio*n_coarse, n_coarse)`` (float32).

    ``bicubic``: Keys a=-0.5 with replicated borders, the bicubic baseline's kernel
    (:func:`fresco.ops.resample.upsampling_matrix`); ``bilinear``: the pixel-area
    convention of ``F.interpolate(mode="bilinear", align_corners=False)``.
    """
    if kernel == "bicubic":
        return torch.as_tensor(upsampling_matrix(n_coarse, ratio, "bicubic"), dtype=torch.float32)
    eye = torch.eye(n_coarse)[None, None]
    up = F.interpolate(eye, scale_factor=(ratio, 1), mode="bilinear", align_corners=False)
    return up[0, 0].contiguous()


def init_weights(module: nn.Module, std: float | None, slope: float = 0.0) -> None:
    """Conv weights N(0, std); BatchNorm weight N(1, std), bias 0 (the reference initialisation,
    std 0.02). ``std=None``: He (Kaiming) normal conv weights for LeakyReLU(``slope``) and BatchNorm
    weight 1. With N(0, 0.02) a narrow network's early activations have a variance near BatchNorm's
    epsilon, where Adam steps of the CPU profile's learning rate are large relative changes."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if std is None:
                nn.init.kaiming_normal_(m.weight, a=slope, nonlinearity="leaky_relu")
            else:
                nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std or 0.0)
            nn.init.zeros_(m.bias)


def _double_conv(c_in: int, c_out: int, slope: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope),
    )


class _Up(nn.Module):
    """Decoder step: bilinear x2, 1x1 conv, BN, LeakyReLU, concatenate the skip, double conv."""

    def __init__(self, c_in: int, c_out: int, slope: float) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope))
        self.conv = _double_conv(2 * c_out, c_out, slope)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat((skip, self.reduce(x)), dim=1))


class Translator(nn.Module):
    """``f``: upsampling by ``ratio`` then a U-Net with ``depth`` poolings (widths
    ``width * 2**k``); ``(N, 1, P_H, P_H) -> (N, 1, d*P_H, d*P_H)``.

    ``residual=False`` (reference): output = U-Net(upsampled patch). ``residual=True``: output =
    upsampled patch + U-Net(upsampled patch) with the last layer zero-initialised, so ``f`` starts as
    the plain interpolation. ``upsample``: ``bilinear`` (reference) or ``bicubic``.
    """

    def __init__(self, ratio: int, patch_size_h: int, width: int = 64, depth: int = 4, slope: float = 0.01,
                 residual: bool = False, upsample: str = "bilinear", init_std: float | None = 0.02) -> None:
        super().__init__()
        side = ratio * patch_size_h
        if side % (2**depth):
            raise ValueError(f"the fine patch side d*P_H = {side} must be divisible by 2**unet_depth = {2**depth}")
        self.ratio, self.patch_size_h, self.residual, self.upsample = ratio, patch_size_h, residual, upsample
        self.register_buffer("up_matrix", upsampling_operator(patch_size_h, ratio, upsample), persistent=False)
        widths = [width * 2**k for k in range(depth + 1)]
        self.stem = nn.Sequential(nn.Conv2d(1, width, 1), nn.LeakyReLU(slope), _double_conv(width, width, slope))
        self.down = nn.ModuleList(nn.Sequential(nn.MaxPool2d(2), _double_conv(widths[k], widths[k + 1], slope))
                                  for k in range(depth))
        self.up = nn.ModuleList(_Up(widths[k + 1], widths[k], slope) for k in reversed(range(depth)))
        self.head = nn.Conv2d(width, 1, 1)
        init_weights(self, init_std, slope)
        if residual:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def interpolate(self, h: torch.Tensor) -> torch.Tensor:
        """The fixed upsampling of ``h (N, 1, n, m)`` by ``d`` (any size; patch-size operators cached)."""
        rows, cols = h.shape[-2:]
        if rows == cols == self.patch_size_h:
            up_r = up_c = self.up_matrix
        else:
            up_r = upsampling_operator(rows, self.ratio, self.upsample).to(h)
            up_c = up_r if cols == rows else upsampling_operator(cols, self.ratio, self.upsample).to(h)
        return up_r @ h @ up_c.T

    def unet(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(skips[-1]))
        y = skips.pop()
        for block in self.up:
            y = block(y, skips.pop())
        return self.head(y)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.interpolate(h)
        y = self.unet(x)
        return x + y if self.residual else y


class _ResBlock(nn.Module):
    def __init__(self, width: int, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), nn.BatchNorm2d(width), nn.LeakyReLU(slope),
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), nn.BatchNorm2d(width), nn.LeakyReLU(slope),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class InverseTranslator(nn.Module):
    """``g``: 1x1 conv to ``width`` + LeakyReLU, ``blocks`` residual blocks, ``log2(d)`` stride-2 3x3
    convs (one stride-``d`` conv when ``d`` is not a power of 2), 3x3 conv to 1 channel + LeakyReLU;
    ``(N, 1, d*P, d*P) -> (N, 1, P, P)``."""

    def __init__(self, ratio: int, width: int = 64, blocks: int = 2, slope: float = 0.2,
                 init_std: float | None = 0.02) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, width, 1), nn.LeakyReLU(slope)]
        layers += [_ResBlock(width, slope) for _ in range(blocks)]
        halvings = math.log2(ratio)
        if ratio > 1 and halvings.is_integer():
            for _ in range(int(halvings)):
                layers += [nn.Conv2d(width, width, 3, stride=2, padding=1), nn.LeakyReLU(slope)]
        elif ratio > 1:
            layers += [nn.Conv2d(width, width, ratio, stride=ratio), nn.LeakyReLU(slope)]
        layers += [nn.Conv2d(width, 1, 3, padding=1), nn.LeakyReLU(slope)]
        self.net = nn.Sequential(*layers)
        init_weights(self, init_std, slope)

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        return self.net(m)


class Discriminator(nn.Module):
    """``D``: 3x3 convs 1-w, w-w (s2), w-2w, 2w-2w (s2), 2w-4w, 4w-4w (s2), 4w-8w, BN from the second
    conv on, LeakyReLU; 1x1 conv to ``heads`` channels; global average pooling.
    ``(N, 1, side, side) -> (N, heads)``; head ``r`` is material ``r``'s discriminator."""

    #: (output width multiple, stride) of the seven 3x3 convs.
    LAYOUT = ((1, 1), (1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1))

    def __init__(self, heads: int, width: int = 64, slope: float = 0.2, init_std: float | None = 0.02) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for k, (mult, stride) in enumerate(self.LAYOUT):
            c_out = width * mult
            layers.append(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=k == 0))
            if k:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(slope))
            c_in = c_out
        layers.append(nn.Conv2d(c_in, heads, 1))
        self.net = nn.Sequential(*layers)
        init_weights(self, init_std, slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).mean(dim=(-2, -1))
