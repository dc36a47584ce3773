"""Separable interpolation kernels and upsampling operators (plain numpy): bicubic (Keys) and Lanczos.

Coarse pixel ``i`` is taken to sample fine coordinate ``i*d + phase``; the default phase ``(d-1)/2``
is the pixel-area convention (fine pixel ``j`` at coarse coordinate ``(j + 0.5)/d - 0.5``, as
``torch.nn.functional.interpolate(align_corners=False)``). Borders replicate the edge pixel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

from fresco.ops.degradation import apply_separable

__all__ = ["KERNELS", "KEYS_A", "LANCZOS_LOBES", "cubic_kernel", "lanczos_kernel", "upsample", "upsampling_matrix"]

#: Keys' cubic-convolution parameter (MATLAB ``imresize``'s choice).
KEYS_A = -0.5
#: Lobes of the Lanczos window.
LANCZOS_LOBES = 3

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
