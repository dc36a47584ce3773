"""End to end in-process: compose -> simulate -> method -> score -> results, on small pairs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fresco import results
from fresco.pipeline import run_experiment

CONTRACT_KEYS = [f"{p}.{m}" for p in ("m_sri", "h_sri")
                 for m in ("psnr", "ssim", "sam", "ergas", "psnr_peak1", "sam_rad", "ergas_rms", "lpips", "fid")]


def test_smoke_run_writes_the_result_contract(compose_cfg, tmp_path):
    cfg = compose_cfg("experiment=smoke", "logger=csv")
    metrics = run_experiment(cfg)
    run_dir = tmp_path / "run"
    on_disk = json.loads((run_dir / results.METRICS_FILE).read_text())
    assert on_disk == metrics
    for key in CONTRACT_KEYS:
        assert key in on_disk, key
    # perceptual metrics are disabled in the smoke preset: null, never 0
    assert on_disk["h_sri.lpips"] is None and on_disk["h_sri.fid"] is None
    assert all(isinstance(on_disk[k], float) for k in ("m_sri.psnr", "h_sri.psnr", "time_s.total"))
    est = results.load_estimates(run_dir)
    assert est["m_sri"].shape == (24, 24, 30) and est["h_sri"].shape == (24, 24, 30)
    assert est["m_sri"].dtype == np.float32
    assert (run_dir / results.FIGURE_FILE).stat().st_size > 1000
    assert (run_dir / results.PAIR_FILE).is_file()
    assert "seed: 0" in (run_dir / results.CONFIG_FILE).read_text()
    assert results.read_json(run_dir / results.RUN_FILE)["status"] == "completed"
    assert (run_dir / "logs" / "metrics.csv").is_file()


@pytest.mark.parametrize("ratio", [2, 3, 8])
def test_other_ratios_work_with_the_default_footprints(compose_cfg, ratio):
    cfg = compose_cfg(f"degradation.ratio={ratio}", "metrics.perceptual.enabled=false", "save.pair=false",
                      "save.figure=false", "logger=none")
    metrics = run_experiment(cfg)
    est = results.load_estimates(cfg.paths.output_dir)
    assert est["h_sri"].shape[0] == 96 // ratio * ratio
    assert metrics["h_sri.psnr"] > 15


def test_baselines_reconstruct_indian_pines_sensibly(compose_cfg):
    """Default data, no misalignment: the baselines reconstruct both products sensibly."""
    cfg = compose_cfg("misalignment=none", "metrics.perceptual.enabled=false", "save.pair=false",
                      "save.figure=false", "logger=none")
    metrics = run_experiment(cfg)
    assert metrics["h_sri.psnr"] > 25 and metrics["m_sri.psnr"] > 20
    assert metrics["pair.overlap"] == pytest.approx(1.0)


def test_failure_is_recorded_in_run_json(compose_cfg, tmp_path):
    cfg = compose_cfg("experiment=smoke", "dataset.loader.height=16", "logger=none")
    with pytest.raises(ValueError):
        run_experiment(cfg)
    record = results.read_json(tmp_path / "run" / results.RUN_FILE)
    assert record["status"] == "failed" and "ValueError" in record["error"] and record["traceback"]
    assert not (tmp_path / "run" / results.METRICS_FILE).exists()


def test_wandb_logger_config_is_offline_and_runs_when_disabled(compose_cfg, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    cfg = compose_cfg("experiment=smoke", "logger=wandb", "save.pair=false", "save.figure=false")
    assert cfg.logger.wandb.offline is True
    metrics = run_experiment(cfg)
    assert metrics["m_sri.psnr"] is not None


def test_missing_dataset_file_reports_the_loader_message(compose_cfg, tmp_path):
    cfg = compose_cfg("dataset=pavia_university", f"dataset.loader.path={tmp_path}/PaviaU.mat", "logger=none")
    with pytest.raises(FileNotFoundError, match="PaviaU.mat"):
        run_experiment(cfg)
    assert "DatasetNotFoundError: Pavia University" in results.read_json(tmp_path / "run" / results.RUN_FILE)["error"]


def test_report_on_a_single_run(compose_cfg, tmp_path):
    from fresco.report import report

    run_experiment(compose_cfg("experiment=smoke", "logger=none", "method=lanczos"))
    text = report(tmp_path / "run")
    assert "| method | n |" in text and "| lanczos | 1 |" in text
    assert (tmp_path / "run" / "report" / "figures" / "method=lanczos.png").is_file()
    # a second report ignores the first report's folder
    assert report(tmp_path / "run") == text
    assert "| 1 |" in report(tmp_path / "run", metrics=["h_sri.psnr"], figures=False)
    with pytest.raises(ValueError, match="h_sri.pnsr"):
        report(tmp_path / "run", metrics=["h_sri.pnsr"], figures=False)


def test_a_saved_pair_file_runs_without_simulation(compose_cfg, tmp_path):
    from fresco.data.io import load_pair, save_pair_mat

    run_experiment(compose_cfg("experiment=smoke", "logger=none", output_dir=tmp_path / "first"))
    pair = load_pair(tmp_path / "first" / results.PAIR_FILE)
    save_pair_mat(pair, tmp_path / "pair.mat")
    metrics = run_experiment(compose_cfg("dataset=pair_file", f"dataset.path={tmp_path / 'pair.mat'}",
                                         "metrics.perceptual.enabled=false", "logger=none",
                                         output_dir=tmp_path / "second"))
    first = results.read_json(tmp_path / "first" / results.METRICS_FILE)
    assert metrics["h_sri.psnr"] == pytest.approx(first["h_sri.psnr"], rel=1e-5)
    assert metrics["m_sri.psnr"] == pytest.approx(first["m_sri.psnr"], rel=1e-5)


def test_a_pair_without_truth_gives_null_metrics(compose_cfg, tmp_path):
    from fresco.data.io import load_pair, save_pair_npz

    run_experiment(compose_cfg("experiment=smoke", "logger=none", output_dir=tmp_path / "first"))
    save_pair_npz(load_pair(tmp_path / "first" / results.PAIR_FILE).without_truth(), tmp_path / "real.npz")
    metrics = run_experiment(compose_cfg("dataset=pair_file", f"dataset.path={tmp_path / 'real.npz'}",
                                         "logger=none", output_dir=tmp_path / "second"))
    assert all(metrics[f"{p}.{m}"] is None for p in ("m_sri", "h_sri") for m in ("psnr", "ssim", "lpips", "fid"))
    assert set(results.load_estimates(tmp_path / "second")) == {"m_sri", "h_sri"}
    assert (tmp_path / "second" / results.FIGURE_FILE).is_file()


def test_resume_keeps_a_completed_run_and_redoes_a_changed_one(compose_cfg, tmp_path):
    first = run_experiment(compose_cfg("experiment=smoke", "logger=none"))
    metrics_file = tmp_path / "run" / results.METRICS_FILE
    stamp = metrics_file.stat().st_mtime_ns
    again = run_experiment(compose_cfg("experiment=smoke", "logger=none", "resume=true"))
    assert again == first and metrics_file.stat().st_mtime_ns == stamp
    changed = run_experiment(compose_cfg("experiment=smoke", "logger=none", "resume=true", "method=lanczos"))
    assert changed["h_sri.psnr"] != first["h_sri.psnr"]
    assert "lanczos" in (tmp_path / "run" / results.CONFIG_FILE).read_text()


def test_a_failed_rerun_never_mixes_with_the_earlier_result(compose_cfg, tmp_path):
    run_dir = tmp_path / "run"
    run_experiment(compose_cfg("experiment=smoke", "logger=none"))
    config = (run_dir / results.CONFIG_FILE).read_text()
    # bad data: refused before anything is removed, the earlier completed run stays whole and consistent
    with pytest.raises(ValueError):
        run_experiment(compose_cfg("experiment=smoke", "logger=none", "dataset.loader.height=16"))
    assert results.read_json(run_dir / results.RUN_FILE)["status"] == "completed"
    assert (run_dir / results.CONFIG_FILE).read_text() == config and (run_dir / results.METRICS_FILE).is_file()
    # a failure while the method runs: the earlier results are gone, the failure is recorded
    with pytest.raises(ValueError):
        run_experiment(compose_cfg("experiment=smoke", "logger=none", "method=unmix_project",
                                   "method.num_materials=9"))
    assert not (run_dir / results.METRICS_FILE).exists() and not (run_dir / results.ESTIMATES_FILE).exists()
    assert results.read_json(run_dir / results.RUN_FILE)["status"] == "failed"


def test_python_and_cli_give_the_same_message_for_a_bad_setting():
    from fresco.methods.fresco import Fresco, FrescoMSR

    for build in (FrescoMSR, Fresco):
        with pytest.raises(ValueError, match=re.escape("method.num_materials must be an integer; got 'abc'")):
            build(num_materials="abc")
    with pytest.raises(ValueError, match=re.escape("hsr.iterations must be an integer; got 'many'")):
        Fresco(hsr={"iterations": "many"})

