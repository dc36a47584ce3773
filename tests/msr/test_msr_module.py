"""Stage 1 under Lightning (same numbers as the plain loop, checkpoints, resume after a crash) and
as Hydra methods (fresco_msr on an authors'-layout pair file, registered_ll1)."""

from __future__ import annotations

import numpy as np
import pytest

from fresco import results
from fresco.msr import BTDConfig, coupled_btd
from fresco.msr.module import fit_btd
from fresco.pipeline import run_experiment
from fresco.training import LAST_CHECKPOINT

TRAINER = {"accelerator": "cpu", "devices": 1, "deterministic": True}


@pytest.fixture
def small_problem():
    rng = np.random.default_rng(0)
    srf = rng.random((4, 30))
    return rng.random((16, 20, 4)), rng.random((4, 5, 30)), srf / srf.sum(1, keepdims=True)


def test_lightning_run_equals_the_plain_loop(small_problem):
    cfg = BTDConfig(num_materials=3, iterations=25)
    plain = coupled_btd(*small_problem, config=cfg, seed=3)
    seen = []
    lit = fit_btd(*small_problem, cfg, seed=3, trainer_kwargs=TRAINER, monitor=lambda r: seen.append(r.iterations)
                  or {"psnr": 1.0}, monitor_every=10)
    assert lit.iterations == plain.iterations == 25
    np.testing.assert_array_equal(lit.endmembers, plain.endmembers)
    np.testing.assert_array_equal(lit.abundances_m, plain.abundances_m)
    assert seen == [10, 20, 25]


def test_a_crashed_run_resumes_from_its_checkpoint_with_the_same_result(small_problem, tmp_path):
    cfg = BTDConfig(num_materials=3, iterations=30)
    reference = coupled_btd(*small_problem, config=cfg, seed=1)

    def crash(result):
        if result.iterations == 20:
            raise RuntimeError("simulated crash")
        return {}

    with pytest.raises(RuntimeError, match="simulated crash"):
        fit_btd(*small_problem, cfg, seed=1, trainer_kwargs=TRAINER, checkpoint_dir=tmp_path, checkpoint_every=10,
                monitor=crash, monitor_every=10)
    assert (tmp_path / LAST_CHECKPOINT).is_file()
    resumed = fit_btd(*small_problem, cfg, seed=1, trainer_kwargs=TRAINER, checkpoint_dir=tmp_path,
                      checkpoint_every=10)
    assert resumed.iterations == 30
    np.testing.assert_allclose(resumed.endmembers, reference.endmembers, rtol=1e-12, atol=1e-14)
    assert [h["iteration"] for h in resumed.history] == list(range(1, 31))


def test_fresco_msr_on_a_pair_file_in_the_authors_layout(compose_cfg, tmp_path):
    """Acceptance: `fresco method=fresco_msr dataset=pair_file dataset.path=PAIR.mat method.num_materials=6`."""
    from fresco.data.io import load_pair, save_pair_mat

    run_experiment(compose_cfg("experiment=smoke", "method=bicubic", "logger=none", output_dir=tmp_path / "first"))
    save_pair_mat(load_pair(tmp_path / "first" / results.PAIR_FILE), tmp_path / "PAIR.mat")
    run_dir = tmp_path / "msr"
    overrides = ["method=fresco_msr", "dataset=pair_file", f"dataset.path={tmp_path / 'PAIR.mat'}",
                 "method.num_materials=6", "method.iterations=40", "method.init=vca", "logger=none",
                 "metrics.perceptual.enabled=false"]
    metrics = run_experiment(compose_cfg(*overrides, output_dir=run_dir))
    on_disk = results.read_json(run_dir / results.METRICS_FILE)
    assert on_disk == metrics
    assert metrics["m_sri.psnr"] > 25 and metrics["m_sri.ssim"] is not None and metrics["m_sri.sam"] is not None
    assert metrics["h_sri.psnr"] is None                       # stage 1 alone gives no H-SRI
    assert metrics["fit.psnr"] > 25 and metrics["fit.iterations"] == 40
    est = results.load_estimates(run_dir)
    assert est["m_sri"].shape == (24, 24, 30) and est["endmembers"].shape == (30, 6)
    assert (run_dir / "checkpoints" / "msr" / LAST_CHECKPOINT).is_file()


def test_registered_ll1_runs_on_registered_pairs_and_explains_misaligned_ones(compose_cfg, tmp_path):
    overrides = ["experiment=smoke", "method=registered_ll1", "misalignment=none", "method.iterations=40",
                 "method.init=vca", "method.lightning=false", "logger=none"]
    metrics = run_experiment(compose_cfg(*overrides, output_dir=tmp_path / "reg"))
    assert metrics["m_sri.psnr"] > 25 and metrics["h_sri.psnr"] > 20
    # Different footprint sizes cannot be one registered grid. (Same-size misaligned footprints do
    # run: the method cannot see the misalignment, and scores as badly as an upper bound should.)
    cfg = compose_cfg("experiment=smoke", "method=registered_ll1", "dataset.footprint.hsi_shape=[20,20]",
                      "method.iterations=2", "logger=none", output_dir=tmp_path / "bad")
    with pytest.raises(ValueError, match="misalignment=none"):
        run_experiment(cfg)


def test_fresco_msr_can_estimate_the_srf_and_reports_its_error(compose_cfg, tmp_path):
    overrides = ["experiment=smoke", "method=fresco_msr", "method.estimate_srf=true", "method.iterations=30",
                 "method.init=vca", "method.lightning=false", "logger=none", "save.figure=false"]
    metrics = run_experiment(compose_cfg(*overrides, output_dir=tmp_path / "est"))
    assert 0.0 <= metrics["fit.srf_rel_projection"] < 0.2
    assert metrics["fit.srf_rel_fro"] is not None and metrics["m_sri.psnr"] > 20
