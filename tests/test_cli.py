"""The `fresco` command as a user runs it: single run, multirun with a failing job, report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fresco import results

SMOKE = ["experiment=smoke", "logger=none"]


def fresco(*args: str, cwd: Path, wandb_mode: str = "disabled") -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": wandb_mode, "FRESCO_PROGRESS": "0", "HYDRA_FULL_ERROR": "1"}
    return subprocess.run([sys.executable, "-m", "fresco", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_single_run_prints_table_and_writes_results(tmp_path):
    proc = fresco(*SMOKE, f"paths.output_root={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "PSNR" in proc.stdout and "M-SRI" in proc.stdout and "H-SRI" in proc.stdout
    (run_dir,) = [p.parent for p in tmp_path.rglob(results.METRICS_FILE)]
    for name in (results.ESTIMATES_FILE, results.FIGURE_FILE, results.CONFIG_FILE, results.RUN_FILE):
        assert (run_dir / name).is_file(), name


def test_sweep_survives_a_failing_job_and_reports_mean_std(tmp_path):
    sweep = tmp_path / "sweep"
    proc = fresco("-m", *SMOKE, "seed=0,1,2", "dataset.loader.height=48,16", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    # a 16-pixel-high scene cannot hold the 24-pixel footprints: those 3 jobs fail, the other 3 complete
    assert proc.returncode != 0
    statuses = {p.parent.name: results.read_json(p)["status"] for p in sweep.rglob(results.RUN_FILE)}
    assert len(statuses) == 6, statuses
    assert sorted(statuses.values()) == ["completed"] * 3 + ["failed"] * 3
    failed = [results.read_json(p) for p in sweep.rglob(results.RUN_FILE)
              if results.read_json(p)["status"] == "failed"]
    assert all("overflows" in rec["error"] for rec in failed), failed

    rep = fresco("report", str(sweep), cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert "±" in rep.stdout and "did not complete" in rep.stdout
    summary = pd.read_csv(sweep / "report" / "summary.csv")
    ok = summary[summary["param.dataset.loader.height"] == 48].iloc[0]
    assert ok["n"] == 3 and ok["m_sri.psnr.std"] > 0
    assert list((sweep / "report" / "figures").glob("*.png"))
    assert (sweep / "report" / "runs.csv").is_file() and (sweep / "report" / "summary.md").is_file()


def test_report_on_a_missing_dir_is_a_clear_error(tmp_path):
    proc = fresco("report", str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode == 2 and "not a directory" in proc.stderr


@pytest.mark.parametrize("argv", [["--help"]])
def test_help_lists_config_groups(tmp_path, argv):
    proc = fresco(*argv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "misalignment: mild, moderate, none, severe" in proc.stdout
    assert ("method: bicubic, bicubic_bp, bscott, cnmf, fresco, fresco_msr, iat, lanczos, registered_ll1, scott, "
            "spectral_lift, unmix_project") in proc.stdout
    assert "hsr: cpu, paper" in proc.stdout


def test_report_groups_runs_that_kept_a_default_under_its_value(tmp_path):
    """Two separate runs, one with the default misalignment (moderate) and one overriding it."""
    for extra in ([], ["misalignment=severe"], ["degradation.ratio=2"]):
        proc = fresco(*SMOKE, *extra, f"paths.output_root={tmp_path}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
    rep = fresco("report", str(tmp_path / "runs"), "--no-figures", cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "runs" / "report" / "summary.csv")
    pairs = {(str(r["param.misalignment"]), str(r["param.degradation.ratio"])) for _, r in summary.iterrows()}
    assert pairs == {("moderate", "4"), ("severe", "4"), ("moderate", "2")}


def test_wandb_logger_writes_an_offline_run(tmp_path):
    """logger=wandb needs no account or network: it writes an offline run into the run directory."""
    proc = fresco("experiment=smoke", "logger=wandb", f"paths.output_root={tmp_path}", cwd=tmp_path,
                  wandb_mode="offline")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_file,) = tmp_path.rglob("offline-run-*/run-*.wandb")
    assert run_file.stat().st_size > 0
    assert list(tmp_path.rglob("logs/metrics.csv"))  # the CSV logger comes along


def test_profile_follows_the_device_unless_set(monkeypatch):
    import torch

    from fresco.cli import auto_profile

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert auto_profile(["method=fresco"]) == ["method=fresco", "profile=paper"]
    assert auto_profile(["profile=cpu"]) == ["profile=cpu"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert auto_profile(["method=fresco"]) == ["method=fresco"]


def test_groups_a_ready_pair_does_not_use_are_named_when_overridden(tmp_path):
    first = fresco(*SMOKE, f"hydra.run.dir={tmp_path / 'first'}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    proc = fresco("dataset=pair_file", f"dataset.path={tmp_path / 'first' / results.PAIR_FILE}", "method=bicubic",
                  "misalignment=severe", "noise=snr30", "logger=none", f"hydra.run.dir={tmp_path / 'second'}",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "these overrides have no effect: misalignment=severe noise=snr30" in proc.stdout + proc.stderr


def test_report_lists_damaged_runs_and_jobs_that_failed_before_starting(tmp_path):
    sweep = tmp_path / "sweep"
    proc = fresco("-m", *SMOKE, "seed=0,1,abc", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode != 0   # the seed=abc job fails before its run starts
    good = sorted(p.parent for p in sweep.rglob(results.METRICS_FILE))
    assert len(good) == 2
    (good[1] / results.METRICS_FILE).write_text("{ not json")   # damage one finished run
    rep = fresco("report", str(sweep), cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr[-3000:]
    runs = (sweep / "report" / "runs.csv").read_text()
    assert runs.count("failed") >= 2, runs
    assert "metrics.json is unreadable" in runs and "no run.json" in runs
