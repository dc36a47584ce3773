"""CNMF, the coupled-NMF co-registered upper bound."""

from __future__ import annotations

import pytest

from fresco.data.sensors import make_srf
from fresco.data.simulate import simulate_pair
from fresco.data.synthetic import synthetic_scene
from fresco.methods.cnmf import CNMF
from fresco.metrics.quality import psnr
from fresco.pipeline import run_experiment


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene(64, 64, n_bands=40, n_materials=4, seed=1)


def test_cnmf_recovers_a_co_registered_pair_from_its_own_model(scene):
    srf = make_srf("landsat_box", scene.wavelengths)
    pair = simulate_pair(scene, srf, ratio=4, msi_shape=(32, 32), hsi_shape=(32, 32))
    out = CNMF(num_materials=4).run(pair.without_truth())
    assert psnr(out.m_sri, pair.sri_m) > 50 and psnr(out.h_sri, pair.sri_h) > 50   # measured 61.5 dB


def test_cnmf_refuses_an_unregistered_pair_and_bad_settings(scene):
    srf = make_srf("landsat_box", scene.wavelengths)
    pair = simulate_pair(scene, srf, ratio=4, msi_shape=(32, 32), hsi_shape=(16, 16))
    with pytest.raises(ValueError, match="co-registered images on the same footprint"):
        CNMF().run(pair.without_truth())
    with pytest.raises(ValueError, match="method.outer must be an integer"):
        CNMF(outer=-1)


def test_cnmf_runs_from_the_cli_config(compose_cfg):
    metrics = run_experiment(compose_cfg("experiment=smoke", "method=cnmf", "misalignment=none", "method.outer=2",
                                         "method.num_materials=8", "save.figure=false", "logger=none"))
    assert metrics["m_sri.psnr"] > 25 and metrics["h_sri.psnr"] == metrics["m_sri.psnr"]
