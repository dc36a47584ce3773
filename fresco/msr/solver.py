"""Stage 1 (MSR): coupled block-term (LL1) unmixing of an unregistered HSI + MSI pair.

Minimises, over endmembers ``C >= 0`` (``K_H x R``) and the abundance maps of each footprint,
``S_M >= 0`` (``R x I_M x J_M``) and ``S_H >= 0`` (``R x I_H x J_H``) (method.md section 3)::

    F = 1/2 ||Y_H3 - S_H C^T||^2 + 1/2 ||Y_M3 - S_M (P C)^T||^2
      + eta   sum_r [tr((S_r^M S_r^M^T + tau I)^(p/2)) + tr((S_r^H S_r^H^T + tau I)^(p/2))]
      + theta sum_r sum_pixels [((Dx s_r^M)^2 + eps)^(q/2) + ((Dy s_r^M)^2 + eps)^(q/2)]
      + lambda/2 (||S_M 1 - 1||^2 + ||S_H 1 - 1||^2) + alpha/2 ||C||^2

by block projected gradient with per-block Nesterov/FISTA extrapolation (blocks ``C -> S_M ->
S_H``), steps ``1/L`` from each block's Lipschitz bound, projection onto ``>= 0`` and a
relative-change stop. The two footprints are coupled only through ``C``: no registration.

Differences from the authors' reference code (its defects, listed in the spec, fixed here):
rectangular maps everywhere (the TV operators act on ``(I, J)`` maps, and the Schatten term uses
whichever Gram side is smaller, which has the same gradient), the sum-to-one Lipschitz term is
``lambda * R``, the low-rank term of ``F`` is the true matrix power (eigenvalues of the Gram
matrix), and the random start is seeded.

The registered variant (``degradation`` given) has one abundance set on the MSI grid and models the
HSI as its blur + downsampling ``B(S) = D_r S_r D_c^T`` (Ding, Fu et al., JSTSP 2021): the
co-registered upper bound.

Everything is plain torch (CPU or CUDA, float64 or float32). :func:`coupled_btd` runs it to the
end; :class:`CoupledBTD` exposes one iteration at a time for the LightningModule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from fresco.ops.checks import check_image, typed_settings
from fresco.ops.degradation import degradation_matrix
from fresco.ops.unmixing import nnls, vca

__all__ = ["BTDConfig", "BTDResult", "CoupledBTD", "coupled_btd", "registered_btd", "INITS", "TV_BOUNDARIES"]

INITS = ("random", "vca")
TV_BOUNDARIES = ("circular", "neumann")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
#: ||Dx||^2 for first differences (circular or not): at most 4.
DIFF_NORM_SQ = 4.0


@dataclass
class BTDConfig:
    """Hyperparameters of stage 1, named as in the paper (defaults: the reference setting).

    lambda_lr (eta), p, tau: smoothed Schatten-p low-rank term on every abundance map.
    lambda_tv (theta), q, eps: smoothed TV-q on the MSI maps (``tv_boundary``: circular differences
        as in the reference, or ``neumann`` = no difference across the border).
    lambda_sto (lambda): soft sum-to-one; alpha: ridge on the endmembers.
    iterations: maximum number of block-FISTA sweeps; tol: stop when |F_k - F_{k-1}| / F_{k-1} < tol.
    init: ``random`` (seeded uniform [0, 1), as the reference) or ``vca`` (VCA endmembers of the
        HSI + nonnegative least-squares abundances).
    restart: restart a block's momentum when F increases (off in the reference).
    objective_every: evaluate F (and test the stop) every this many iterations (1 = reference).
    """

    num_materials: int = 6
    lambda_lr: float = 5e-3
    p: float = 0.5
    tau: float = 1.0
    lambda_tv: float = 1e-4
    q: float = 0.5
    eps: float = 1e-3
    lambda_sto: float = 1e-4
    alpha: float = 0.1
    iterations: int = 400
    tol: float = 1e-9
    init: str = "random"
    tv_boundary: str = "circular"
    restart: bool = False
    objective_every: int = 1

    def __post_init__(self) -> None:
        if int(self.num_materials) < 1:
            raise ValueError(f"num_materials (R) must be a positive integer, got {self.num_materials}")
        self.num_materials = int(self.num_materials)
        for name in ("lambda_lr", "lambda_tv", "lambda_sto", "alpha", "tol"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("tau", "eps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0 (it smooths a power at 0), got {getattr(self, name)}")
        for name in ("p", "q"):
            if not 0 < getattr(self, name) <= 2:
                raise ValueError(f"{name} must be in (0, 2] (a quasi-norm exponent), got {getattr(self, name)}")
        if int(self.iterations) < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        self.iterations = int(self.iterations)
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {INITS}")
        if self.tv_boundary not in TV_BOUNDARIES:
            raise ValueError(f"unknown tv_boundary {self.tv_boundary!r}; choose one of {TV_BOUNDARIES}")
        if int(self.objective_every) < 1:
            raise ValueError(f"objective_every must be >= 1, got {self.objective_every}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> BTDConfig:
        """Build from keyword arguments (the ``method`` config's stage-1 keys), rejecting unknown names
        and values of the wrong type with one message (:func:`fresco.ops.checks.typed_settings`)."""
        return cls(**typed_settings(cls, kwargs, "method"))


@dataclass
class BTDResult:
    """Output of stage 1.

    endmembers: (K_H, R) ``C``.
    abundances_m: (I_M, J_M, R) ``S_M`` as maps.
    abundances_h: (I_H, J_H, R) ``S_H`` as maps (registered variant: the degraded ``B(S)``).
    history: one dict per evaluated iteration (iteration, objective and each term, rel_change).
    """

    endmembers: np.ndarray
    abundances_m: np.ndarray
    abundances_h: np.ndarray
    iterations: int
    converged: bool
    history: list[dict[str, float]] = field(default_factory=list)
    time_s: float = 0.0

    def m_sri(self) -> np.ndarray:
        """(I_M, J_M, K_H) float32 ``clip(S_M C^T, 0, 1)``."""
        return np.clip(self.abundances_m @ self.endmembers.T, 0.0, 1.0).astype(np.float32)

    def hsi_reconstruction(self) -> np.ndarray:
        """(I_H, J_H, K_H) ``S_H C^T``: the model's HSI."""
        return (self.abundances_h @ self.endmembers.T).astype(np.float32)


def _check_inputs(msi: Any, hsi: Any, srf: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    msi, hsi, srf = check_image(msi, "msi"), check_image(hsi, "hsi"), np.asarray(srf)
    if srf.ndim != 2 or srf.shape != (msi.shape[2], hsi.shape[2]):
        raise ValueError(f"srf must be (K_M, K_H) = ({msi.shape[2]}, {hsi.shape[2]}) for these images; "
                         f"got {srf.shape}")
    if not np.all(np.isfinite(srf)):
        raise ValueError("srf contains NaN or Inf values; give a finite spectral response")
    return msi, hsi, srf


class CoupledBTD:
    """The stage-1 solver state, advanced one block-FISTA sweep at a time by :meth:`step`.

    Args:
        msi: (I_M, J_M, K_M) multispectral image.
        hsi: (I_H, J_H, K_H) hyperspectral image.
        srf: (K_M, K_H) spectral response ``P``.
        config: :class:`BTDConfig`.
        seed: seeds the random start (and VCA's directions).
        dtype, device: where the arithmetic happens (``"float64"`` / ``"float32"``; ``"cpu"`` / ``"cuda"``).
        degradation: for the registered variant, ``(D_r (I_H, I_M), D_c (J_H, J_M))`` 1-D spatial
            degradation operators: the HSI is modelled as ``D_r S_r D_c^T`` of the MSI-grid maps.
    """

    def __init__(self, msi: Any, hsi: Any, srf: Any, config: BTDConfig | None = None, *, seed: int = 0,
                 dtype: str | torch.dtype = "float64", device: str | torch.device = "cpu",
                 degradation: tuple[Any, Any] | None = None) -> None:
        msi, hsi, srf = _check_inputs(msi, hsi, srf)
        self.config = cfg = config or BTDConfig()
        if isinstance(dtype, str):
            if dtype not in DTYPES:
                raise ValueError(f"unknown dtype {dtype!r}; choose one of {tuple(DTYPES)}")
            dtype = DTYPES[dtype]
        self.dtype, self.device = dtype, torch.device(device)
        self.shape_m, self.shape_h = msi.shape[:2], hsi.shape[:2]
        r = cfg.num_materials
        if r > hsi.shape[2]:
            raise ValueError(f"num_materials R={r} exceeds the HSI's {hsi.shape[2]} bands; use R <= K_H")

        def tensor(a: Any) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype).to(self.device)

        # Pixel-by-band data transposed once: (K, N) so that every product below is a plain matmul.
        self.ymt = tensor(msi.reshape(-1, msi.shape[2]).T)
        self.yht = tensor(hsi.reshape(-1, hsi.shape[2]).T)
        self.srf = tensor(srf)
        self.ptp = self.srf.T @ self.srf
        self.ptp_norm = float(torch.linalg.matrix_norm(self.ptp, ord=2))
        self.registered = degradation is not None
        if self.registered:
            d_r, d_c = (tensor(np.asarray(m, dtype=np.float64)) for m in degradation)
            if d_r.shape != (self.shape_h[0], self.shape_m[0]) or d_c.shape != (self.shape_h[1], self.shape_m[1]):
                raise ValueError(
                    f"registered variant: degradation operators must be ({self.shape_h[0]}, {self.shape_m[0]}) and "
                    f"({self.shape_h[1]}, {self.shape_m[1]}) for an HSI {self.shape_h} that degrades the MSI grid "
                    f"{self.shape_m}; got {tuple(d_r.shape)} and {tuple(d_c.shape)}")
            self.d_r, self.d_c = d_r, d_c
            self.b_norm_sq = float(torch.linalg.matrix_norm(d_r, ord=2) ** 2
                                   * torch.linalg.matrix_norm(d_c, ord=2) ** 2)
        self.n_tv_coef = cfg.lambda_tv * cfg.q * cfg.eps ** ((cfg.q - 2) / 2) * 2 * DIFF_NORM_SQ

        gen = torch.Generator().manual_seed(int(seed))
        self._init(msi, hsi, gen)
        self.t = {"C": 1.0, "S_M": 1.0, "S_H": 1.0}
        self.prev = {k: v.clone() for k, v in self.blocks().items()}
        self.iteration = 0
        self.objective_value = float("nan")
        self.converged = False
        self.history: list[dict[str, float]] = []

    # ------------------------------------------------------------------ state
    def blocks(self) -> dict[str, torch.Tensor]:
        out = {"C": self.C, "S_M": self.S_M}
        if not self.registered:
            out["S_H"] = self.S_H
        return out

    def _init(self, msi: np.ndarray, hsi: np.ndarray, gen: torch.Generator) -> None:
        cfg, r = self.config, self.config.num_materials
        k_h = hsi.shape[2]

        def rand(*shape: int) -> torch.Tensor:
            # Drawn in float64 whatever the working dtype: the same seed gives the same start.
            return torch.rand(*shape, generator=gen, dtype=torch.float64).to(self.device, self.dtype)

        if cfg.init == "random":
            self.C = rand(k_h, r)
            self.S_M = rand(r, *self.shape_m)
            self.S_H = rand(r, *self.shape_h)
        else:  # vca
            yh = self.yht.T
            self.C = vca(yh, r, gen).clamp_min(0.0)
            self.S_M = nnls(self.ymt.T, self.srf @ self.C).reshape(r, *self.shape_m)
            self.S_H = nnls(yh, self.C).reshape(r, *self.shape_h)
        if self.registered:
            del self.S_H

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where the solver stopped."""
        return {"blocks": {k: v.clone() for k, v in self.blocks().items()},
                "prev": {k: v.clone() for k, v in self.prev.items()},
                "t": dict(self.t), "iteration": self.iteration, "objective": self.objective_value,
                "converged": self.converged, "history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state["blocks"].items():
            setattr(self, key, value.to(self.device, self.dtype))
        self.prev = {k: v.to(self.device, self.dtype) for k, v in state["prev"].items()}
        self.t = dict(state["t"])
        self.iteration = int(state["iteration"])
        self.objective_value = float(state["objective"])
        self.converged = bool(state["converged"])
        self.history = list(state["history"])

    # ------------------------------------------------------------------ operators
    def _flat(self, maps: torch.Tensor) -> torch.Tensor:
        return maps.reshape(maps.shape[0], -1)

    def _degrade(self, maps: torch.Tensor) -> torch.Tensor:
        """Registered variant: ``D_r S_r D_c^T`` for every map."""
        return self.d_r @ maps @ self.d_c.T

    def _hsi_maps(self) -> torch.Tensor:
        return self._degrade(self.S_M) if self.registered else self.S_H

    def _diff(self, maps: torch.Tensor, dim: int) -> torch.Tensor:
        if self.config.tv_boundary == "circular":
            return torch.roll(maps, -1, dims=dim) - maps
        # No difference across the border: the last row/column of differences is zero.
        pad = [0, 1, 0, 0] if dim == 2 else [0, 0, 0, 1]
        return torch.nn.functional.pad(torch.diff(maps, dim=dim), pad)

    def _diff_t(self, z: torch.Tensor, dim: int) -> torch.Tensor:
        """Adjoint of :meth:`_diff`."""
        if self.config.tv_boundary == "circular":
            return torch.roll(z, 1, dims=dim) - z
        # z's last slice along dim is the zero pad; D^T z = [-z_0, z_0 - z_1, ..., z_{n-2}]
        n = z.shape[dim]
        core = z.narrow(dim, 0, n - 1)
        zero = torch.zeros_like(z.narrow(dim, 0, 1))
        return torch.cat([zero, core], dim=dim) - torch.cat([core, zero], dim=dim)

    # ------------------------------------------------------------------ terms
    def _lowrank(self, maps: torch.Tensor, grad: bool) -> tuple[torch.Tensor, torch.Tensor | None, float]:
        """Schatten term ``sum_r tr((S_r S_r^T + tau I)^(p/2))``, its gradient ``p W_r S_r`` and
        ``max_r ||W_r||`` (unscaled by eta). Uses the smaller Gram side: same trace up to a constant
        (added back) and the same gradient."""
        cfg = self.config
        rows, cols = maps.shape[1:]
        tall = rows > cols
        gram = maps.transpose(1, 2) @ maps if tall else maps @ maps.transpose(1, 2)
        eye = torch.eye(gram.shape[-1], dtype=maps.dtype, device=maps.device)
        gram = gram + cfg.tau * eye
        # The I x I Gram of a tall map has I - J more eigenvalues, all equal to tau.
        extra = (rows - cols) * cfg.tau ** (cfg.p / 2) * maps.shape[0] if tall else 0.0
        if not grad:
            lam = torch.linalg.eigvalsh(gram).clamp_min(cfg.tau)
            return (lam ** (cfg.p / 2)).sum() + extra, None, 0.0
        lam, vec = torch.linalg.eigh(gram)
        lam = lam.clamp_min(cfg.tau)   # exact eigenvalues are >= tau; clamp rounding
        weight = lam ** ((cfg.p - 2) / 2)
        if tall:   # S W' with W' from S^T S
            g = ((maps @ vec) * weight[:, None, :]) @ vec.transpose(1, 2)
        else:      # W S with W from S S^T
            g = vec @ (weight[:, :, None] * (vec.transpose(1, 2) @ maps))
        w_norm = max(float(weight.max()), cfg.tau ** ((cfg.p - 2) / 2)) if tall else float(weight.max())
        return (lam ** (cfg.p / 2)).sum() + extra, cfg.p * g, w_norm

    def _tv(self, maps: torch.Tensor, grad: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Smoothed TV-q value (``grad=False``) or its gradient (``grad=True``), unscaled by theta."""
        cfg = self.config
        value = maps.new_zeros(()) if not grad else None
        g = torch.zeros_like(maps) if grad else None
        for dim in (1, 2):
            d = self._diff(maps, dim)
            sq = d * d + cfg.eps
            if grad:   # one power per element: q (d^2 + eps)^((q-2)/2) d
                g = g + self._diff_t(cfg.q * sq.pow((cfg.q - 2) / 2) * d, dim)
            else:
                value = value + sq.pow(cfg.q / 2).sum()
        return value, g

    def terms(self) -> dict[str, float]:
        """Every term of ``F`` at the current point, and ``F`` itself (``objective``)."""
        cfg = self.config
        c, sm = self.C, self.S_M
        sh = self._hsi_maps()
        g = self.srf @ c
        fit_h = 0.5 * float(((self.yht - c @ self._flat(sh)) ** 2).sum())
        fit_m = 0.5 * float(((self.ymt - g @ self._flat(sm)) ** 2).sum())
        lr = float(self._lowrank(sm, grad=False)[0])
        if not self.registered:
            lr += float(self._lowrank(sh, grad=False)[0])
        tv = float(self._tv(sm, grad=False)[0])
        sto = 0.5 * float(((sm.sum(0) - 1) ** 2).sum())
        if not self.registered:
            sto += 0.5 * float(((sh.sum(0) - 1) ** 2).sum())
        ridge = 0.5 * float((c * c).sum())
        objective = (fit_h + fit_m + cfg.lambda_lr * lr + cfg.lambda_tv * tv + cfg.lambda_sto * sto
                     + cfg.alpha * ridge)
        return {"objective": objective, "fit_hsi": fit_h, "fit_msi": fit_m, "lowrank": lr, "tv": tv,
                "sum_to_one": sto, "ridge": ridge}

    # ------------------------------------------------------------------ block updates
    def _extrapolate(self, key: str) -> tuple[torch.Tensor, float]:
        x, x_prev, t = getattr(self, key), self.prev[key], self.t[key]
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        return x + ((t - 1) / t_next) * (x - x_prev), t_next

    def _commit(self, key: str, new: torch.Tensor, t_next: float) -> None:
        self.prev[key] = getattr(self, key)
        setattr(self, key, new)
        self.t[key] = t_next

    def gradient(self, key: str, point: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Gradient of ``F``'s smooth part with respect to block ``key`` (``"C"``, ``"S_M"``, ``"S_H"``)
        at ``point`` (the other blocks at their current values), and that block's Lipschitz bound."""
        cfg = self.config
        if key == "C":
            sh, sm = self._flat(self._hsi_maps()), self._flat(self.S_M)
            gram_h, gram_m = sh @ sh.T, sm @ sm.T
            grad = (point @ gram_h - self.yht @ sh.T + self.ptp @ point @ gram_m - self.srf.T @ (self.ymt @ sm.T)
                    + cfg.alpha * point)
            lip = (float(torch.linalg.matrix_norm(gram_h, ord=2))
                   + self.ptp_norm * float(torch.linalg.matrix_norm(gram_m, ord=2)) + cfg.alpha)
            return grad, lip
        r = cfg.num_materials
        is_m = key == "S_M"
        basis = self.srf @ self.C if is_m else self.C          # (K, R)
        data = self.ymt if is_m else self.yht                   # (K, N)
        gram = basis.T @ basis
        grad = (gram @ self._flat(point) - basis.T @ data).reshape(point.shape)
        lip = float(torch.linalg.matrix_norm(gram, ord=2))
        if is_m and self.registered:   # HSI term through the degradation B
            gram_c = self.C.T @ self.C
            resid = (gram_c @ self._flat(self._degrade(point)) - self.C.T @ self.yht).reshape(r, *self.shape_h)
            grad = grad + self.d_r.T @ resid @ self.d_c
            lip += self.b_norm_sq * float(torch.linalg.matrix_norm(gram_c, ord=2))
        if cfg.lambda_lr > 0:
            _, g_lr, w_norm = self._lowrank(point, grad=True)
            grad = grad + cfg.lambda_lr * g_lr
            lip += cfg.lambda_lr * cfg.p * w_norm
        if is_m and cfg.lambda_tv > 0:
            _, g_tv = self._tv(point, grad=True)
            grad = grad + cfg.lambda_tv * g_tv
            lip += self.n_tv_coef
        if cfg.lambda_sto > 0:
            grad = grad + cfg.lambda_sto * (point.sum(0, keepdim=True) - 1)
            lip += cfg.lambda_sto * r
        return grad, lip

    def _update(self, key: str) -> None:
        """Extrapolate block ``key``, take a ``1/L`` gradient step there, project onto ``>= 0``."""
        point, t_next = self._extrapolate(key)
        grad, lip = self.gradient(key, point)
        self._commit(key, (point - grad / max(lip, 1e-12)).clamp_min(0.0), t_next)

    def step(self) -> dict[str, float] | None:
        """One sweep ``C -> S_M -> S_H``; returns the terms of ``F`` when evaluated this iteration."""
        cfg = self.config
        for key in self.blocks():   # C -> S_M -> S_H
            self._update(key)
        self.iteration += 1
        if self.iteration % cfg.objective_every and self.iteration < cfg.iterations:
            return None
        info = self.terms()
        old = self.objective_value
        rel = abs(info["objective"] - old) / max(abs(old), 1e-300) if math.isfinite(old) else float("inf")
        if cfg.restart and math.isfinite(old) and info["objective"] > old:
            # Function-value restart (O'Donoghue & Candes): drop every block's momentum.
            self.prev = {k: v.clone() for k, v in self.blocks().items()}
            self.t = dict.fromkeys(self.t, 1.0)
        info = {"iteration": float(self.iteration), **info, "rel_change": rel}
        self.objective_value = info["objective"]
        self.history.append(info)
        if rel < cfg.tol:
            self.converged = True
        return info

    @property
    def done(self) -> bool:
        return self.converged or self.iteration >= self.config.iterations

    def result(self, time_s: float = 0.0) -> BTDResult:
        r = self.config.num_materials

        def maps(x: torch.Tensor) -> np.ndarray:
            return x.detach().to("cpu", torch.float64).numpy().transpose(1, 2, 0).copy()

        return BTDResult(
            endmembers=self.C.detach().to("cpu", torch.float64).numpy().copy(),
            abundances_m=maps(self.S_M), abundances_h=maps(self._hsi_maps()).reshape(*self.shape_h, r),
            iterations=self.iteration, converged=self.converged, history=list(self.history), time_s=time_s)


def coupled_btd(msi: Any, hsi: Any, srf: Any, num_materials: int | None = None, *, config: BTDConfig | None = None,
                seed: int = 0, dtype: str | torch.dtype = "float64", device: str | torch.device = "cpu",
                callback: Callable[[dict[str, float]], bool | None] | None = None,
                degradation: tuple[Any, Any] | None = None, **hyperparameters: Any) -> BTDResult:
    """Run stage 1 to convergence (or ``iterations``) and return ``C``, ``S_M``, ``S_H``.

    Args:
        msi: (I_M, J_M, K_M); hsi: (I_H, J_H, K_H); srf: (K_M, K_H) ``P``. Unregistered footprints.
        num_materials: ``R`` (overrides ``config.num_materials``).
        config: a :class:`BTDConfig`; or pass its fields as keyword arguments
            (``lambda_lr=1e-3, iterations=200, init="vca"``...).
        seed, dtype, device: see :class:`CoupledBTD`.
        callback: called with the terms of ``F`` (and ``iteration``, ``rel_change``) whenever they are
            evaluated; returning ``True`` stops the solver early.
        degradation: registered variant only (see :class:`CoupledBTD`).
    """
    if config is not None and hyperparameters:
        raise TypeError("pass either config= or hyperparameters as keywords, not both")
    if config is None:
        config = BTDConfig.from_kwargs(**hyperparameters)
    if num_materials is not None:
        config = BTDConfig(**{**asdict(config), "num_materials": num_materials})
    start = time.perf_counter()
    solver = CoupledBTD(msi, hsi, srf, config, seed=seed, dtype=dtype, device=device, degradation=degradation)
    while not solver.done:
        info = solver.step()
        if info is not None and callback is not None and callback(info):
            break
    return solver.result(time_s=time.perf_counter() - start)


def registered_btd(msi: Any, hsi: Any, srf: Any, ratio: int, num_materials: int | None = None, *,
                   kind: str = "gaussian", sigma: float | None = None, kernel_size: int | None = None,
                   **kwargs: Any) -> BTDResult:
    """The co-registered coupled LL1 model: one abundance set on the MSI grid, the HSI modelled as
    its spatial degradation (``kind``/``sigma``/``kernel_size`` as in :func:`fresco.data.simulate.degrade`).
    Requires ``msi`` rows/cols = ``ratio`` x the HSI's (the same footprint)."""
    msi, hsi = np.asarray(msi), np.asarray(hsi)
    if msi.shape[0] != ratio * hsi.shape[0] or msi.shape[1] != ratio * hsi.shape[1]:
        raise ValueError(
            f"registered_ll1 needs co-registered images with the MSI grid = ratio x the HSI grid: MSI "
            f"{msi.shape[:2]}, HSI {hsi.shape[:2]}, ratio {ratio}; use it on pairs simulated with misalignment=none "
            f"and equal footprints")
    ops = (degradation_matrix(msi.shape[0], ratio, kind, sigma, kernel_size),
           degradation_matrix(msi.shape[1], ratio, kind, sigma, kernel_size))
    return coupled_btd(msi, hsi, srf, num_materials, degradation=ops, **kwargs)
