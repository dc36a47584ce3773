"""A new LEARNED method added from outside ``fresco/`` (docs/architecture.md, "Adding a method"), run
end to end through the CLI with checkpoints and resume.

The three pieces a contributor writes, all in this file:

1. the config, ``conf/method/toy_lift.yaml`` (written into a folder added with ``hydra.searchpath``);
2. the LightningModule, :class:`ToyLiftModule`: a linear spectral lift ``W (K_H, K_M)`` learned from
   the HSI's own spectra (``x ~ W P x``), registration-free;
3. the method, :class:`ToyLift`: trains the module through :class:`fresco.training.Training` and
   returns the M-SRI (``W`` applied to every MSI pixel) and an H-SRI (bicubic, from ``fresco.ops``).

The test crashes the first run part-way (``TOY_CRASH_AT``), resumes it with ``resume=true`` and checks
the result is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from fresco.data.pair import FusionPair
from fresco.methods.base import FusionMethod, MethodOutput
from fresco.ops.resample import upsample
from fresco.training import Training

HERE = Path(__file__).resolve().parent

# --- 1. the config -------------------------------------------------------------------------------
CONFIG = """\
_target_: test_adding_a_method.ToyLift
_recursive_: false
name: toy_lift
iterations: 40
lr: 0.05
seed: ${seed}
training: ${training}
compare_with: [bicubic]
"""


# --- 2. the module -------------------------------------------------------------------------------
class ToyLiftModule(pl.LightningModule):
    """``W`` such that ``W (P x) ~ x`` for the HSI's pixels ``x``; counts its own iterations."""

    def __init__(self, srf: np.ndarray, lr: float) -> None:
        super().__init__()
        self.register_buffer("srf", torch.as_tensor(srf, dtype=torch.float32))
        self.lift = torch.nn.Linear(srf.shape[0], srf.shape[1], bias=False)
        self.lr, self.iteration, self.budget = lr, 0, 0

    @property
    def done(self) -> bool:
        return self.iteration >= self.budget

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if os.environ.get("TOY_CRASH_AT") == str(self.iteration):
            raise RuntimeError(f"simulated crash at iteration {self.iteration}")
        (x,) = batch
        loss = torch.mean((self.lift(x @ self.srf.T) - x) ** 2)
        self.iteration += 1
        self.log("toy/loss", loss, on_step=True, on_epoch=False, batch_size=x.shape[0])
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["toy_iteration"] = self.iteration

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.iteration = checkpoint["toy_iteration"]


# --- 3. the method -------------------------------------------------------------------------------
class ToyLift(FusionMethod):
    def __init__(self, name: str = "toy_lift", *, iterations: int = 12, lr: float = 0.05, seed: int = 0,
                 training: Training | dict | None = None) -> None:
        self.name, self.iterations, self.lr, self.seed = name, int(iterations), float(lr), int(seed)
        self.training = Training.coerce(training)

    def run(self, pair: FusionPair) -> MethodOutput:
        torch.manual_seed(self.seed)
        module = ToyLiftModule(pair.srf, self.lr)
        module.budget = self.iterations
        spectra = torch.as_tensor(pair.hsi.reshape(-1, pair.hsi.shape[2]))
        loader = DataLoader(TensorDataset(spectra), batch_size=len(spectra))
        self.training.fit(module, "toy", train_dataloaders=loader, checkpoint_every=5,
                          defaults={"log_every_n_steps": 1}, max_steps=self.iterations)
        with torch.no_grad():
            w = module.lift.weight.numpy()
        m_sri = (pair.msi.reshape(-1, pair.msi.shape[2]) @ w.T).reshape(*pair.msi.shape[:2], -1)
        return MethodOutput(m_sri=np.clip(m_sri, 0, 1).astype(np.float32),
                            h_sri=upsample(pair.hsi, pair.ratio, "bicubic"))


# --- the test ------------------------------------------------------------------------------------
class Touch(pl.Callback):
    """A callback given in the trainer config: writes ``path`` when training ends."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        Path(self.path).write_text(str(pl_module.iteration))


def _fresco(tmp_path: Path, run_dir: Path, *overrides: str, crash_at: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "WANDB_MODE": "disabled", "FRESCO_PROGRESS": "0"}
    env.pop("TOY_CRASH_AT", None)
    if crash_at is not None:
        env["TOY_CRASH_AT"] = str(crash_at)
    args = [sys.executable, "-m", "fresco", f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "experiment=smoke",
            "method=toy_lift", "logger=none", "save.figure=false", f"hydra.run.dir={run_dir}", *overrides]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def test_a_learned_method_added_outside_fresco_trains_checkpoints_and_resumes(tmp_path):
    (tmp_path / "conf" / "method").mkdir(parents=True)
    (tmp_path / "conf" / "method" / "toy_lift.yaml").write_text(CONFIG)

    crashed = tmp_path / "crashed"
    first = _fresco(tmp_path, crashed, crash_at=7)
    assert first.returncode != 0, first.stdout + first.stderr
    assert json.loads((crashed / "run.json").read_text())["status"] == "failed"
    ckpt = crashed / "checkpoints" / "toy" / "last.ckpt"
    assert torch.load(ckpt, weights_only=False)["toy_iteration"] == 5   # checkpoint_every=5

    resumed = _fresco(tmp_path, crashed, "resume=true")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert torch.load(ckpt, weights_only=False)["toy_iteration"] == 40

    marker = tmp_path / "trained.txt"
    clean = tmp_path / "clean"
    whole = _fresco(tmp_path, clean, f"+training.trainer.callbacks=[{{_target_: test_adding_a_method.Touch, "
                                     f"path: '{marker}'}}]")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert marker.read_text() == "40"   # the trainer config's callbacks are instantiated

    a, b = (np.load(d / "estimates.npz") for d in (crashed, clean))
    np.testing.assert_array_equal(a["m_sri"], b["m_sri"])   # resumed == uninterrupted, bit for bit
    metrics = json.loads((clean / "metrics.json").read_text())
    assert metrics["m_sri.psnr"] is not None and metrics["ref.bicubic.h_sri.psnr"] == metrics["h_sri.psnr"]
    losses = [float(row.split(",")[-1]) for row in (clean / "logs" / "toy" / "metrics.csv").read_text().split()[1:]]
    assert len(losses) >= 8 and losses[-1] < 0.5 * losses[0]   # the stage's curve, logged by the helper: it learned
