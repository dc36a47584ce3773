"""The result contract: atomic writes, null for missing metrics, float32 estimates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fresco import results


def test_metrics_json_is_flat_and_uses_null(tmp_path):
    flat = results.flatten_metrics({"m_sri": {"psnr": 30.5, "lpips": None, "fid": float("nan")}})
    assert flat == {"m_sri.psnr": 30.5, "m_sri.lpips": None, "m_sri.fid": None}
    results.write_metrics(tmp_path, {**flat, "time_s.total": 1.5})
    data = json.loads((tmp_path / results.METRICS_FILE).read_text())
    assert data["m_sri.lpips"] is None and data["m_sri.fid"] is None and data["time_s.total"] == 1.5


def test_metric_keys_must_be_grouped(tmp_path):
    with pytest.raises(ValueError, match="m_sri.psnr"):
        results.write_metrics(tmp_path, {"psnr": 1.0})


def test_estimates_are_float32_and_skip_missing_products(tmp_path):
    results.write_estimates(tmp_path, m_sri=np.ones((2, 3, 4)), h_sri=None)
    est = results.load_estimates(tmp_path)
    assert set(est) == {"m_sri"} and est["m_sri"].dtype == np.float32 and est["m_sri"].shape == (2, 3, 4)


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def boom(handle):
        handle.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        results.atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_run_status_merges(tmp_path):
    results.update_run_status(tmp_path, status="running", seed=3)
    rec = results.update_run_status(tmp_path, status="failed", error="boom")
    assert rec == {"status": "failed", "seed": 3, "error": "boom"}
