"""Experiment loggers (Lightning's CSVLogger by default; WandbLogger in offline mode on request).

``cfg.logger`` maps a name to a Lightning logger config; each is instantiated with Hydra. The
run's hyperparameters (the resolved config, flattened) and its final metrics are logged to each.
"""

from __future__ import annotations

import logging
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Instantiate every logger under ``cfg.logger`` (an empty group gives no logger)."""
    loggers = []
    for name, conf in (cfg.get("logger") or {}).items():
        if conf is None or "_target_" not in conf:
            continue
        loggers.append(instantiate(conf))
        log.debug("logger %s ready", name)
    return loggers


def flatten_config(cfg: DictConfig) -> dict[str, Any]:
    """``{"method.name": "bicubic", ...}``: scalar leaves of the resolved config (no hydra node)."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, val in node.items():
                walk(val, f"{prefix}{key}.")
        elif isinstance(node, list):
            out[prefix[:-1]] = str(node)
        else:
            out[prefix[:-1]] = node

    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    walk(container, "")
    return out


def log_run(loggers: list[Any], cfg: DictConfig, metrics: dict[str, float | None]) -> None:
    """Log hyperparameters and the metrics that exist (None means "not computed": not logged)."""
    present = {k: v for k, v in metrics.items() if v is not None}
    for logger in loggers:
        logger.log_hyperparams(flatten_config(cfg))
        logger.log_metrics(present, step=0)
        logger.finalize("success")
        logger.save()
        experiment = getattr(logger, "experiment", None)
        if type(logger).__name__ == "WandbLogger" and hasattr(experiment, "finish"):
            experiment.finish()
