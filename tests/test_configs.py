"""Every config group composes, and every choice's ``_target_`` instantiates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate

from fresco.configs import config_dir

CONF = config_dir()


def choices(group: str) -> list[str]:
    """The group's options, from YAML files and from the ones registered in Python (fresco.configs)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return sorted(GlobalHydra.instance().config_loader().get_group_options(group))


def test_required_groups_exist():
    for group in ("dataset", "srf", "degradation", "misalignment", "method", "profile", "trainer", "logger",
                  "experiment", "noise"):
        assert choices(group), f"config group {group} has no choices"


@pytest.mark.parametrize("group", ["dataset", "srf", "degradation", "misalignment", "noise", "method",
                                   "profile", "trainer", "logger", "experiment"])
def test_each_choice_composes(compose_cfg, group):
    for choice in choices(group):
        cfg = compose_cfg(f"{group}={choice}")
        assert cfg.run_name


@pytest.mark.parametrize("method", choices("method"))
def test_methods_instantiate_with_their_name(compose_cfg, method):
    from fresco.pipeline import method_config

    cfg = compose_cfg(f"method={method}")
    beside = ["bicubic", "lanczos", "bicubic_bp"] if method in ("fresco", "iat") else []
    assert list(cfg.method.compare_with) == beside
    obj = instantiate(method_config(cfg))   # compare_with is the pipeline's, never the method's
    assert obj.name == method


def test_trainer_config_instantiates_a_lightning_trainer(compose_cfg, tmp_path):
    cfg = compose_cfg("+trainer.max_steps=1")
    trainer = instantiate(cfg.trainer, default_root_dir=str(tmp_path), enable_progress_bar=False)
    assert type(trainer).__module__.startswith("pytorch_lightning")


def test_misalignment_levels_grow_in_severity(compose_cfg):
    angles = [compose_cfg(f"misalignment={m}").misalignment.angle_deg for m in ("none", "mild", "moderate", "severe")]
    assert angles == sorted(angles) and angles[0] == 0 and angles[-1] == 90


def test_profile_paper_selects_gpu(compose_cfg):
    cfg = compose_cfg("profile=paper")
    assert cfg.trainer.accelerator == "gpu" and cfg.profile_name == "paper"


def test_experiment_presets_are_global_packages():
    for path in (CONF / "experiment").glob("*.yaml"):
        assert Path(path).read_text().startswith("# @package _global_"), path
