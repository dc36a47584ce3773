"""Every number of stage 2 (method.md section 4) as one dataclass; reference values are the defaults.

``HSRConfig()`` with ``iterations=40_000`` is the reference (``paper``) setting. :func:`cpu_config`
is the CPU profile (narrower networks, fewer iterations, the documented CPU-only options on; see
docs/hsr.md for the measurements behind each choice). These are the only source of the values: the
``hsr`` config group's ``paper`` and ``cpu`` options are registered from them (:mod:`fresco.configs`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fresco.ops.checks import typed_settings

__all__ = ["BN_MODES", "UPSAMPLE_MODES", "HSRConfig", "cpu_config", "paper_config", "profile_config"]

BN_MODES = ("train", "eval")
UPSAMPLE_MODES = ("bilinear", "bicubic")
WARM_START_SOURCES = ("fine", "coarse")


@dataclass
class HSRConfig:
    """Stage-2 settings. Fields marked (ref) are the authors' values; the rest are options that the
    ``paper`` profile leaves off.

    Schedule: ``iterations`` (ref 40,000) of one G step then one D step; Adam ``lr`` (ref 5e-5),
    ``betas`` (ref (0.5, 0.999)), held for ``lr_constant_fraction`` (ref 0.5) of training, then
    decayed linearly to 0.
    Sampling: ``batch_size`` B (ref 8) patches per material per iteration, coarse side
    ``patch_size_h`` P_H (ref 12; fine side d*P_H), values times ``scale_up`` (ref 2), side patches
    with probability ``side_prob`` (ref 0.2).
    Losses: ``w_gan`` (ref 1), ``w_inv`` (ref 10), ``w_scale`` (ref 15); R1 penalty weight
    ``r1_gamma`` every ``r1_every`` iterations (ref off; the spec's optional value is gamma=2).
    Networks: U-Net base width ``unet_width`` (ref 64) and ``unet_depth`` poolings (ref 4, so d*P_H
    must be divisible by 2**unet_depth); inverse ``inv_width`` (ref 64) with ``inv_blocks`` (ref 2)
    residual blocks; discriminator ``disc_width`` (ref 64); weights N(0, ``init_std``) (ref 0.02);
    LeakyReLU slopes ``unet_slope`` (ref 0.01), ``inv_slope`` and ``disc_slope`` (ref 0.2);
    ``init_std=None`` uses He initialisation instead (CPU option).
    CPU options: ``residual`` (f = upsampled patch + U-Net residual with a zero-initialised last
    layer, so f starts as plain interpolation), ``upsample`` (the interpolation f starts from: ref
    bilinear; bicubic = Keys a=-0.5, the bicubic baseline's kernel), ``warm_start_iterations``
    supervised steps before the adversarial ones (see :mod:`fresco.hsr.module`) at ``warm_start_lr``
    decayed linearly to 0, on ``warm_start_source`` "fine" (S_M) or "coarse" (S_H itself) patches
    re-degraded by a Gaussian of ``warm_start_sigma`` (None: FWHM = d); ``frozen_bn``: after a warm
    start, f and g train with BatchNorm running statistics (measured worse; off).
    Inference: ``inference_bn`` "train" (ref: batch statistics) or "eval" (running statistics),
    window ``stride`` (ref 1), ``inference_batch_size`` windows per forward pass. ``add_hsi_misfit``
    (applied by :class:`fresco.methods.fresco.Fresco`, ref off): add the bicubic upsampling of stage
    1's misfit of the HSI, ``Y_H - S_H C^T``, to the H-SRI, so an untrained residual translator gives
    exactly the bicubic interpolation of the HSI. ``preserve_total`` and ``back_projection`` (also
    applied by :class:`fresco.methods.fresco.Fresco`, ref off; :mod:`fresco.ops.consistency`): the
    translated maps' per-pixel sum is set to the bicubic interpolation of the coarse maps' sum, and
    the H-SRI gets ``back_projection`` steps of iterative back-projection onto the HSI with the
    assumed Gaussian degradation (``warm_start_sigma``).
    IAT: ``independent=True`` trains one f, g and single-head D per material (same budget).
    Bookkeeping: ``checkpoint_every`` iterations, ``eval_every`` iterations for the optional
    evaluation hook (0 = only at the end), ``log_every``.
    """

    iterations: int = 40_000
    batch_size: int = 8
    patch_size_h: int = 12
    scale_up: float = 2.0
    side_prob: float = 0.2
    rotate: bool = True
    lr: float = 5e-5
    betas: tuple[float, float] = (0.5, 0.999)
    lr_constant_fraction: float = 0.5
    w_gan: float = 1.0
    w_inv: float = 10.0
    w_scale: float = 15.0
    r1_gamma: float = 0.0
    r1_every: int = 5
    unet_width: int = 64
    unet_depth: int = 4
    unet_slope: float = 0.01
    inv_width: int = 64
    inv_blocks: int = 2
    inv_slope: float = 0.2
    disc_width: int = 64
    disc_slope: float = 0.2
    init_std: float | None = 0.02
    residual: bool = False
    upsample: str = "bilinear"
    warm_start_iterations: int = 0
    warm_start_lr: float = 1e-3
    warm_start_source: str = "fine"
    warm_start_sigma: float | None = None
    frozen_bn: bool = False
    inference_bn: str = "train"
    stride: int = 1
    inference_batch_size: int = 256
    add_hsi_misfit: bool = False
    preserve_total: bool = False
    back_projection: int = 0
    independent: bool = False
    checkpoint_every: int = 100
    eval_every: int = 0
    log_every: int = 10

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        if self.inference_bn not in BN_MODES:
            raise ValueError(f"inference_bn must be one of {BN_MODES}; got {self.inference_bn!r}")
        if self.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}; got {self.upsample!r}")
        if self.warm_start_source not in WARM_START_SOURCES:
            raise ValueError(f"warm_start_source must be one of {WARM_START_SOURCES}; got {self.warm_start_source!r}")
        for name in ("iterations", "batch_size", "patch_size_h", "stride", "inference_batch_size", "r1_every",
                     "unet_width", "inv_width", "disc_width"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"HSRConfig.{name} must be a positive integer; got {getattr(self, name)}")
        if int(self.back_projection) < 0:
            raise ValueError(f"HSRConfig.back_projection must be >= 0 (0 = off); got {self.back_projection}")
        if not 0.0 <= self.side_prob <= 1.0:
            raise ValueError(f"side_prob must be in [0, 1]; got {self.side_prob}")

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> HSRConfig:
        """Build from a settings mapping (the ``hsr`` config group), rejecting unknown names and values
        of the wrong type with one message (:func:`fresco.ops.checks.typed_settings`)."""
        return cls(**typed_settings(cls, settings, "hsr"))

    def replace(self, **changes: Any) -> HSRConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(out["betas"])
        return out


def paper_config(**changes: Any) -> HSRConfig:
    """The reference schedule and widths (a GPU job)."""
    return HSRConfig(**changes)


#: The CPU profile's departures from the reference (measured in docs/hsr.md).
CPU_OVERRIDES: dict[str, Any] = {
    "iterations": 50,
    "unet_width": 8,
    "inv_width": 8,
    "disc_width": 8,
    "init_std": None,
    "residual": True,
    "upsample": "bicubic",
    "warm_start_iterations": 200,
    "warm_start_lr": 3e-3,
    "warm_start_source": "fine",
    "lr": 5e-5,
    "inference_bn": "eval",
    "add_hsi_misfit": True,
    "preserve_total": True,
    "back_projection": 5,
    "checkpoint_every": 50,
}


def cpu_config(**changes: Any) -> HSRConfig:
    """Narrower networks, fewer iterations and the CPU options (docs/hsr.md)."""
    return HSRConfig(**{**CPU_OVERRIDES, **changes})


def profile_config(profile: str | None = None, **changes: Any) -> HSRConfig:
    """``"paper"`` or ``"cpu"``; ``None`` picks ``paper`` when CUDA is available, else ``cpu``."""
    if profile is None:
        import torch

        profile = "paper" if torch.cuda.is_available() else "cpu"
    if profile == "paper":
        return paper_config(**changes)
    if profile == "cpu":
        return cpu_config(**changes)
    raise ValueError(f"unknown stage-2 profile {profile!r}; choose 'paper' or 'cpu'")
