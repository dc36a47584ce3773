"""Interpolation baselines (bicubic, Lanczos) with least-squares spectral upsampling.

H-SRI: each HSI band is upsampled by the ratio ``d`` with a separable kernel. Coarse pixel ``i``
is taken to sample fine coordinate ``i*d + phase``; the default phase ``(d-1)/2`` is the
pixel-area convention (fine pixel ``j`` at coarse coordinate ``(j + 0.5)/d - 0.5``, as
``torch.nn.functional.interpolate(align_corners=False)``). When the pair records how its HSI was
sampled (``pair.meta["degradation"]["phase"]``, set by the simulator: 0 for plain decimation,
``d//2`` for nearest), that phase is used. Borders replicate the edge pixel.

M-SRI: no registration is needed because the estimate is per pixel. Every MSI pixel ``y`` is
lifted to ``K_H`` bands by least squares through the SRF ``P``, regularised by the principal
components of the HSI's own spectra (a linear MMSE estimate, see :func:`spectral_upsample`). It
uses only the HSI's spectral statistics, never its layout.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

from fresco.data.pair import FusionPair
from fresco.data.simulate import apply_separable
from fresco.methods.base import FusionMethod, MethodOutput

#: Keys' cubic-convolution parameter (MATLAB ``imresize``'s choice).
KEYS_A = -0.5
#: Lobes of the Lanczos window.
LANCZOS_LOBES = 3
#: HSI principal directions used by the spectral upsampling (measured on Indian Pines: 20 is within
#: 0.1 dB of the best rank from clean data to 30 dB SNR, for both Landsat- and Sentinel-2-like SRFs).
DEFAULT_SPECTRAL_RANK = 20


def cubic_kernel(t: np.ndarray, a: float = KEYS_A) -> np.ndarray:
    """Keys' cubic convolution kernel, support ``|t| < 2``."""
    t = np.abs(t)
    out = np.zeros_like(t)
    near, far = t <= 1, (t > 1) & (t < 2)
    out[near] = (a + 2) * t[near] ** 3 - (a + 3) * t[near] ** 2 + 1
    out[far] = a * t[far] ** 3 - 5 * a * t[far] ** 2 + 8 * a * t[far] - 4 * a
    return out


def lanczos_kernel(t: np.ndarray, lobes: int = LANCZOS_LOBES) -> np.ndarray:
    """Lanczos window ``sinc(t) sinc(t / lobes)``, support ``|t| < lobes``."""
    return np.where(np.abs(t) < lobes, np.sinc(t) * np.sinc(t / lobes), 0.0)


KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "bicubic": (cubic_kernel, 2),
    "lanczos": (lanczos_kernel, LANCZOS_LOBES),
}


