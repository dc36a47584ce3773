"""FRESCO as methods: stage 1 alone (``fresco_msr``), the co-registered LL1 upper bound
(``registered_ll1``), the whole method (``fresco``) and its IAT ablation (``iat``).

Stage 1 (:mod:`fresco.msr`) unmixes both images with shared endmembers -> M-SRI. Stage 2
(:mod:`fresco.hsr`) learns one translator from coarse to fine abundance patches and applies it to
the HSI's abundances -> H-SRI = ``clip(S^SR_H C^T, 0, 1)``. :class:`Fresco` composes the two: a
:class:`FrescoMSR` (stage 1) and a :class:`TranslatorStage` (stage 2), which train through the same
:class:`~fresco.training.Training`.

Every method here reports, besides its estimates, how well the model reproduces the OBSERVED
images (``fit.msi_psnr``, ``fit.hsi_psnr``, ``fit.psnr``): the paper's rule for choosing
hyperparameters without ground truth (method.md section 5; ``experiments/select_msr.sh``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fresco.data.pair import FusionPair
from fresco.data.srf_estimation import estimate_srf, srf_error
from fresco.hsr import HSRConfig, profile_config, super_resolve, train_translator
from fresco.methods.base import FusionMethod, MethodOutput, require_co_registered
from fresco.metrics.quality import observed_psnr
from fresco.msr.module import fit_btd
from fresco.msr.solver import BTDConfig, BTDResult, coupled_btd
from fresco.ops.consistency import back_project, preserve_total
from fresco.ops.degradation import degradation_matrix
from fresco.ops.resample import upsample
from fresco.training import Training, plain

log = logging.getLogger(__name__)

__all__ = ["Fresco", "FrescoMSR", "RegisteredLL1", "TranslatorStage", "observed_fit"]


def observed_fit(pair: FusionPair, result: BTDResult) -> dict[str, float]:
    """PSNR (dB) of the model's reconstruction of the observed MSI (``S_M (P C)^T``) and HSI
    (``S_H C^T``) and their mean: a ground-truth-free score for ranking hyperparameters."""
    msi_model = result.abundances_m @ (pair.srf @ result.endmembers).T
    scores = {"msi_psnr": observed_psnr(msi_model, pair.msi),
              "hsi_psnr": observed_psnr(result.hsi_reconstruction(), pair.hsi)}
    scores["psnr"] = 0.5 * (scores["msi_psnr"] + scores["hsi_psnr"])
    return {k: float(v) for k, v in scores.items()}


class FrescoMSR(FusionMethod):
    """Stage 1 alone: the M-SRI from the coupled unregistered block-term decomposition.

    Args:
        name: the method's name in results.
        num_materials, lambda_lr, lambda_tv, lambda_sto, alpha, p, q, tau, eps, iterations, tol, init,
            tv_boundary, restart, objective_every: :class:`~fresco.msr.solver.BTDConfig` (paper names).
        seed: seeds the solver's start.
        dtype: ``float64`` (reference) or ``float32``.
        lightning: run the solver under a Lightning ``Trainer`` (progress bar, logging, checkpoints);
            ``False`` runs the plain loop (no per-iteration framework overhead) on ``training``'s device.
        training: a :class:`~fresco.training.Training` or its settings (the ``training`` config node:
            device, trainer, checkpoint and log folders). Default: no checkpoints, no logs, the GPU when
            there is one (as the CLI's automatic profile).
        monitor_every: iterations between ground-truth monitoring (reporting only).
        estimate_srf: ignore the pair's ``P`` and estimate it from the two images
            (:func:`fresco.data.srf_estimation.estimate_srf`, registration-free); when the pair has a ``P``
            its error is reported as ``fit.srf_*``. ``srf_estimation``: that function's keyword arguments.
    """

    name = "fresco_msr"
    #: Checkpoint/log folder of this stage (``<checkpoint_dir>/msr``).
    stage = "msr"

    def __init__(self, name: str = "fresco_msr", *, seed: int = 0, dtype: str = "float64", lightning: bool = True,
                 training: Training | Mapping[str, Any] | None = None, monitor_every: int = 50,
                 estimate_srf: bool = False, srf_estimation: dict[str, Any] | None = None, **stage1: Any) -> None:
        self.name = name
        self.estimate_srf, self.srf_estimation = bool(estimate_srf), dict(plain(srf_estimation) or {})
        self.btd_config = BTDConfig.from_kwargs(**plain(stage1))
        self.seed, self.dtype, self.lightning = int(seed), dtype, bool(lightning)
        self.training = Training.coerce(training)
        self.monitor_every = int(monitor_every)

    def with_estimated_srf(self, pair: FusionPair) -> tuple[FusionPair, dict[str, float]]:
        """``pair`` with ``P`` replaced by its registration-free estimate (when ``estimate_srf``), and
        the estimate's error against the pair's own ``P`` as diagnostics."""
        if not self.estimate_srf:
            return pair, {}
        opts = {"seed": self.seed, **self.srf_estimation}
        estimate = estimate_srf(pair.msi, pair.hsi, pair.wavelengths, pair.ratio, **opts)
        errors = srf_error(estimate, pair.srf, wavelengths=pair.wavelengths, hsi=pair.hsi)
        diagnostics = {f"fit.srf_{k}": float(v) for k, v in errors.items() if np.ndim(v) == 0
                       and isinstance(v, int | float | np.floating)}
        log.info("estimated the SRF from the images (error against the given one: %s)", diagnostics)
        return dataclasses.replace(pair, srf=estimate), diagnostics

    def stage1(self, pair: FusionPair, degradation: tuple[Any, Any] | None = None) -> BTDResult:
        """Run the coupled unmixing on ``pair`` (under Lightning unless ``lightning=False``)."""
        if self.lightning:
            monitor = None
            if self.monitor is not None:
                method_monitor = self.monitor

                def monitor(result: BTDResult) -> dict[str, float]:
                    return method_monitor("m_sri", result.m_sri())

            return fit_btd(pair.msi, pair.hsi, pair.srf, self.btd_config, seed=self.seed, dtype=self.dtype,
                           degradation=degradation, trainer_kwargs=self.training.trainer_kwargs(self.stage),
                           checkpoint_dir=self.training.stage_dir(self.stage),
                           checkpoint_every=self.training.checkpoint_every, monitor=monitor,
                           monitor_every=self.monitor_every)
        return coupled_btd(pair.msi, pair.hsi, pair.srf, config=self.btd_config, seed=self.seed, dtype=self.dtype,
                           device=self.training.torch_device(), degradation=degradation)

    def fit(self, pair: FusionPair) -> tuple[FusionPair, BTDResult, MethodOutput]:
        """Stage 1 on ``pair``: the pair it ran on (with the estimated ``P`` when ``estimate_srf``), the
        decomposition, and its output (M-SRI, diagnostics, endmembers and abundances)."""
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            pair, srf_diagnostics = self.with_estimated_srf(pair)
            result = self.stage1(pair)
        log.info("stage 1: %d iterations in %.1f s (converged: %s)", result.iterations, result.time_s,
                 result.converged)
        out = self.stage1_output(pair, result, times)
        out.diagnostics.update(srf_diagnostics)
        return pair, result, out

    @staticmethod
    def stage1_output(pair: FusionPair, result: BTDResult, times: dict[str, float]) -> MethodOutput:
        fit = observed_fit(pair, result)
        diagnostics = {f"fit.{k}": v for k, v in fit.items()}
        diagnostics.update({"fit.iterations": float(result.iterations), "fit.converged": float(result.converged),
                            "fit.objective": result.history[-1]["objective"] if result.history else float("nan")})
        extras = {"endmembers": result.endmembers.astype(np.float32),
                  "abundances_m": result.abundances_m.astype(np.float32),
                  "abundances_h": result.abundances_h.astype(np.float32)}
        return MethodOutput(m_sri=result.m_sri(), time_s=times, extras=extras, diagnostics=diagnostics)

    def run(self, pair: FusionPair) -> MethodOutput:
        return self.fit(pair)[2]


class RegisteredLL1(FrescoMSR):
    """The co-registered coupled LL1 model (method.md section 3, "Registered variant"): one abundance
    set on the MSI grid; the HSI is its blur + downsampling. An upper bound for perfectly registered
    pairs (``misalignment=none``, equal footprints); it gives the M-SRI and, since the footprints are
    the same, the H-SRI too.

    Args:
        degradation, sigma, kernel_size: the assumed spatial degradation (:func:`fresco.ops.degradation.degrade`).
        Other arguments: as :class:`FrescoMSR`.
    """

    name = "registered_ll1"

    def __init__(self, name: str = "registered_ll1", *, degradation: str = "gaussian", sigma: float | None = None,
                 kernel_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.degradation, self.sigma, self.kernel_size = degradation, sigma, kernel_size

    def check(self, pair: FusionPair) -> None:
        require_co_registered(pair, self.name)

    def run(self, pair: FusionPair) -> MethodOutput:
        require_co_registered(pair, self.name)
        d = pair.ratio
        ops = tuple(degradation_matrix(n, d, self.degradation, self.sigma, self.kernel_size)
                    for n in pair.msi.shape[:2])
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            result = self.stage1(pair, degradation=ops)
        out = self.stage1_output(pair, result, times)
        out.h_sri = out.m_sri.copy()   # same footprint: the one abundance set gives both
        return out


class TranslatorStage:
    """Stage 2: train the translator (one shared by all materials; one per material with
    ``config.independent``, the IAT ablation) on stage 1's abundance maps, super-resolve the HSI's
    maps, and form the H-SRI.

    Args:
        config: :class:`~fresco.hsr.HSRConfig`.
        training: the :class:`~fresco.training.Training` it trains through (checkpoints in ``<dir>/hsr``).
        seed: seeds the weights and the patch stream.
    """

    #: Checkpoint/log folder of this stage (``<checkpoint_dir>/hsr``).
    stage = "hsr"

    def __init__(self, config: HSRConfig, training: Training, seed: int = 0) -> None:
        self.config, self.training, self.seed = config, training, int(seed)

    def h_sri(self, pair: FusionPair, result: BTDResult, maps: np.ndarray) -> np.ndarray:
        """The H-SRI from translated maps ``(I, J, R)``: ``clip(S C^T, 0, 1)`` in the reference; the
        cpu profile's options first set the maps' per-pixel total (``preserve_total``), add the
        upsampled misfit of the HSI (``add_hsi_misfit``) and back-project onto the HSI
        (``back_projection``); see :mod:`fresco.ops.consistency`."""
        c = self.config
        if c.preserve_total:
            maps = preserve_total(maps, result.abundances_h, pair.ratio)
        image = maps @ result.endmembers.T
        if c.add_hsi_misfit:
            misfit = (pair.hsi - result.hsi_reconstruction()).astype(np.float32)
            image = image + upsample(misfit, pair.ratio, "bicubic", pair.acquisition.phase)
        if c.back_projection:
            image = back_project(image, pair.hsi, pair.ratio, c.back_projection, sigma=c.warm_start_sigma)
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    def run(self, pair: FusionPair, result: BTDResult,
            monitor: Callable[[str, np.ndarray], dict[str, float]] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """The H-SRI, the super-resolved abundance maps and the iterations trained."""
        eval_fn = None
        if monitor is not None:
            def eval_fn(abundances: np.ndarray) -> dict[str, float]:
                return monitor("h_sri", self.h_sri(pair, result, abundances))

        translator = train_translator(result.abundances_m, result.abundances_h, pair.ratio, self.config,
                                      seed=self.seed, trainer_kwargs=self.training.trainer_kwargs(self.stage),
                                      checkpoint_dir=self.training.stage_dir(self.stage), eval_fn=eval_fn)
        abundances = super_resolve(translator, result.abundances_h, pair.ratio)
        return self.h_sri(pair, result, abundances), abundances, int(translator.iteration)


class Fresco(FusionMethod):
    """FRESCO end to end: stage 1 (:class:`FrescoMSR`, the M-SRI), then stage 2
    (:class:`TranslatorStage`, the H-SRI).

    Args:
        hsr: stage-2 settings (:class:`fresco.hsr.HSRConfig` fields; the ``hsr`` config group, chosen
            by the profile). ``None``: the profile the CLI picks on this machine (``paper`` with a CUDA
            device, else ``cpu``), so ``Fresco()`` in Python is ``fresco method=fresco`` on the command line.
            With ``add_hsi_misfit`` (cpu profile) the bicubic upsampling of stage 1's misfit of the HSI
            (``Y_H - S_H C^T``) is added to the H-SRI; the reference H-SRI is ``clip(S^SR_H C^T, 0, 1)``.
        independent: ``True`` = the IAT ablation (one translator and discriminator per material, same budget).
        Other arguments: :class:`FrescoMSR`'s (stage-1 hyperparameters by their paper names, ``seed``,
            ``training``...), shared by both stages.
    """

    name = "fresco"

    def __init__(self, name: str = "fresco", *, hsr: Mapping[str, Any] | None = None, independent: bool = False,
                 **stage1: Any) -> None:
        self.name = name
        self.msr = FrescoMSR(name, **stage1)
        settings = plain(hsr)
        config = profile_config(None) if settings is None else HSRConfig.from_settings(settings)
        if independent:
            config = config.replace(independent=True)
        self.hsr = TranslatorStage(config, self.msr.training, seed=self.msr.seed)

    @property
    def hsr_config(self) -> HSRConfig:
        return self.hsr.config

    def check(self, pair: FusionPair) -> None:
        """Stage 2 trains on ``P_H x P_H`` coarse and ``d P_H`` fine patches: both images must hold one."""
        side, d = self.hsr.config.patch_size_h, pair.ratio
        if min(pair.hsi.shape[:2]) < side or min(pair.msi.shape[:2]) < d * side:
            raise ValueError(f"{self.name}: stage 2 needs an HSI of at least {side} x {side} pixels and an MSI of at "
                             f"least {d * side} x {d * side} (hsr.patch_size_h={side}, ratio {d}); got HSI "
                             f"{pair.hsi.shape[:2]} and MSI {pair.msi.shape[:2]}. Lower hsr.patch_size_h or use "
                             "larger footprints")

    def run(self, pair: FusionPair) -> MethodOutput:
        self.msr.monitor = self.monitor
        pair, result, out = self.msr.fit(pair)
        with self.timed(out.time_s, "h_sri"):
            out.h_sri, abundances, iterations = self.hsr.run(pair, result, self.monitor)
        out.extras["abundances_h_sr"] = abundances.astype(np.float32)
        out.diagnostics["fit.hsr_iterations"] = float(iterations)
        return out
