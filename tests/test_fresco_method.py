"""FRESCO end to end through the app (stage 1 then stage 2) on a small synthetic pair, its IAT
ablation, and the interpolation baselines scored alongside."""

from __future__ import annotations

import pytest

from fresco import results
from fresco.pipeline import run_experiment


@pytest.mark.parametrize("method", ["fresco", "iat"])
def test_fresco_runs_both_stages_and_scores_the_baselines_alongside(compose_cfg, tmp_path, method, capsys):
    run_dir = tmp_path / method
    metrics = run_experiment(compose_cfg("experiment=fresco_smoke", f"method={method}", "logger=none",
                                         output_dir=run_dir))
    for product in ("m_sri", "h_sri"):
        assert metrics[f"{product}.psnr"] > 15 and metrics[f"{product}.ssim"] is not None
    for kernel in ("bicubic", "lanczos", "bicubic_bp"):
        assert metrics[f"ref.{kernel}.h_sri.psnr"] > 15
    # the synthetic pair's blur is the assumed one, so back-projection must help the interpolation
    assert metrics["ref.bicubic_bp.h_sri.psnr"] > metrics["ref.bicubic.h_sri.psnr"]
    assert metrics["fit.hsr_iterations"] == 8      # 4 warm-start + 4 adversarial
    est = results.load_estimates(run_dir)
    assert est["h_sri"].shape == (48, 48, 60) and est["abundances_h_sr"].shape == (48, 48, 4)
    assert (run_dir / "checkpoints" / "hsr" / "last.ckpt").is_file()
    out = capsys.readouterr().out
    assert "bicubic H-SRI" in out and "lanczos H-SRI" in out and "bicubic_bp H-SRI" in out


def test_fresco_h_sri_applies_the_consistency_options_in_order():
    import numpy as np

    from fresco.data.pair import Acquisition
    from fresco.data.simulate import degrade
    from fresco.hsr import HSRConfig
    from fresco.methods.fresco import TranslatorStage
    from fresco.msr.solver import BTDResult
    from fresco.ops.consistency import back_project, preserve_total
    from fresco.ops.resample import upsample
    from fresco.training import Training

    rng = np.random.default_rng(0)
    ends, maps_m = rng.random((12, 3)), rng.random((16, 16, 3))
    maps_h = degrade(rng.random((16, 16, 3)), 4).astype(np.float64)
    result = BTDResult(endmembers=ends, abundances_m=maps_m, abundances_h=maps_h, iterations=1, converged=True,
                       history=[], time_s=0.0)
    hsi = (maps_h @ ends.T + 0.01 * rng.standard_normal((4, 4, 12))).astype(np.float32)

    class Pair:
        ratio, acquisition = 4, Acquisition()

    Pair.hsi = hsi
    translated = rng.random((16, 16, 3)).astype(np.float32)
    plain = TranslatorStage(HSRConfig(add_hsi_misfit=False), Training())
    np.testing.assert_allclose(plain.h_sri(Pair, result, translated), np.clip(translated @ ends.T, 0, 1), atol=1e-5)
    full = TranslatorStage(HSRConfig(add_hsi_misfit=True, preserve_total=True, back_projection=2), Training())
    maps = preserve_total(translated, maps_h, 4)
    expected = maps @ ends.T + upsample((hsi - maps_h @ ends.T).astype(np.float32), 4)
    expected = np.clip(back_project(expected, hsi, 4, 2), 0, 1)
    np.testing.assert_allclose(full.h_sri(Pair, result, translated), expected, atol=1e-5)


def test_compare_with_runs_any_method_beside_any_method_and_rejects_unknown_names(compose_cfg, tmp_path):
    metrics = run_experiment(compose_cfg("experiment=smoke", "method=lanczos", "method.compare_with=[bicubic]",
                                         "logger=none", "save.figure=false"))
    assert metrics["ref.bicubic.h_sri.psnr"] is not None
    assert metrics["ref.bicubic.h_sri.psnr"] != metrics["h_sri.psnr"]   # a different method, scored on its own
    run_dir = tmp_path / "bad"
    with pytest.raises(ValueError, match="no method config named 'nearest'.*bicubic_bp"):
        run_experiment(compose_cfg("experiment=smoke", "method=lanczos", "method.compare_with=[bicubic,nearest]",
                                   output_dir=run_dir))
    assert not run_dir.exists()   # refused before anything was written


def test_python_defaults_are_the_clis_on_this_machine(compose_cfg):
    from omegaconf import OmegaConf

    from fresco.hsr import HSRConfig
    from fresco.methods.fresco import Fresco

    cfg = compose_cfg("method=fresco")
    cli_hsr = HSRConfig.from_settings(OmegaConf.to_container(cfg.hsr, resolve=True))
    assert Fresco().hsr_config == cli_hsr   # no hsr= : the profile the CLI picks here, not the paper budget


def test_profiles_pick_the_stage2_settings(compose_cfg):
    cpu, paper = compose_cfg("method=fresco", "profile=cpu"), compose_cfg("method=fresco", "profile=paper")
    assert paper.hsr.iterations == 40000 and paper.hsr.unet_width == 64 and not paper.hsr.residual
    assert cpu.hsr.iterations < paper.hsr.iterations and cpu.hsr.residual
    assert compose_cfg("method=iat").method.independent is True
    assert compose_cfg("method=fresco", "profile=paper", "hsr=cpu").hsr.residual   # an explicit choice wins
