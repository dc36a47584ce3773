"""Stage 1 under Lightning: one solver sweep per training step (manual optimisation).

The solver is plain torch (:mod:`fresco.msr.solver`); this wrapper gives runs Lightning's
progress bar, logging of the objective and each of its terms (plus M-SRI scores from a
``monitor`` when the caller has ground truth; never used for fitting) and checkpointing.

Lightning only counts ``global_step`` when an optimiser steps, and this solver has no torch
optimiser, so one solver iteration is one *epoch* of a one-batch loader: ``max_epochs`` is the
iteration budget, ``current_epoch`` the iteration count restored on resume, and
:class:`~fresco.training.IterationCheckpoint` saves the solver state (through :mod:`fresco.training`,
the helper every learned stage shares).
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
from torch.utils.data import DataLoader, Dataset

from fresco.msr.solver import BTDConfig, BTDResult, CoupledBTD
from fresco.training import fit_module

log = logging.getLogger(__name__)

__all__ = ["BTDModule", "fit_btd"]



class _OneStep(Dataset):
    """A single dummy batch: each epoch is one solver sweep."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.zeros(1)


class BTDModule(pl.LightningModule):
    """Lightning wrapper of :class:`~fresco.msr.solver.CoupledBTD`.

    Args:
        msi, hsi, srf: see :func:`fresco.msr.solver.coupled_btd`.
        config: stage-1 hyperparameters.
        seed, dtype: the solver's seed and arithmetic type; the device is the trainer's.
        degradation: registered variant operators (see :class:`CoupledBTD`).
        monitor: optional ``callable(result) -> dict`` called every ``monitor_every`` iterations with
            the current :class:`BTDResult`; its scores are logged (e.g. M-SRI PSNR against ground truth
            that only the caller holds). Never used for fitting or stopping.
    """

    def __init__(self, msi: np.ndarray, hsi: np.ndarray, srf: np.ndarray, config: BTDConfig, *, seed: int = 0,
                 dtype: str = "float64", degradation: tuple[Any, Any] | None = None,
                 monitor: Callable[[BTDResult], dict[str, float]] | None = None, monitor_every: int = 50) -> None:
        super().__init__()
        self.automatic_optimization = False
        self._inputs = (msi, hsi, srf)
        self.config, self.seed, self.solver_dtype, self.degradation = config, seed, dtype, degradation
        self.monitor, self.monitor_every = monitor, max(int(monitor_every), 1)
        self.solver: CoupledBTD | None = None
        self._pending_state: dict[str, Any] | None = None

    def setup(self, stage: str) -> None:
        if self.solver is None:
            msi, hsi, srf = self._inputs
            self.solver = CoupledBTD(msi, hsi, srf, self.config, seed=self.seed, dtype=self.solver_dtype,
                                     device=self.device, degradation=self.degradation)
        if self._pending_state is not None:
            self.solver.load_state_dict(self._pending_state)
            self._pending_state = None

    @property
    def iteration(self) -> int:
        return 0 if self.solver is None else self.solver.iteration

    @property
    def done(self) -> bool:
        return self.solver is not None and self.solver.done

    def configure_optimizers(self) -> None:
        return None   # the solver makes its own projected-gradient steps

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_OneStep(), batch_size=1)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        solver = self.solver
        if solver.done:
            self.trainer.should_stop = True
            return None
        info = solver.step()
        if info is not None:
            self.log_dict({f"msr/{k}": v for k, v in info.items() if k not in ("iteration", "objective")},
                          on_step=False, on_epoch=True, batch_size=1)
            self.log("msr/objective", info["objective"], prog_bar=True, on_step=False, on_epoch=True, batch_size=1)
        if self.monitor is not None and (solver.iteration % self.monitor_every == 0 or solver.done):
            scores = self.monitor(solver.result())
            self.log_dict({f"msr/monitor/{k}": float(v) for k, v in scores.items() if v is not None},
                          on_step=False, on_epoch=True, batch_size=1)
        if solver.done:
            self.trainer.should_stop = True
        return None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["btd_state"] = self.solver.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._pending_state = checkpoint["btd_state"]
        if self.solver is not None:
            self.setup("fit")


def fit_btd(msi: np.ndarray, hsi: np.ndarray, srf: np.ndarray, config: BTDConfig, *, seed: int = 0,
            dtype: str = "float64", degradation: tuple[Any, Any] | None = None,
            trainer_kwargs: dict[str, Any] | None = None, checkpoint_dir: str | Path | None = None,
            checkpoint_every: int = 50, monitor: Callable[[BTDResult], dict[str, float]] | None = None,
            monitor_every: int = 50) -> BTDResult:
    """Run stage 1 through a Lightning ``Trainer`` and return its :class:`BTDResult`.

    ``trainer_kwargs`` are ``pytorch_lightning.Trainer`` arguments (the ``trainer`` config group:
    accelerator, devices, precision, deterministic, logger...); ``max_epochs`` is set to the
    iteration budget. With ``checkpoint_dir``, the solver state is saved there every
    ``checkpoint_every`` iterations (``last.ckpt``, written atomically by Lightning) and a run that
    finds one resumes from it.
    """
    module = BTDModule(msi, hsi, srf, config, seed=seed, dtype=dtype, degradation=degradation, monitor=monitor,
                       monitor_every=monitor_every)
    start = time.perf_counter()
    if config.iterations == 0:
        module.setup("fit")
    else:
        resumed = fit_module(module, trainer_kwargs, checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                             defaults={"log_every_n_steps": 1},   # one batch per epoch: log every iteration
                             max_epochs=config.iterations, min_epochs=0)
        if resumed is not None:
            log.info("stage 1 resumed from %s", resumed)
    return module.solver.result(time_s=time.perf_counter() - start)
