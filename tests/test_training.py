"""The shared training helper: the run's experiment loggers receive every learned stage's curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import Logger

from fresco.pipeline import run_experiment


class ProbeLogger(Logger):
    """An experiment logger (as wandb would be) that writes the metric names it receives to a file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path, self.seen = Path(path), set()

    @property
    def name(self) -> str:
        return "probe"

    @property
    def version(self) -> str:
        return "0"

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.seen.update(metrics)
        self.path.write_text(json.dumps(sorted(self.seen)))


def test_the_runs_logger_gets_both_stages_curves_and_the_final_metrics(compose_cfg, tmp_path):
    seen = tmp_path / "seen.json"
    run_experiment(compose_cfg("experiment=fresco_smoke", "+logger.probe._target_=test_training.ProbeLogger",
                               f"+logger.probe.path={seen}", "save.figure=false"))
    names = set(json.loads(seen.read_text()))
    assert "msr/objective" in names                               # stage 1's curve
    assert "d/real" in names, names                               # stage 2's curve
    assert "h_sri.psnr" in names and "m_sri.psnr" in names        # the run's final metrics, as before
    assert (tmp_path / "run" / "logs" / "msr" / "metrics.csv").is_file()   # the stage CSVs stay
