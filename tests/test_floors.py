"""The M-SRI floors: spectral_lift and unmix_project (registration-free, per pixel)."""

from __future__ import annotations

import numpy as np
import pytest

from fresco.data.sensors import make_srf
from fresco.data.simulate import misalignment, simulate_pair
from fresco.data.synthetic import synthetic_scene
from fresco.methods.spectral import SpectralLift, UnmixProject
from fresco.metrics.quality import psnr
from fresco.ops.unmixing import fcls
from fresco.pipeline import run_experiment


def test_fcls_is_exact_on_mixtures_and_respects_the_constraints():
    rng = np.random.default_rng(0)
    basis = rng.random((6, 4))
    truth = rng.dirichlet(np.ones(4), size=50)
    est = fcls(truth @ basis.T, basis)
    np.testing.assert_allclose(est, truth, atol=1e-6)
    noisy = fcls(truth @ basis.T + 0.05 * rng.standard_normal((50, 6)), basis)
    assert noisy.min() >= 0 and np.allclose(noisy.sum(axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def model_pair():
    """A noise-free pair drawn from the linear mixing model with pure pixels, rotated and shifted."""
    scene = synthetic_scene(64, 64, n_bands=40, n_materials=4, seed=1)
    srf = make_srf("landsat_box", scene.wavelengths)
    return simulate_pair(scene, srf, ratio=4, msi_shape=(32, 32), hsi_shape=(32, 32), **misalignment("moderate"))


def test_unmix_project_recovers_a_pair_from_its_own_model(model_pair):
    out = UnmixProject(num_materials=4).run(model_pair.without_truth())
    assert out.h_sri is None and out.m_sri.shape == model_pair.m_sri_shape
    assert psnr(out.m_sri, model_pair.sri_m) > 35   # measured 43.8 dB (VCA picks blurred, near-pure HSI pixels)


def test_spectral_lift_is_a_method_of_its_own(model_pair):
    out = SpectralLift().run(model_pair.without_truth())
    assert out.h_sri is None and psnr(out.m_sri, model_pair.sri_m) > 60   # exact (100 dB): 4 materials, 6 bands
    with pytest.raises(ValueError, match="spectral_rank"):
        SpectralLift(spectral_rank=0)


def test_floors_run_from_the_cli_config_and_reject_bad_settings(compose_cfg):
    for method in ("spectral_lift", "unmix_project"):
        metrics = run_experiment(compose_cfg("experiment=smoke", f"method={method}", "save.figure=false",
                                             "logger=none"))
        assert metrics["m_sri.psnr"] > 20 and metrics["h_sri.psnr"] is None
    with pytest.raises(ValueError, match="num_materials"):
        UnmixProject(num_materials=0)
    with pytest.raises(ValueError, match="more than this pair supports"):
        run_experiment(compose_cfg("experiment=smoke", "method=unmix_project", "method.num_materials=9"))
