"""SCOTT and B-SCOTT: coupled Tucker models of the two images (Prevost, Usevich, Comon, Brie,
IEEE TSP 2020), closed form.

The scene is ``X = G x1 U1 x2 U2 x3 W`` (Tucker, ranks ``R1, R2, R3``). The MSI is ``X x3 P``; the HSI is
``X x1 D1 x2 D2`` (separable blur + decimation). Both are fitted with:

* ``U1``, ``U2``: the leading left singular vectors of the MSI's mode-1 and mode-2 unfoldings;
* ``W``: the leading left singular vectors of the HSI's mode-3 unfolding;
* the core ``G``: least squares on both images, ``||Y_H - G x1 D1U1 x2 D2U2 x3 W||^2 +
  lambda ||Y_M - G x1 U1 x2 U2 x3 PW||^2``, whose normal equations are a sum of two Kronecker
  products diagonalised by three symmetric eigendecompositions: one division per core entry.

``scott`` needs a co-registered pair on one footprint (``misalignment=none``) and gives both products.
``bscott`` with one block (the registration-free variant, ``method=bscott``) couples the images through
the spectrum only: ``G`` is fitted on the MSI alone, so ``X = Y_M x1 U1U1^T x2 U2U2^T x3 W (PW)^+``, and
it gives the M-SRI only. Choices (docs/baselines.md): the degradation is the pair's own when the pair
records it (an oracle, as an upper bound may have), else a Gaussian of FWHM ``d``, and the run log says
which; borders are the simulator's (half-sample reflection), not the SCOTT software's circular ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fresco.data.pair import FusionPair
from fresco.methods.base import FusionMethod, MethodOutput, known_or_assumed_degradation, require_co_registered
from fresco.ops.degradation import degradation_matrix

__all__ = ["BSCOTT", "SCOTT", "leading_vectors"]


def leading_vectors(unfolding: np.ndarray, rank: int) -> np.ndarray:
    """The ``rank`` leading left singular vectors of a matrix (rows x anything)."""
    u, _, _ = np.linalg.svd(unfolding, full_matrices=False)
    return u[:, :rank]


def _mode(tensor: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """``tensor x_axis matrix`` (multiply mode ``axis`` by ``matrix (new, old)``)."""
    return np.moveaxis(np.tensordot(matrix, tensor, axes=(1, axis)), 0, axis)


def _check_ranks(ranks: tuple[int, int, int], limits: tuple[int, int, int], method: str) -> tuple[int, int, int]:
    names = ("R1 (rows)", "R2 (cols)", "R3 (bands)")
    for r, limit, name in zip(ranks, limits, names, strict=True):
        if r > limit:
            raise ValueError(f"{method}: rank {name} = {r} is more than this pair supports ({limit}); lower "
                             "method.ranks")
    return ranks


def _ranks(value: object, method: str) -> tuple[int, int, int]:
    ranks = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else ()
    if len(ranks) != 3 or any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in ranks):
        raise ValueError(f"method.ranks must be three positive integers [R1, R2, R3]; got {value!r}")
    return ranks  # type: ignore[return-value]


class SCOTT(FusionMethod):
    """Coupled Tucker fusion of a co-registered pair (closed form).

    Args:
        ranks: ``[R1, R2, R3]`` Tucker ranks (rows, columns, bands); the SCOTT authors use [40, 40, 6] on
            Indian Pines. ``R3`` at most ``K_M`` keeps the core identifiable from the MSI.
        lam: ``lambda``, the weight of the MSI term.
    """

    def __init__(self, name: str = "scott", ranks: tuple[int, int, int] | list[int] = (40, 40, 6),
                 lam: float = 1.0) -> None:
        self.name, self.ranks = name, _ranks(ranks, "scott")
        if isinstance(lam, bool) or not isinstance(lam, int | float) or lam <= 0:
            raise ValueError(f"method.lam must be a positive number; got {lam!r}")
        self.lam = float(lam)

    def check(self, pair: FusionPair) -> None:
        require_co_registered(pair, self.name)

    def run(self, pair: FusionPair) -> MethodOutput:
        require_co_registered(pair, self.name)
        (i_m, j_m, k_m), k_h = pair.msi.shape, pair.hsi.shape[2]
        r1, r2, r3 = _check_ranks(self.ranks, (i_m, j_m, min(k_h, k_m)), self.name)
        deg = known_or_assumed_degradation(pair, self.name)
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            y_m, y_h = pair.msi.astype(np.float64), pair.hsi.astype(np.float64)
            srf = np.asarray(pair.srf, dtype=np.float64)
            d1, d2 = (degradation_matrix(n, pair.ratio, deg.kind, deg.sigma, deg.kernel_size) for n in (i_m, j_m))
            u1 = leading_vectors(y_m.reshape(i_m, -1), r1)
            u2 = leading_vectors(np.moveaxis(y_m, 1, 0).reshape(j_m, -1), r2)
            w = leading_vectors(np.moveaxis(y_h, 2, 0).reshape(k_h, -1), r3)
            a1, a2, pw = d1 @ u1, d2 @ u2, srf @ w
            # Normal equations: G x1 A1'A1 x2 A2'A2 + lam G x3 (PW)'(PW) = rhs (W'W = I, U'U = I).
            rhs = _mode(_mode(_mode(y_h, a1.T, 0), a2.T, 1), w.T, 2) \
                + self.lam * _mode(_mode(_mode(y_m, u1.T, 0), u2.T, 1), pw.T, 2)
            e1, v1 = np.linalg.eigh(a1.T @ a1)
            e2, v2 = np.linalg.eigh(a2.T @ a2)
            e3, v3 = np.linalg.eigh(pw.T @ pw)
            rotated = _mode(_mode(_mode(rhs, v1.T, 0), v2.T, 1), v3.T, 2)
            denom = e1[:, None, None] * e2[None, :, None] + self.lam * e3[None, None, :]
            core = rotated / np.maximum(denom, np.finfo(np.float64).tiny)
            core = _mode(_mode(_mode(core, v1, 0), v2, 1), v3, 2)
            sri = _mode(_mode(_mode(core, u1, 0), u2, 1), w, 2)
            m_sri = np.clip(sri, 0.0, 1.0).astype(np.float32)
        return MethodOutput(m_sri=m_sri, h_sri=m_sri.copy(), time_s=times)


class BSCOTT(FusionMethod):
    """B-SCOTT with one block: the images share only the spectral factor ``W`` (from the HSI), so no
    registration is needed; the spatial factors and the core come from the MSI. M-SRI only.

    Args:
        ranks: ``[R1, R2, R3]``; ``R3`` at most ``K_M``.
    """

    def __init__(self, name: str = "bscott", ranks: tuple[int, int, int] | list[int] = (40, 40, 6)) -> None:
        self.name, self.ranks = name, _ranks(ranks, "bscott")

    def run(self, pair: FusionPair) -> MethodOutput:
        (i_m, j_m, k_m), k_h = pair.msi.shape, pair.hsi.shape[2]
        r1, r2, r3 = _check_ranks(self.ranks, (i_m, j_m, min(k_h, k_m)), self.name)
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            y_m, y_h = pair.msi.astype(np.float64), pair.hsi.astype(np.float64)
            u1 = leading_vectors(y_m.reshape(i_m, -1), r1)
            u2 = leading_vectors(np.moveaxis(y_m, 1, 0).reshape(j_m, -1), r2)
            w = leading_vectors(np.moveaxis(y_h, 2, 0).reshape(k_h, -1), r3)
            lift = w @ np.linalg.pinv(np.asarray(pair.srf, dtype=np.float64) @ w)      # (K_H, K_M)
            sri = _mode(_mode(_mode(y_m, u1 @ u1.T, 0), u2 @ u2.T, 1), lift, 2)
            m_sri = np.clip(sri, 0.0, 1.0).astype(np.float32)
        return MethodOutput(m_sri=m_sri, time_s=times)
