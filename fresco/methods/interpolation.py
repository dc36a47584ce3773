"""Interpolation baselines (bicubic, Lanczos) with least-squares spectral upsampling.

H-SRI: each HSI band is upsampled by the ratio ``d`` with a separable kernel. Coarse pixel ``i``
is taken to sample fine coordinate ``i*d + phase``; the default phase ``(d-1)/2`` is the
pixel-area convention (fine pixel ``j`` at coarse coordinate ``(j + 0.5)/d - 0.5``, as
``torch.nn.functional.interpolate(align_corners=False)``). When the pair records how its HSI was
sampled (``pair.acquisition.phase``, set by the simulator: 0 for plain decimation,
``d//2`` for nearest), that phase is used. Borders replicate the edge pixel.

M-SRI: the spectral lift (:func:`fresco.methods.spectral.spectral_upsample`, also ``method=spectral_lift``):
every MSI pixel lifted to ``K_H`` bands by a linear MMSE estimate through the SRF ``P``; per pixel, so
no registration is needed.
"""

from __future__ import annotations

from fresco.data.pair import FusionPair
from fresco.methods.base import FusionMethod, MethodOutput
from fresco.methods.spectral import DEFAULT_SPECTRAL_RANK, spectral_upsample
from fresco.ops.consistency import back_project
from fresco.ops.resample import KERNELS, upsample


class InterpolationBaseline(FusionMethod):
    """H-SRI by ``kernel`` interpolation of the HSI; M-SRI by least-squares spectral upsampling.

    ``back_projection > 0`` (method ``bicubic_bp``) refines the interpolated H-SRI by that many steps
    of iterative back-projection onto the HSI with an assumed Gaussian blur of ``sigma`` fine pixels
    (``None``: FWHM = d), see :func:`fresco.ops.consistency.back_project`: the model-based reference
    for FRESCO's own back-projection step.
    """

    def __init__(self, name: str = "bicubic", kernel: str = "bicubic",
                 spectral_rank: int | None = DEFAULT_SPECTRAL_RANK, noise_var: float | None = None,
                 back_projection: int = 0, sigma: float | None = None) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"unknown interpolation kernel '{kernel}'; choose one of {sorted(KERNELS)}")
        if int(back_projection) < 0:
            raise ValueError(f"back_projection must be >= 0 (0 = plain interpolation); got {back_projection}")
        self.name, self.kernel, self.spectral_rank, self.noise_var = name, kernel, spectral_rank, noise_var
        self.back_projection, self.sigma = int(back_projection), sigma

    def run(self, pair: FusionPair) -> MethodOutput:
        times: dict[str, float] = {}
        with self.timed(times, "h_sri"):
            h_sri = upsample(pair.hsi, pair.ratio, self.kernel, pair.acquisition.phase)
            if self.back_projection:
                h_sri = back_project(h_sri, pair.hsi, pair.ratio, self.back_projection, sigma=self.sigma,
                                     kernel=self.kernel)
        with self.timed(times, "m_sri"):
            m_sri = spectral_upsample(pair.msi, pair.hsi, pair.srf, self.spectral_rank, self.noise_var)
        return MethodOutput(m_sri=m_sri, h_sri=h_sri, time_s=times)
