"""CNMF, coupled nonnegative matrix factorisation (Yokoya, Yairi, Iwasaki, IEEE TGRS 2012): a
co-registered upper bound (``method=cnmf``).

Both images are unmixed with multiplicative NMF updates and coupled through the model
``Y_H = C S_H``, ``Y_M = (P C) S_M``, ``S_H = S_M D`` (``D`` the spatial blur + decimation):

1. HSI: ``C`` from VCA, then NMF of ``Y_H`` (``S_H`` alone, then ``C`` and ``S_H``);
2. MSI: ``C_M = P C`` and ``S_M`` from the bicubic upsampling of ``S_H``, NMF of ``Y_M`` (``S_M``
   alone, then both);
3. ``outer`` times: ``S_H = S_M D`` and update ``C`` on the HSI with ``S_H`` fixed; ``C_M = P C`` and
   update ``S_M`` on the MSI with ``C_M`` fixed.

M-SRI = H-SRI = ``clip(C S_M, 0, 1)``: it needs a co-registered pair on one footprint
(``misalignment=none``, equal footprints). Choices (docs/baselines.md): the sum-to-one augmentation of
the original is left out (the products are the same up to the scale that NMF leaves free); ``D`` is the
pair's own degradation when the pair records it (``pair.acquisition.degradation``: an oracle, as an
upper bound may have), else a Gaussian of FWHM ``d``, and the run log says which.
"""

from __future__ import annotations

import numpy as np
import torch

from fresco.data.pair import FusionPair
from fresco.methods.base import FusionMethod, MethodOutput, known_or_assumed_degradation, require_co_registered
from fresco.ops.degradation import degrade
from fresco.ops.resample import upsample
from fresco.ops.unmixing import vca

__all__ = ["CNMF"]

#: Floor of the multiplicative updates' denominators.
EPS = 1e-12


def _update_coefficients(y: np.ndarray, w: np.ndarray, h: np.ndarray, iterations: int) -> np.ndarray:
    """``iterations`` multiplicative updates of ``h`` for ``||y - w h||`` (Lee and Seung)."""
    wty, wtw = w.T @ y, w.T @ w
    for _ in range(iterations):
        h = h * wty / np.maximum(wtw @ h, EPS)
    return h


def _update_basis(y: np.ndarray, w: np.ndarray, h: np.ndarray, iterations: int) -> np.ndarray:
    """``iterations`` multiplicative updates of ``w`` for ``||y - w h||``."""
    yht, hht = y @ h.T, h @ h.T
    for _ in range(iterations):
        w = w * yht / np.maximum(w @ hht, EPS)
    return w


class CNMF(FusionMethod):
    """Coupled NMF on a co-registered pair.

    Args:
        num_materials: ``R``, the number of endmembers (the original uses more than the scene's materials:
            NMF's endmembers are a low-rank basis, not pure spectra).
        init_iterations: NMF iterations of steps 1 and 2 (each: half coefficients only, half both).
        outer: coupling rounds of step 3; inner: iterations per update in step 3.
        seed: seeds VCA.
    """

    def __init__(self, name: str = "cnmf", num_materials: int = 30, init_iterations: int = 200, outer: int = 30,
                 inner: int = 200, seed: int = 0) -> None:
        for key, value, low in (("num_materials", num_materials, 1), ("init_iterations", init_iterations, 2),
                                ("outer", outer, 0), ("inner", inner, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"method.{key} must be an integer >= {low}; got {value!r}")
        self.name, self.num_materials, self.seed = name, num_materials, int(seed)
        self.init_iterations, self.outer, self.inner = init_iterations, outer, inner

    def check(self, pair: FusionPair) -> None:
        require_co_registered(pair, self.name)

    def run(self, pair: FusionPair) -> MethodOutput:
        require_co_registered(pair, self.name)
        (i_m, j_m, k_m), (i_h, j_h, k_h), r = pair.msi.shape, pair.hsi.shape, self.num_materials
        if r > min(k_h, i_h * j_h):
            raise ValueError(f"method.num_materials={r} is more than the HSI supports (K_H={k_h}, {i_h * j_h} pixels)")
        deg, d = known_or_assumed_degradation(pair, self.name), pair.ratio
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            y_h = pair.hsi.reshape(-1, k_h).T.astype(np.float64)                 # (K_H, N_H)
            y_m = pair.msi.reshape(-1, k_m).T.astype(np.float64)                 # (K_M, N_M)
            srf = np.asarray(pair.srf, dtype=np.float64)
            gen = torch.Generator().manual_seed(self.seed)
            c = vca(torch.as_tensor(y_h.T), r, gen).clamp_min(EPS).numpy()      # (K_H, R)
            half = self.init_iterations // 2
            s_h = _update_coefficients(y_h, c, np.full((r, y_h.shape[1]), 1.0 / r), half)
            for _ in range(half):
                c = _update_basis(y_h, c, s_h, 1)
                s_h = _update_coefficients(y_h, c, s_h, 1)
            up = upsample(s_h.T.reshape(i_h, j_h, r).astype(np.float32), d, "bicubic", deg.phase)
            s_m = np.clip(up.reshape(-1, r).T.astype(np.float64), EPS, None)    # (R, N_M)
            c_m = srf @ c
            s_m = _update_coefficients(y_m, c_m, s_m, half)
            for _ in range(half):
                c_m = _update_basis(y_m, c_m, s_m, 1)
                s_m = _update_coefficients(y_m, c_m, s_m, 1)
            for _ in range(self.outer):
                maps_m = s_m.T.reshape(i_m, j_m, r).astype(np.float32)
                s_h = degrade(maps_m, d, deg.kind, deg.sigma, deg.kernel_size).reshape(-1, r).T.astype(np.float64)
                c = _update_basis(y_h, c, np.maximum(s_h, EPS), self.inner)
                s_m = _update_coefficients(y_m, srf @ c, s_m, self.inner)
            m_sri = np.clip(s_m.T @ c.T, 0.0, 1.0).reshape(i_m, j_m, k_h).astype(np.float32)
        return MethodOutput(m_sri=m_sri, h_sri=m_sri.copy(), time_s=times,
                            extras={"endmembers": c.astype(np.float32),
                                    "abundances_m": s_m.T.reshape(i_m, j_m, r).astype(np.float32)})
