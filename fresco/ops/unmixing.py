"""Linear unmixing building blocks (torch and numpy): VCA endmembers, nonnegative and fully
constrained (nonnegative, sum-to-one) least squares."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import nnls as scipy_nnls

__all__ = ["NNLS_ITERATIONS", "fcls", "nnls", "vca"]

#: Projected-gradient iterations of :func:`nnls`.
NNLS_ITERATIONS = 200
#: Weight of the sum-to-one row appended by :func:`fcls` (Heinz and Chang, IEEE TGRS 2001), relative
#: to the largest column norm of the basis: large enough that the sum is 1 to about 1e-6.
FCLS_DELTA = 1e3


def vca(pixels: torch.Tensor, n_endmembers: int, generator: torch.Generator) -> torch.Tensor:
    """Vertex component analysis (Nascimento & Bioucas-Dias, IEEE TGRS 2005), projective branch:
    ``(K, R)`` endmembers picked among the rows of ``pixels (N, K)``. The pixels are projected onto
    the ``R``-dimensional signal subspace and scaled onto a hyperplane; each endmember is the pixel
    most extreme along a random direction orthogonal to those found so far."""
    n, _ = pixels.shape
    r = n_endmembers
    if n < r:
        raise ValueError(f"VCA needs at least R={r} pixels, got {n}")
    u, _, _ = torch.linalg.svd(pixels.T @ pixels / n, full_matrices=False)
    x = pixels @ u[:, :r]                                             # (N, R) subspace coordinates
    denom = x @ x.mean(0)
    denom = torch.where(denom.abs() < 1e-12, torch.full_like(denom, 1e-12), denom)
    y = x / denom[:, None]                                            # projective projection
    basis = torch.zeros(r, r, dtype=pixels.dtype, device=pixels.device)
    basis[-1, 0] = 1.0
    indices: list[int] = []
    for i in range(r):
        w = torch.randn(r, 1, generator=generator, dtype=torch.float64).to(pixels.device, pixels.dtype)
        f = w - basis @ torch.linalg.pinv(basis) @ w
        f = f / torch.linalg.norm(f).clamp_min(1e-12)
        idx = int(torch.argmax((y @ f).abs()))
        basis[:, i] = y[idx]
        indices.append(idx)
    return pixels[indices].T.clone()


def nnls(pixels: torch.Tensor, basis: torch.Tensor, iterations: int = NNLS_ITERATIONS) -> torch.Tensor:
    """``(R, N)`` nonnegative least-squares coefficients of ``pixels (N, K)`` on ``basis (K, R)``
    by accelerated projected gradient (all pixels at once)."""
    gram = basis.T @ basis
    lip = torch.linalg.eigvalsh(gram)[-1].clamp_min(1e-12)
    rhs = basis.T @ pixels.T                                          # (R, N)
    x = torch.linalg.lstsq(gram, rhs).solution.clamp_min(0.0)
    x_prev, t = x.clone(), 1.0
    for _ in range(iterations):
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        y = x + (t - 1) / t_next * (x - x_prev)
        x_prev, x = x, (y - (gram @ y - rhs) / lip).clamp_min(0.0)
        t = t_next
    return x


def fcls(pixels: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Fully constrained least squares: ``(N, R)`` coefficients ``a >= 0`` with ``sum(a) = 1`` minimising
    ``||basis a - y||`` for every row ``y`` of ``pixels (N, K)`` on ``basis (K, R)``, by NNLS on the
    system augmented with a heavily weighted sum-to-one row (exact active-set solves, one per pixel)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    basis = np.asarray(basis, dtype=np.float64)
    if pixels.ndim != 2 or basis.ndim != 2 or pixels.shape[1] != basis.shape[0]:
        raise ValueError(f"fcls expects pixels (N, K) and a basis (K, R); got {pixels.shape} and {basis.shape}")
    delta = FCLS_DELTA * max(float(np.linalg.norm(basis, axis=0).max()), 1e-12)
    aug = np.vstack([basis, np.full((1, basis.shape[1]), delta)])
    out = np.empty((pixels.shape[0], basis.shape[1]))
    rhs = np.empty(aug.shape[0])
    rhs[-1] = delta
    for n, y in enumerate(pixels):
        rhs[:-1] = y
        out[n] = scipy_nnls(aug, rhs)[0]
    return out
