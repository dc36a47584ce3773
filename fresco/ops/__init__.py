"""The ground floor: plain numpy operators that every layer may use and that import nothing of fresco
above them. Degradation (blur + decimation, noise), interpolation kernels and upsampling, rigid warps
and resampling, and the consistency steps built from them (back-projection, total preservation)."""

from fresco.ops.consistency import back_project, preserve_total
from fresco.ops.degradation import (
    DEGRADATION_KINDS,
    add_noise,
    apply_separable,
    default_kernel_size,
    default_sigma,
    degradation_matrix,
    degrade,
    noise_sigma,
    sample_phase,
)
from fresco.ops.resample import KERNELS, upsample, upsampling_matrix
from fresco.ops.warp import RigidTransform, sample_at

__all__ = ["DEGRADATION_KINDS", "KERNELS", "RigidTransform", "add_noise", "apply_separable", "back_project",
           "default_kernel_size", "default_sigma", "degradation_matrix", "degrade", "noise_sigma", "preserve_total",
           "sample_at", "sample_phase", "upsample", "upsampling_matrix"]
