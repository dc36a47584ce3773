"""`fresco report --select`: rank settings by a ground-truth-free key and name the best."""

from __future__ import annotations

import pytest
import yaml

from fresco import results
from fresco.report import main, report


def fake_run(root, name, overrides, metrics):
    run_dir = root / name
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    results.write_metrics(run_dir, metrics)
    results.update_run_status(run_dir, status="completed")


def test_select_names_the_setting_with_the_best_observed_fit(tmp_path):
    # The ground-truth score disagrees with the fit: selection must follow the fit, not the truth.
    for i, (lr, fit, truth) in enumerate([("1e-4", 40.0, 35.0), ("1e-3", 44.0, 33.0), ("1e-2", 42.0, 36.0)]):
        for seed in (0, 1):
            fake_run(tmp_path, f"{i}_{seed}", [f"method.lambda_lr={lr}", f"seed={seed}"],
                     {"fit.psnr": fit + seed * 0.1, "m_sri.psnr": truth})
    text = report(tmp_path, figures=False, select="fit.psnr")
    chosen = results.read_json(tmp_path / "report" / "selected.json")
    assert chosen["params"] == {"method.lambda_lr": "1e-3"} and chosen["n"] == 2
    assert chosen["metrics"]["fit.psnr"] == pytest.approx(44.05)
    assert "Selected by highest fit.psnr" in text and "method.lambda_lr=1e-3" in text
    rows = [line for line in text.splitlines() if line.startswith("| 1e-")]
    assert [r.split("|")[1].strip() for r in rows] == ["1e-3", "1e-2", "1e-4"]   # ranked
    low = report(tmp_path, figures=False, select="fit.psnr", minimise=True)
    assert "method.lambda_lr=1e-4" in low.split("## Selected")[1]
    assert main([str(tmp_path), "--no-figures", "--select", "fit.pnsr"]) == 2
