"""Lightning plumbing shared by the methods that train (stage 1 and stage 2): checkpoints on the
module's own iteration counter, and a quiet trainer.

Both stages count their own iterations (stage 1 has no torch optimiser and stage 2 steps two, so
Lightning's ``global_step`` cannot budget either, and ``ModelCheckpoint`` skips saves while it does
not move). :class:`IterationCheckpoint` saves on the module's own counter instead.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

__all__ = ["LAST_CHECKPOINT", "IterationCheckpoint", "quiet_lightning"]

#: The rolling checkpoint a run resumes from.
LAST_CHECKPOINT = "last.ckpt"


class IterationCheckpoint(pl.Callback):
    """Write ``<dirpath>/last.ckpt`` atomically (temporary file + ``os.replace``) every ``every``
    iterations and when the budget is reached. The module must expose ``iteration`` (iterations
    done) and ``done`` (budget reached or converged)."""

    def __init__(self, dirpath: str | Path, every: int) -> None:
        self.dirpath, self.every = Path(dirpath), max(int(every), 1)

    def save(self, trainer: pl.Trainer) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        final, tmp = self.dirpath / LAST_CHECKPOINT, self.dirpath / (LAST_CHECKPOINT + ".tmp")
        trainer.save_checkpoint(tmp)
        if trainer.is_global_zero:
            os.replace(tmp, final)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        if pl_module.iteration % self.every == 0 or pl_module.done:
            self.save(trainer)


#: Lightning's informational chatter (device summary, adverts) that says nothing about the run.
_CHATTY_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "pytorch_lightning.accelerators.cuda",
                   "pytorch_lightning.trainer.connectors.checkpoint_connector")
_EXPECTED_WARNINGS = (".*configure_optimizers. returned .None.*", ".*does not have many workers.*",
                      ".*treespec.*", ".*IterableDataset.*", ".*is not resumable.*")


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's info lines and the warnings these training loops trigger by design
    (no torch optimiser in stage 1, one-batch loaders); real warnings still show."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for pattern in _EXPECTED_WARNINGS:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
