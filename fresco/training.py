"""The one training helper that every stage and every learned method trains through.

A method that learns something holds a :class:`Training` (the ``training`` config node: device,
the ``trainer`` group, checkpoint and log folders) and hands its LightningModule to
:meth:`Training.fit` under a stage name. The helper

* picks the device (``auto``: the trainer's accelerator when it asks for a GPU and one is present),
* instantiates the Trainer from the ``trainer`` group (its ``_target_``, and ``callbacks`` given as
  configs with a ``_target_``), quiet about Lightning's chatter and the warnings these loops trigger
  by design,
* logs the stage's curves to ``<log_dir>/<stage>/metrics.csv`` unless the trainer names a logger, and
  to the run's own experiment loggers (``logger=wandb`` and the like; :func:`run_loggers`, set by the
  pipeline around a method's run),
* saves ``<checkpoint_dir>/<stage>/last.ckpt`` atomically every ``checkpoint_every`` iterations of the
  module's own counter, and resumes from it when it is there.

The module's contract is small: ``iteration`` (iterations done) and ``done`` (budget reached or
converged), saved and restored by its ``on_save_checkpoint`` / ``on_load_checkpoint``. Lightning's
``global_step`` cannot budget these loops (stage 1 has no torch optimiser, stage 2 steps two), and
``ModelCheckpoint`` skips saves while it does not move, hence :class:`IterationCheckpoint`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger

from fresco.ops.checks import typed_settings
from fresco.progress import progress_enabled

__all__ = ["DEVICES", "LAST_CHECKPOINT", "IterationCheckpoint", "Training", "plain", "quiet_lightning", "run_loggers"]

log = logging.getLogger(__name__)

#: The rolling checkpoint a run resumes from.
LAST_CHECKPOINT = "last.ckpt"
#: Values of ``training.device``.
DEVICES = ("auto", "cpu", "cuda")
#: Trainer accelerators that ask for a GPU.
GPU_ACCELERATORS = ("gpu", "cuda", "auto")
#: The Trainer class when the trainer config names none.
TRAINER_TARGET = "pytorch_lightning.Trainer"
#: What every stage's Trainer gets unless the trainer config says otherwise.
TRAINER_DEFAULTS: dict[str, Any] = {"enable_model_summary": False, "logger": False, "num_sanity_val_steps": 0}


#: The run's experiment loggers that every stage trained inside :func:`run_loggers` also logs to.
_RUN_LOGGERS: ContextVar[tuple[Any, ...]] = ContextVar("fresco_run_loggers", default=())


@contextmanager
def run_loggers(loggers: Sequence[Any]) -> Iterator[None]:
    """Inside this block every stage that trains through :class:`Training` also logs its curves to
    ``loggers`` (the run's experiment loggers, e.g. a ``WandbLogger``). CSV loggers among them are left
    out: the stage's own ``<log_dir>/<stage>/metrics.csv`` already holds its curve, and one CSV file
    cannot hold the curves of several stages that each count from 0."""
    token = _RUN_LOGGERS.set(tuple(lg for lg in loggers if not isinstance(lg, CSVLogger)))
    try:
        yield
    finally:
        _RUN_LOGGERS.reset(token)


def plain(value: Any) -> Any:
    """A DictConfig/ListConfig (``_recursive_: false`` leaves them) as plain containers."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


class IterationCheckpoint(pl.Callback):
    """Write ``<dirpath>/last.ckpt`` atomically (temporary file + ``os.replace``) every ``every``
    iterations and when the budget is reached. The module must expose ``iteration`` (iterations
    done) and ``done`` (budget reached or converged)."""

    def __init__(self, dirpath: str | Path, every: int) -> None:
        self.dirpath, self.every = Path(dirpath), max(int(every), 1)

    def save(self, trainer: pl.Trainer) -> None:
        for logger in trainer.loggers:   # the logs hold every iteration up to the checkpoint
            logger.save()
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


def _callback(conf: Any) -> Any:
    """A callback given as a config (a mapping with ``_target_``) instantiated; an object as it is."""
    if isinstance(conf, Mapping | DictConfig) and "_target_" in conf:
        return instantiate(conf)
    return conf


@dataclass
class Training:
    """How and where a learned method trains (the ``training`` config node).

    Args:
        trainer: the ``trainer`` config group: ``pytorch_lightning.Trainer`` arguments, with an optional
            ``_target_`` (another Trainer class) and ``callbacks`` (objects or configs with ``_target_``).
        device: ``auto`` (the trainer's accelerator when it asks for a GPU and one is present; a trainer
            config without an accelerator asks for one, as the CLI's automatic profile), ``cpu`` or
            ``cuda``. Methods that run plain torch outside a Trainer use :meth:`torch_device`.
        checkpoint_dir: each stage checkpoints to ``<checkpoint_dir>/<stage>/last.ckpt`` and resumes from
            it when it is there. ``None``: no checkpoints.
        log_dir: each stage's curves go to ``<log_dir>/<stage>/metrics.csv`` unless the trainer config
            names a logger. ``None``: not logged.
        checkpoint_every: iterations between checkpoints (a stage may pass its own).
    """

    trainer: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    checkpoint_dir: str | Path | None = None
    log_dir: str | Path | None = None
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        self.trainer = dict(plain(self.trainer) or {})
        if self.device not in DEVICES:
            raise ValueError(f"unknown training.device {self.device!r}; choose one of {DEVICES}")
        self.checkpoint_dir = None if self.checkpoint_dir is None else Path(self.checkpoint_dir)
        self.log_dir = None if self.log_dir is None else Path(self.log_dir)
        if int(self.checkpoint_every) < 1:
            raise ValueError(f"training.checkpoint_every must be a positive number of iterations; "
                             f"got {self.checkpoint_every}")
        self.checkpoint_every = int(self.checkpoint_every)

    @classmethod
    def coerce(cls, value: Training | Mapping[str, Any] | None) -> Training:
        """A :class:`Training` from itself, its config mapping, or ``None`` (CPU, no checkpoints, no logs)."""
        if isinstance(value, Training):
            return value
        return cls(**typed_settings(cls, dict(plain(value) or {}), "training"))

    def torch_device(self) -> str:
        """The torch device this training runs on."""
        import torch

        if self.device != "auto":
            if self.device == "cuda" and not torch.cuda.is_available():
                raise RuntimeError("training.device=cuda was asked for but torch sees no CUDA device; "
                                   "use training.device=auto or cpu")
            return self.device
        wants_gpu = str(self.trainer.get("accelerator", "auto")).lower() in GPU_ACCELERATORS
        return "cuda" if wants_gpu and torch.cuda.is_available() else "cpu"

    def stage_dir(self, stage: str) -> Path | None:
        """``<checkpoint_dir>/<stage>``, or None without checkpoints."""
        return None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / stage

    def last_checkpoint(self, stage: str) -> Path | None:
        """The stage's ``last.ckpt`` when an earlier run left one."""
        folder = self.stage_dir(stage)
        return folder / LAST_CHECKPOINT if folder is not None and (folder / LAST_CHECKPOINT).is_file() else None

    def trainer_kwargs(self, stage: str) -> dict[str, Any]:
        """The trainer group's arguments for one stage: ``accelerator=cpu`` when :meth:`torch_device` is
        the CPU; unless the trainer config names a logger, a CSV logger writing
        ``<log_dir>/<stage>/metrics.csv`` (with ``log_dir``) and the run's loggers (:func:`run_loggers`)."""
        kwargs = dict(self.trainer)
        if self.torch_device() == "cpu":
            kwargs["accelerator"] = "cpu"
        if not kwargs.get("logger"):

            stage_csv = [] if self.log_dir is None else [self._stage_csv(stage)]
            loggers = stage_csv + list(_RUN_LOGGERS.get())
            if loggers:
                kwargs["logger"] = loggers[0] if len(loggers) == 1 else loggers
        return kwargs

    def _stage_csv(self, stage: str) -> Any:
        """The stage's CSV logger; when the stage resumes from a checkpoint, the curve logged before the
        interruption is kept and the resumed run appends to it (Lightning's writer would delete it)."""
        logger = CSVLogger(save_dir=str(self.log_dir), name=stage, version="")
        path = Path(logger.log_dir) / "metrics.csv"
        if self.last_checkpoint(stage) is not None and path.is_file():
            kept = path.read_text()
            writer = logger.experiment          # creating the writer removes the file...
            path.write_text(kept)               # ...so it is put back, and new rows are appended to it
            header = kept.splitlines()[0].split(",") if kept.strip() else []
            writer.metrics_keys = sorted(header)
        return logger

    def fit(self, module: pl.LightningModule, stage: str, *, train_dataloaders: Any = None,
            checkpoint_every: int | None = None, callbacks: Sequence[pl.Callback] = (),
            defaults: Mapping[str, Any] | None = None, **fixed: Any) -> Path | None:
        """Train ``module`` as ``stage`` (resuming from the stage's ``last.ckpt`` when there is one).

        ``defaults``: Trainer arguments this stage wants unless the trainer config sets them;
        ``fixed``: arguments it always needs (its budget, e.g. ``max_epochs``). Returns the checkpoint
        it resumed from, or None.
        """
        return fit_module(module, self.trainer_kwargs(stage), checkpoint_dir=self.stage_dir(stage),
                          checkpoint_every=self.checkpoint_every if checkpoint_every is None else checkpoint_every,
                          train_dataloaders=train_dataloaders, callbacks=callbacks, defaults=defaults, **fixed)


def fit_module(module: pl.LightningModule, trainer: Mapping[str, Any] | None, *,
               checkpoint_dir: str | Path | None = None, checkpoint_every: int = 50, train_dataloaders: Any = None,
               callbacks: Sequence[pl.Callback] = (), defaults: Mapping[str, Any] | None = None,
               **fixed: Any) -> Path | None:
    """Build the Trainer from ``trainer`` (Trainer arguments, optional ``_target_`` and ``callbacks``) over
    :data:`TRAINER_DEFAULTS` and ``defaults``, with ``fixed`` on top, and fit ``module``; with
    ``checkpoint_dir``, save ``last.ckpt`` there every ``checkpoint_every`` iterations and resume from
    it. Returns the checkpoint it resumed from, or None."""
    kwargs = {"enable_progress_bar": progress_enabled(), **TRAINER_DEFAULTS, **(defaults or {}),
              **dict(trainer or {})}
    target = kwargs.pop("_target_", TRAINER_TARGET)
    all_callbacks = [_callback(c) for c in plain(kwargs.pop("callbacks", None)) or []]
    ckpt_path = None
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        all_callbacks.append(IterationCheckpoint(checkpoint_dir, checkpoint_every))
        if (checkpoint_dir / LAST_CHECKPOINT).is_file():
            ckpt_path = checkpoint_dir / LAST_CHECKPOINT
    all_callbacks += list(callbacks)   # after the checkpoint: an iteration is saved before it is reported
    kwargs.update(fixed)
    kwargs["enable_checkpointing"] = False   # IterationCheckpoint, on the module's own counter
    with quiet_lightning():
        trainer_obj = get_class(target)(callbacks=all_callbacks, **kwargs)
        trainer_obj.fit(module, train_dataloaders=train_dataloaders,
                        ckpt_path=None if ckpt_path is None else str(ckpt_path))
    return ckpt_path
