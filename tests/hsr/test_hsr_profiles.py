"""The hsr config group is the code's profiles (typed, registered from Python); the profile picks the
device's default."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from fresco.hsr import HSRConfig, cpu_config, paper_config, profile_config


@pytest.mark.parametrize(("profile", "expected"), [("cpu", cpu_config), ("paper", paper_config)])
def test_hsr_config_group_matches_the_profiles(compose_cfg, profile, expected):
    cfg = compose_cfg(f"profile={profile}")
    assert HSRConfig(**OmegaConf.to_container(cfg.hsr, resolve=True)) == expected()


def test_hsr_settings_are_typed_at_composition(compose_cfg):
    from hydra.errors import ConfigCompositionException
    from omegaconf.errors import ValidationError

    with pytest.raises((ValidationError, ConfigCompositionException), match="iterations"):
        compose_cfg("method=fresco", "hsr.iterations=abc")
    with pytest.raises(ConfigCompositionException, match="iteratons"):
        compose_cfg("method=fresco", "hsr.iteratons=5")


def test_profile_config_defaults_by_device_and_rejects_unknown(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert profile_config() == cpu_config()
    assert profile_config("cpu", iterations=7).iterations == 7
    with pytest.raises(ValueError, match="profile"):
        profile_config("tpu")
    with pytest.raises(ValueError, match="inference_bn"):
        HSRConfig(inference_bn="frozen")