def upsampling_matrix(n_coarse: int, ratio: int, kernel: str, phase: float | None = None) -> np.ndarray:
    """Separable 1-D upsampling operator ``(ratio * n_coarse, n_coarse)``; rows sum to 1.

    ``phase``: fine coordinate sampled by coarse pixel 0 (default ``(ratio-1)/2``, pixel centres).
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown interpolation kernel '{kernel}'; choose one of {sorted(KERNELS)}")
    fn, support = KERNELS[kernel]
    phase = (ratio - 1) / 2.0 if phase is None else float(phase)
    n_fine = ratio * n_coarse
    pos = (np.arange(n_fine) - phase) / ratio  # fine pixel centres in coarse coordinates
    taps = np.arange(-support + 1, support + 1)
    base = np.floor(pos).astype(int)
    idx = base[:, None] + taps[None, :]
    w = fn(pos[:, None] - idx)
    idx = np.clip(idx, 0, n_coarse - 1)  # replicate the border pixel
    mat = np.zeros((n_fine, n_coarse))
    np.add.at(mat, (np.repeat(np.arange(n_fine), taps.size), idx.ravel()), w.ravel())
    return mat / mat.sum(axis=1, keepdims=True)


def upsample(image: np.ndarray, ratio: int, kernel: str = "bicubic", phase: float | None = None) -> np.ndarray:
    """Upsample ``(I, J, K)`` to ``(ratio*I, ratio*J, K)`` band by band (float32); see
    :func:`upsampling_matrix` for ``phase``. Sparse operators: cost linear in output pixels."""
    rows = sparse.csr_matrix(upsampling_matrix(image.shape[0], ratio, kernel, phase))
    cols = sparse.csr_matrix(upsampling_matrix(image.shape[1], ratio, kernel, phase))
    return apply_separable(image, rows, cols)


def spectral_upsample(msi: np.ndarray, hsi: np.ndarray, srf: np.ndarray, rank: int | None = DEFAULT_SPECTRAL_RANK,
                      noise_var: float | None = None) -> np.ndarray:
    """Lift MSI pixels ``(I, J, K_M)`` to ``(I, J, K_H)``: least squares through the SRF with the
    HSI's principal-component prior (linear MMSE / Wiener estimate).

    ``x = mu + E a`` with ``a = argmin ||P E a - (y - P mu)||^2 + noise_var * a^T diag(1/ev) a``:
    ``E`` the first ``rank`` principal directions of the HSI pixels (``None``, or more than there
    are: all), ``ev`` their
    variances, ``mu`` the mean spectrum. ``noise_var`` (per band) defaults to the median of the lower
    half of the HSI's PCA variances, its noise floor; with clean data it is tiny and the estimate is
    the plain least-squares fit in the subspace.
    """
    k_m, k_h = msi.shape[2], hsi.shape[2]
    if rank is not None and int(rank) < 1:
        raise ValueError(f"spectral_rank must be a positive integer (or null for all); got {rank}")
    spectra = hsi.reshape(-1, k_h).astype(np.float64)
    mu = spectra.mean(axis=0)
    _, sing, vt = np.linalg.svd(spectra - mu, full_matrices=False)
    variances = sing**2 / spectra.shape[0]
    rank = variances.size if rank is None else min(int(rank), variances.size)
    if noise_var is None:
        noise_var = float(np.median(variances[variances.size // 2:]))
    floor = np.finfo(np.float64).tiny
    basis = vt[:rank].T  # (K_H, rank)
    pe = srf @ basis  # (K_M, rank)
    lhs = pe.T @ pe + noise_var * np.diag(1.0 / np.maximum(variances[:rank], floor))
    # The estimate is affine in y: x = mu + W (y - P mu), with W (K_H, K_M) computed once.
    lift = basis @ np.linalg.pinv(lhs) @ pe.T
    out = (msi.reshape(-1, k_m).astype(np.float64) - srf @ mu) @ lift.T + mu
    return out.reshape(*msi.shape[:2], -1).astype(np.float32)


class InterpolationBaseline(FusionMethod):
    """H-SRI by ``kernel`` interpolation of the HSI; M-SRI by least-squares spectral upsampling.

    ``back_projection > 0`` (method ``bicubic_bp``) refines the interpolated H-SRI by that many steps
    of iterative back-projection onto the HSI with an assumed Gaussian blur of ``sigma`` fine pixels
    (``None``: FWHM = d), see :func:`fresco.hsr.consistency.back_project`: the model-based reference
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
            h_sri = upsample(pair.hsi, pair.ratio, self.kernel, pair.meta.get("degradation", {}).get("phase"))
            if self.back_projection:
                from fresco.hsr.consistency import back_project

                h_sri = back_project(h_sri, pair.hsi, pair.ratio, self.back_projection, sigma=self.sigma,
                                     kernel=self.kernel)
        with self.timed(times, "m_sri"):
            m_sri = spectral_upsample(pair.msi, pair.hsi, pair.srf, self.spectral_rank, self.noise_var)
        return MethodOutput(m_sri=m_sri, h_sri=h_sri, time_s=times)
