"""Shared fixtures: Hydra composition against the real config folder, quiet progress, wandb off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("FRESCO_PROGRESS", "0")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def compose_cfg(tmp_path):
    """``compose_cfg(*overrides)`` -> the composed config with its output dir in ``tmp_path``.

    The app's default method is FRESCO (minutes on a CPU); a test that names neither a method nor an
    experiment preset gets the fast ``bicubic`` baseline instead."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from fresco.configs import config_dir

    def _compose(*overrides: str, output_dir: Path | None = None):
        GlobalHydra.instance().clear()
        with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
            out = output_dir or tmp_path / "run"
            fast = [] if any(o.startswith(("method=", "experiment=")) for o in overrides) else ["method=bicubic"]
            return compose("config", overrides=[f"paths.output_dir={out}", *fast, *overrides])

    yield _compose
    GlobalHydra.instance().clear()
