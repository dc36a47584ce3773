"""``train_translator``: stage 2 from the stage-1 abundance maps to a trained translator.

Runs :class:`~fresco.hsr.module.HSRModule` under a ``pytorch_lightning.Trainer``. Checkpoints (when
``checkpoint_dir`` is given) are ``last.ckpt`` there, written every ``checkpoint_every`` iterations
and at the end, atomically (to a temporary file, then renamed); a later call with the same
directory resumes from it: same weights, optimiser states, iteration counter and patch-generator
state, so an interrupted run ends exactly where an uninterrupted one would. A checkpoint that has
already reached the budget is loaded without training.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from fresco.hsr.config import HSRConfig
from fresco.hsr.inference import TrainedTranslator, super_resolve
from fresco.hsr.module import ITERATION_KEY, HSRModule
from fresco.ops.checks import check_image
from fresco.training import LAST_CHECKPOINT, fit_module

__all__ = ["EvaluationCallback", "train_translator"]

log = logging.getLogger(__name__)

#: Tolerance on negative abundances (stage-1 output is projected onto >= 0; round-off only).
NEGATIVE_TOL = 1e-6


class _Ticks(IterableDataset):
    """An endless stream of dummy batches: the module draws its own patches on the device."""

    def __iter__(self):
        while True:
            yield torch.zeros(())


class EvaluationCallback(pl.Callback):
    """Every ``every`` iterations (and at the end) super-resolve the coarse maps, pass them to
    ``eval_fn`` and log what it returns as ``eval/<key>``. Only for reporting: nothing it computes
    reaches the losses, the schedule or the choice of checkpoint."""

    def __init__(self, eval_fn: Callable[[np.ndarray], dict[str, float]], abundances_h: np.ndarray, ratio: int,
                 every: int) -> None:
        self.eval_fn, self.abundances_h, self.ratio, self.every = eval_fn, abundances_h, ratio, int(every)
        self.last_evaluated = -1

    def evaluate(self, pl_module: HSRModule) -> None:
        if pl_module.iteration == self.last_evaluated:
            return
        model = TrainedTranslator(pl_module, pl_module.config, pl_module.ratio, pl_module.iteration)
        metrics = self.eval_fn(super_resolve(model, self.abundances_h, self.ratio))
        entry = {"iteration": float(pl_module.iteration), **{f"eval/{k}": float(v) for k, v in metrics.items()}}
        pl_module.history.append(entry)
        if pl_module.logger is not None:
            pl_module.logger.log_metrics({k: v for k, v in entry.items() if k != "iteration"},
                                         step=pl_module.iteration)
        self.last_evaluated = pl_module.iteration

    def on_train_start(self, trainer: pl.Trainer, pl_module: HSRModule) -> None:
        if self.every:
            self.evaluate(pl_module)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: HSRModule, *args: Any) -> None:
        if (self.every and pl_module.iteration % self.every == 0) or pl_module.done:
            self.evaluate(pl_module)


def _as_maps(abundances: np.ndarray, what: str) -> torch.Tensor:
    arr = check_image(abundances, f"{what} (rows, cols, R)", dtype=np.float32)
    if arr.min() < -NEGATIVE_TOL:
        raise ValueError(f"{what} must be nonnegative; its minimum is {arr.min():.3g}")
    return torch.as_tensor(np.ascontiguousarray(np.clip(arr, 0.0, None).transpose(2, 0, 1)))


def default_trainer_kwargs() -> dict[str, Any]:
    """Stage 2's Trainer arguments unless the caller's say otherwise (over :data:`fresco.training.TRAINER_DEFAULTS`)."""
    return {"accelerator": "auto", "devices": 1, "precision": 32, "deterministic": not torch.cuda.is_available()}


def train_translator(abundances_m: np.ndarray, abundances_h: np.ndarray, ratio: int, config: HSRConfig, *,
                     seed: int = 0, trainer_kwargs: dict[str, Any] | None = None, checkpoint_dir: str | None = None,
                     eval_fn: Callable[[np.ndarray], dict[str, float]] | None = None) -> TrainedTranslator:
    """Train stage 2 (FRESCO's shared translator, or IAT with ``config.independent``).

    Args:
        abundances_m: ``(I_M, J_M, R)`` fine abundance maps ``S_M`` from stage 1 (>= 0);
            at least ``d*P_H`` pixels on each side.
        abundances_h: ``(I_H, J_H, R)`` coarse abundance maps ``S_H`` from stage 1; at least ``P_H``
            on each side (smaller maps can still be super-resolved, not trained on).
        ratio: spatial ratio ``d``.
        config: :class:`HSRConfig`.
        seed: seeds the weights and the patch stream.
        trainer_kwargs: ``pytorch_lightning.Trainer`` arguments overriding the defaults
            (accelerator auto, one device, fp32, no logger, no Lightning checkpointing, progress bar
            unless ``FRESCO_PROGRESS=0`` or under pytest, deterministic on CPU); ``callbacks`` are
            added to this function's own. The budget is always ``config``'s iteration count.
        checkpoint_dir: where ``last.ckpt`` is written; resume from it when present.
        eval_fn: optional ``(d*I_H, d*J_H, R) -> {name: value}`` called every ``config.eval_every``
            iterations and at the end (reporting only).

    Returns:
        A :class:`TrainedTranslator`; pass it to :func:`fresco.hsr.inference.super_resolve`.
    """
    maps_m, maps_h = _as_maps(abundances_m, "abundances_m"), _as_maps(abundances_h, "abundances_h")
    if maps_m.shape[0] != maps_h.shape[0]:
        raise ValueError(f"abundances_m has {maps_m.shape[0]} materials but abundances_h has {maps_h.shape[0]}")
    ratio = int(ratio)
    fine_side = ratio * config.patch_size_h
    if min(maps_m.shape[1:]) < fine_side:
        raise ValueError(f"fine maps {tuple(maps_m.shape[1:])} are smaller than the fine patch side d*P_H={fine_side}")
    if min(maps_h.shape[1:]) < config.patch_size_h:
        raise ValueError(f"coarse maps {tuple(maps_h.shape[1:])} are smaller than the patch side "
                         f"P_H={config.patch_size_h}; lower patch_size_h")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = HSRModule(maps_m, maps_h, ratio, config, seed=seed)

    ckpt_path = None
    if checkpoint_dir is not None:
        candidate = Path(checkpoint_dir) / LAST_CHECKPOINT
        if candidate.is_file():
            ckpt_path = str(candidate)
    start = time.perf_counter()
    if ckpt_path is not None:
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if int(state.get(ITERATION_KEY, 0)) >= module.total_iterations:
            log.info("stage 2: %s has reached the budget; loading it without training", ckpt_path)
            module.load_state_dict(state["state_dict"])
            module.on_load_checkpoint(state)
            return TrainedTranslator(module, config, ratio, module.iteration, module.history, 0.0)
        log.info("stage 2: resuming from %s (iteration %d)", ckpt_path, int(state.get(ITERATION_KEY, 0)))

    callbacks = []
    if eval_fn is not None:
        callbacks.append(EvaluationCallback(eval_fn, np.asarray(abundances_h, dtype=np.float32), ratio,
                                            config.eval_every))
    fit_module(module, trainer_kwargs, checkpoint_dir=checkpoint_dir, checkpoint_every=config.checkpoint_every,
               train_dataloaders=DataLoader(_Ticks(), batch_size=None, num_workers=0), callbacks=callbacks,
               defaults={**default_trainer_kwargs(), "log_every_n_steps": config.log_every},
               max_epochs=1, max_steps=-1, limit_train_batches=None, num_sanity_val_steps=0)
    seconds = time.perf_counter() - start
    return TrainedTranslator(module, config, ratio, module.iteration, module.history, seconds)
