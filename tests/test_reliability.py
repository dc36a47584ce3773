"""Nothing lost, nothing silent: interrupted runs, one run per folder, readable results, moved folders,
noisy observations. The interrupt tests drive the real CLI in subprocesses and send real signals."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fresco import results
from fresco.pipeline import run_experiment

SMOKE = ["experiment=fresco_smoke", "logger=none", "save.figure=false"]


def _start(run_dir: Path, *overrides: str) -> subprocess.Popen:
    env = {**os.environ, "WANDB_MODE": "disabled", "FRESCO_PROGRESS": "0"}
    return subprocess.Popen([sys.executable, "-m", "fresco", *SMOKE, f"hydra.run.dir={run_dir}", *overrides],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    start = time.monotonic()
    while not path.is_file():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - start < timeout, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("sig, stage, code", [(signal.SIGTERM, "hsr", 143), (signal.SIGINT, "msr", 130)])
def test_an_interrupted_run_says_so_keeps_its_checkpoint_and_resumes(tmp_path, sig, stage, code):
    run_dir = tmp_path / "run"
    budget = ["hsr.iterations=40", "hsr.checkpoint_every=5"] if stage == "hsr" else \
        ["method.iterations=500", "training.checkpoint_every=5"]
    proc = _start(run_dir, *budget)
    _wait_for(run_dir / "checkpoints" / stage / "last.ckpt", proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-3000:]
    status = results.read_json(run_dir / results.RUN_FILE)
    assert status["status"] == "interrupted" and status["signal"] == signal.Signals(sig).name
    assert f"run interrupted by {signal.Signals(sig).name}" in err and "resume=true" in err
    assert (run_dir / "checkpoints" / stage / "last.ckpt").is_file()
    resumed = _start(run_dir, *budget, "resume=true")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    assert results.read_json(run_dir / results.RUN_FILE)["status"] == "completed"
    assert "resum" in (out + err).lower()   # it continued from the checkpoint, not from scratch
    if stage == "msr":   # the curve before the interruption is kept, the resumed part appended
        rows = (run_dir / "logs" / "msr" / "metrics.csv").read_text().splitlines()
        header, epochs = rows[0].split(","), [r.split(",") for r in rows[1:]]
        logged = {int(float(r[header.index("epoch")])) for r in epochs}
        assert {0, 1, 2, 3, 4, 499} <= logged and len(logged) == 500


def test_a_second_run_into_a_busy_folder_is_refused_naming_the_holder(compose_cfg, tmp_path):
    from filelock import FileLock

    run_dir = tmp_path / "busy"
    run_experiment(compose_cfg("experiment=smoke", "logger=none", "save.figure=false", output_dir=run_dir))
    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.name != results.HOLDER_FILE}
    results.atomic_write_json(run_dir / results.HOLDER_FILE, {"pid": 4242, "host": "node7"})
    with FileLock(str(run_dir / results.LOCK_FILE)), \
            pytest.raises(results.RunFolderBusyError, match="in use by another fresco run .pid 4242, host node7"):
        run_experiment(compose_cfg("experiment=smoke", "logger=none", "seed=1", output_dir=run_dir))
    after = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.name != results.HOLDER_FILE}
    assert after == before   # nothing in the folder was touched
    assert results.read_json(run_dir / results.RUN_FILE)["seed"] == 0   # the first run's record, untouched


def test_result_files_honour_the_umask(compose_cfg, tmp_path):
    old = os.umask(0o022)
    try:
        run_experiment(compose_cfg("experiment=smoke", "logger=none", "save.figure=false"))
    finally:
        os.umask(old)
    for name in (results.METRICS_FILE, results.RUN_FILE, results.ESTIMATES_FILE, results.CONFIG_FILE):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o644, name


def test_a_moved_run_folder_still_matches_its_config_on_resume(compose_cfg, tmp_path):
    first = run_experiment(compose_cfg("experiment=smoke", "logger=none", "save.figure=false",
                                       output_dir=tmp_path / "a"))
    shutil.move(tmp_path / "a", tmp_path / "b")
    stamp = (tmp_path / "b" / results.METRICS_FILE).stat().st_mtime_ns
    again = run_experiment(compose_cfg("experiment=smoke", "logger=none", "save.figure=false", "resume=true",
                                       output_dir=tmp_path / "b"))
    assert again == json.loads(json.dumps(first)) or again == first
    assert (tmp_path / "b" / results.METRICS_FILE).stat().st_mtime_ns == stamp   # kept, not recomputed


def test_noisy_observations_slightly_outside_0_1_are_not_bad_input(compose_cfg, tmp_path):
    from fresco.data.io import save_pair_npz
    from fresco.data.sensors import make_srf
    from fresco.data.simulate import misalignment, simulate_pair
    from fresco.data.synthetic import synthetic_scene

    scene = synthetic_scene(48, 48, n_bands=30, n_materials=3, seed=0)
    pair = simulate_pair(scene, make_srf("landsat_box", scene.wavelengths), ratio=4, msi_shape=(24, 24),
                         hsi_shape=(24, 24), snr_db_hsi=20, snr_db_msi=20, clip=False, **misalignment("mild"))
    assert min(pair.msi.min(), pair.hsi.min()) < 0   # as real reflectance data can be
    save_pair_npz(pair, tmp_path / "noisy.npz")
    metrics = run_experiment(compose_cfg("dataset=pair_file", f"dataset.path={tmp_path / 'noisy.npz'}",
                                         "method=fresco_msr", "method.iterations=20", "method.num_materials=3",
                                         "logger=none", "save.figure=false", "metrics.perceptual.enabled=false"))
    assert np.isfinite(metrics["fit.msi_psnr"]) and np.isfinite(metrics["m_sri.psnr"])


SMALL_FRESCO = ("experiment=fresco_smoke", "dataset.loader.height=48", "dataset.loader.width=48",
                "dataset.footprint.msi_shape=[24,24]", "dataset.footprint.hsi_shape=[24,24]")


@pytest.mark.parametrize("overrides, message", [
    (("method=fresco_msr", "method.num_materials=abc"), "method.num_materials must be an integer; got 'abc'"),
    (("method=fresco_msr", "method.lambda_lr=[1]"), "method.lambda_lr must be a number; got [1]"),
    (("seed=abc",), "seed must be an integer"),
    (("method=fresco_msr", "training.checkpoint_every=0"), "training.checkpoint_every must be a positive number"),
    ((*SMALL_FRESCO, "hsr.patch_size_h=40"), "stage 2 needs an HSI of at least 40 x 40"),
    ((*SMALL_FRESCO, "degradation.ratio=2.5"), "degradation.ratio must be an integer >= 2"),
    ((*SMALL_FRESCO, "dataset.loader.height=16"), "footprint"),
])
def test_bad_settings_and_data_are_refused_before_the_earlier_result_is_removed(compose_cfg, tmp_path, overrides,
                                                                                message):
    run_dir = tmp_path / "done"
    run_experiment(compose_cfg("experiment=smoke", "logger=none", "save.figure=false", output_dir=run_dir))
    before = sorted(p.name for p in run_dir.iterdir())
    with pytest.raises(ValueError, match=re.escape(message)):
        run_experiment(compose_cfg(*(overrides if overrides[0].startswith("experiment=") else
                                     ("experiment=smoke", *overrides)), output_dir=run_dir))
    assert sorted(p.name for p in run_dir.iterdir()) == before   # the completed run is still all there
    assert results.read_json(run_dir / results.RUN_FILE)["status"] == "completed"


def test_damaged_pair_files_are_named_and_a_cli_error_is_one_message(tmp_path):
    from fresco.data.io import load_pair

    (tmp_path / "junk.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.savez(tmp_path / "pickled.npz", msi=np.array([{"a": 1}], dtype=object))
    for name, hint in (("junk.mat", "not a readable .mat file"), ("junk.npz", "not a readable fresco .npz"),
                       ("pickled.npz", "pickled objects")):
        with pytest.raises(ValueError, match=re.escape(str(tmp_path / name)) + ".*" + hint):
            load_pair(tmp_path / name)
    env = {**os.environ, "WANDB_MODE": "disabled", "FRESCO_PROGRESS": "0"}
    env.pop("HYDRA_FULL_ERROR", None)
    proc = subprocess.run([sys.executable, "-m", "fresco", "dataset=pair_file", f"dataset.path={tmp_path / 'junk.mat'}",
                           "method=bicubic", "logger=none", f"hydra.run.dir={tmp_path / 'run'}"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not a readable .mat file" in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr
