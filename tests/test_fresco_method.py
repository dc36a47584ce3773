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
    for kernel in ("bicubic", "lanczos"):
        assert metrics[f"ref.{kernel}.h_sri.psnr"] > 15
    assert metrics["fit.hsr_iterations"] == 8      # 4 warm-start + 4 adversarial
    est = results.load_estimates(run_dir)
    assert est["h_sri"].shape == (48, 48, 60) and est["abundances_h_sr"].shape == (48, 48, 4)
    assert (run_dir / "checkpoints" / "hsr" / "last.ckpt").is_file()
    out = capsys.readouterr().out
    assert "bicubic H-SRI" in out and "lanczos H-SRI" in out


def test_profiles_pick_the_stage2_settings(compose_cfg):
    cpu, paper = compose_cfg("method=fresco", "profile=cpu"), compose_cfg("method=fresco", "profile=paper")
    assert paper.hsr.iterations == 40000 and paper.hsr.unet_width == 64 and not paper.hsr.residual
    assert cpu.hsr.iterations < paper.hsr.iterations and cpu.hsr.residual
    assert compose_cfg("method=iat").method.independent is True
    assert compose_cfg("method=fresco", "profile=paper", "hsr=cpu").hsr.residual   # an explicit choice wins
