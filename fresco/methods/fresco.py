"""FRESCO as methods: stage 1 alone (``fresco_msr``), the co-registered LL1 upper bound
(``registered_ll1``), the whole method (``fresco``) and its IAT ablation (``iat``).

Stage 1 (:mod:`fresco.msr`) unmixes both images with shared endmembers -> M-SRI. Stage 2
(:mod:`fresco.hsr`) learns one translator from coarse to fine abundance patches and applies it to
the HSI's abundances -> H-SRI = ``clip(S^SR_H C^T, 0, 1)``.

Every method here reports, besides its estimates, how well the model reproduces the OBSERVED
images (``fit.msi_psnr``, ``fit.hsi_psnr``, ``fit.psnr``): the paper's rule for choosing
hyperparameters without ground truth (method.md section 5; ``experiments/select_msr.sh``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from fresco.data.pair import FusionPair
from fresco.data.srf_estimation import estimate_srf, srf_error
from fresco.hsr import HSRConfig, super_resolve, train_translator
from fresco.methods.base import FusionMethod, MethodOutput
from fresco.methods.interpolation import InterpolationBaseline
from fresco.metrics.quality import psnr
from fresco.msr.module import fit_btd
from fresco.msr.solver import BTDConfig, BTDResult, coupled_btd
from fresco.ops.consistency import back_project, preserve_total
from fresco.ops.degradation import degradation_matrix
from fresco.ops.resample import KERNELS, upsample

log = logging.getLogger(__name__)

__all__ = ["Fresco", "FrescoMSR", "RegisteredLL1", "observed_fit"]

DEVICES = ("auto", "cpu", "cuda")
GPU_ACCELERATORS = ("gpu", "cuda", "auto")


def _plain(value: Any) -> Any:
    """A DictConfig/ListConfig (``_recursive_: false`` leaves them) as plain containers."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def observed_fit(pair: FusionPair, result: BTDResult) -> dict[str, float]:
    """PSNR (dB) of the model's reconstruction of the observed MSI (``S_M (P C)^T``) and HSI
    (``S_H C^T``) and their mean: a ground-truth-free score for ranking hyperparameters."""
    msi_model = result.abundances_m @ (pair.srf @ result.endmembers).T
    scores = {"msi_psnr": psnr(msi_model, pair.msi), "hsi_psnr": psnr(result.hsi_reconstruction(), pair.hsi)}
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
        device: ``auto`` (the trainer's accelerator when it asks for a GPU and one is present), ``cpu``
            or ``cuda``.
        lightning: run the solver under a Lightning ``Trainer`` (progress bar, logging, checkpoints);
            ``False`` runs the plain loop (no per-iteration framework overhead).
        trainer: ``pytorch_lightning.Trainer`` arguments (the ``trainer`` config group).
        checkpoint_dir: stage checkpoints go to ``<checkpoint_dir>/msr`` (and ``/hsr``); a run that finds
            one resumes from it. ``None``: no checkpoints.
        checkpoint_every, monitor_every: iterations between checkpoints / ground-truth monitoring.
        log_dir: each stage's Lightning metrics go to ``<log_dir>/<msr|hsr>/metrics.csv`` (unless the
            trainer config names a logger). ``None``: not logged.
        estimate_srf: ignore the pair's ``P`` and estimate it from the two images
            (:func:`fresco.data.srf_estimation.estimate_srf`, registration-free); when the pair has a ``P``
            its error is reported as ``fit.srf_*``. ``srf_estimation``: that function's keyword arguments.
    """

    name = "fresco_msr"

    def __init__(self, name: str = "fresco_msr", *, seed: int = 0, dtype: str = "float64", device: str = "auto",
                 lightning: bool = True, trainer: dict[str, Any] | None = None, checkpoint_dir: str | None = None,
                 checkpoint_every: int = 50, monitor_every: int = 50, estimate_srf: bool = False,
                 srf_estimation: dict[str, Any] | None = None, log_dir: str | None = None, **stage1: Any) -> None:
        self.name = name
        self.estimate_srf, self.srf_estimation = bool(estimate_srf), dict(_plain(srf_estimation) or {})
        self.btd_config = BTDConfig.from_kwargs(**_plain(stage1))
        self.seed, self.dtype, self.lightning = int(seed), dtype, bool(lightning)
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of {DEVICES}")
        self.device = device
        self.trainer = {k: v for k, v in (_plain(trainer) or {}).items() if k != "_target_"}
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.checkpoint_every, self.monitor_every = int(checkpoint_every), int(monitor_every)

    # ----------------------------------------------------------------- helpers
    def _torch_device(self) -> str:
        import torch

        if self.device != "auto":
            if self.device == "cuda" and not torch.cuda.is_available():
                raise RuntimeError("device=cuda was asked for but torch sees no CUDA device; use device=auto or cpu")
            return self.device
        wants_gpu = str(self.trainer.get("accelerator", "cpu")).lower() in GPU_ACCELERATORS
        return "cuda" if wants_gpu and torch.cuda.is_available() else "cpu"

    def _trainer_kwargs(self, stage: str) -> dict[str, Any]:
        """The trainer group's arguments for one stage; with ``log_dir`` and no logger configured, a
        CSV logger writing ``<log_dir>/<stage>/metrics.csv`` (the stage's losses and monitor scores)."""
        kwargs = dict(self.trainer)
        if self._torch_device() == "cpu":
            kwargs["accelerator"] = "cpu"
        if self.log_dir is not None and not kwargs.get("logger"):
            from pytorch_lightning.loggers import CSVLogger

            kwargs["logger"] = CSVLogger(save_dir=str(self.log_dir), name=stage, version="")
        return kwargs

    def _stage_dir(self, stage: str) -> Path | None:
        return None if self.checkpoint_dir is None else self.checkpoint_dir / stage

    def _stage1_monitor(self):
        if self.monitor is None:
            return None
        monitor = self.monitor
        return lambda result: monitor("m_sri", result.m_sri())

    def with_estimated_srf(self, pair: FusionPair) -> tuple[FusionPair, dict[str, float]]:
        """``pair`` with ``P`` replaced by its registration-free estimate (when ``estimate_srf``), and
        the estimate's error against the pair's own ``P`` as diagnostics."""
        if not self.estimate_srf:
            return pair, {}
        import dataclasses

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
            return fit_btd(pair.msi, pair.hsi, pair.srf, self.btd_config, seed=self.seed, dtype=self.dtype,
                           degradation=degradation, trainer_kwargs=self._trainer_kwargs("msr"),
                           checkpoint_dir=self._stage_dir("msr"), checkpoint_every=self.checkpoint_every,
                           monitor=self._stage1_monitor(), monitor_every=self.monitor_every)
        return coupled_btd(pair.msi, pair.hsi, pair.srf, config=self.btd_config, seed=self.seed, dtype=self.dtype,
                           device=self._torch_device(), degradation=degradation)

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
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            pair, srf_diagnostics = self.with_estimated_srf(pair)
            result = self.stage1(pair)
        log.info("stage 1: %d iterations in %.1f s (converged: %s)", result.iterations, result.time_s,
                 result.converged)
        out = self.stage1_output(pair, result, times)
        out.diagnostics.update(srf_diagnostics)
        return out


class RegisteredLL1(FrescoMSR):
    """The co-registered coupled LL1 model (method.md section 3, "Registered variant"): one abundance
    set on the MSI grid; the HSI is its blur + downsampling. An upper bound for perfectly registered
    pairs (``misalignment=none``, equal footprints); it gives the M-SRI and, since the footprints are
    the same, the H-SRI too.

    Args:
        degradation, sigma, kernel_size: the assumed spatial degradation (``fresco.data.simulate.degrade``).
        Other arguments: as :class:`FrescoMSR`.
    """

    name = "registered_ll1"

    def __init__(self, name: str = "registered_ll1", *, degradation: str = "gaussian", sigma: float | None = None,
                 kernel_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.degradation, self.sigma, self.kernel_size = degradation, sigma, kernel_size

    def run(self, pair: FusionPair) -> MethodOutput:
        d = pair.ratio
        if pair.msi.shape[:2] != (d * pair.hsi.shape[0], d * pair.hsi.shape[1]):
            raise ValueError(
                f"registered_ll1 needs co-registered images on the same footprint (MSI grid = ratio x HSI grid); "
                f"got MSI {pair.msi.shape[:2]}, HSI {pair.hsi.shape[:2]}, ratio {d}. Use misalignment=none with "
                f"equal footprints (dataset.footprint.msi_shape = hsi_shape)")
        ops = tuple(degradation_matrix(n, d, self.degradation, self.sigma, self.kernel_size)
                    for n in pair.msi.shape[:2])
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            result = self.stage1(pair, degradation=ops)
        out = self.stage1_output(pair, result, times)
        out.h_sri = out.m_sri.copy()   # same footprint: the one abundance set gives both
        return out


class Fresco(FrescoMSR):
    """FRESCO end to end: stage 1 (M-SRI), then stage 2 (H-SRI).

    Args:
        hsr: stage-2 settings (:class:`fresco.hsr.HSRConfig` fields; the ``hsr`` config group, chosen
            by the profile). With ``add_hsi_misfit`` (cpu profile) the bicubic upsampling of stage 1's
            misfit of the HSI (``Y_H - S_H C^T``) is added to the H-SRI; the reference H-SRI is
            ``clip(S^SR_H C^T, 0, 1)``.
        independent: ``True`` = the IAT ablation (one translator and discriminator per material, same budget).
        compare_with: interpolation baselines run on the same pair and scored alongside, so the table
            shows the gain over plain interpolation: ``bicubic``, ``lanczos``, or ``<kernel>_bp``, that
            interpolation refined by the same back-projection as the H-SRI (``hsr.back_projection``
            steps, at least 5, with the same assumed blur), the model-based part of the gain.
        Other arguments: as :class:`FrescoMSR` (stage-1 hyperparameters by their paper names).
    """

    name = "fresco"

    def __init__(self, name: str = "fresco", *, hsr: dict[str, Any] | None = None, independent: bool = False,
                 compare_with: Sequence[str] = ("bicubic", "lanczos"), **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        settings = dict(_plain(hsr) or {})
        settings["independent"] = bool(independent) or bool(settings.get("independent", False))
        known = {f.name for f in fields(HSRConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown stage-2 (hsr) setting(s) {unknown}; known: {sorted(known)}")
        if "betas" in settings:
            settings["betas"] = tuple(settings["betas"])
        self.hsr_config = HSRConfig(**settings)
        known_refs = sorted([*KERNELS, *(f"{k}_bp" for k in KERNELS)])
        bad = [k for k in _plain(compare_with) or () if k not in known_refs]
        if bad:
            raise ValueError(f"compare_with names unknown baselines {bad}; choose from {known_refs}")
        self.compare_with = tuple(_plain(compare_with) or ())

    def reference(self, name: str) -> FusionMethod:
        """The interpolation baseline ``name`` of ``compare_with``."""
        kernel, _, bp = name.partition("_")
        steps = max(int(self.hsr_config.back_projection), 5) if bp else 0
        return InterpolationBaseline(name=name, kernel=kernel, back_projection=steps,
                                     sigma=self.hsr_config.warm_start_sigma)

    def h_sri(self, pair: FusionPair, result: BTDResult, maps: np.ndarray) -> np.ndarray:
        """The H-SRI from translated maps ``(I, J, R)``: ``clip(S C^T, 0, 1)`` in the reference; the
        cpu profile's options first set the maps' per-pixel total (``preserve_total``), add the
        upsampled misfit of the HSI (``add_hsi_misfit``) and back-project onto the HSI
        (``back_projection``); see :mod:`fresco.ops.consistency`."""
        c = self.hsr_config
        if c.preserve_total:
            maps = preserve_total(maps, result.abundances_h, pair.ratio)
        image = maps @ result.endmembers.T
        if c.add_hsi_misfit:
            misfit = (pair.hsi - result.hsi_reconstruction()).astype(np.float32)
            image = image + upsample(misfit, pair.ratio, "bicubic", pair.meta.get("degradation", {}).get("phase"))
        if c.back_projection:
            image = back_project(image, pair.hsi, pair.ratio, c.back_projection, sigma=c.warm_start_sigma)
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    def run(self, pair: FusionPair) -> MethodOutput:
        times: dict[str, float] = {}
        with self.timed(times, "m_sri"):
            pair, srf_diagnostics = self.with_estimated_srf(pair)
            result = self.stage1(pair)
        out = self.stage1_output(pair, result, times)
        out.diagnostics.update(srf_diagnostics)
        eval_fn = None
        if self.monitor is not None:
            monitor = self.monitor

            def eval_fn(abundances: np.ndarray) -> dict[str, float]:
                return monitor("h_sri", self.h_sri(pair, result, abundances))

        with self.timed(times, "h_sri"):
            translator = train_translator(result.abundances_m, result.abundances_h, pair.ratio, self.hsr_config,
                                          seed=self.seed, trainer_kwargs=self._trainer_kwargs("hsr"),
                                          checkpoint_dir=self._stage_dir("hsr"), eval_fn=eval_fn)
            abundances = super_resolve(translator, result.abundances_h, pair.ratio)
            out.h_sri = self.h_sri(pair, result, abundances)
        out.extras["abundances_h_sr"] = abundances.astype(np.float32)
        out.diagnostics["fit.hsr_iterations"] = float(translator.iteration)
        for name in self.compare_with:
            out.references[name] = self.reference(name).run(pair)
        return out
