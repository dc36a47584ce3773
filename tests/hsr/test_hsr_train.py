"""Training: budget by iterations, schedule, evaluation hook, IAT, checkpoint and resume."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from fresco.hsr import HSRConfig, super_resolve, train_translator
from fresco.hsr.module import lr_factor

RATIO = 2


def tiny_config(**changes) -> HSRConfig:
    base = dict(iterations=4, batch_size=2, patch_size_h=4, unet_width=4, unet_depth=2, inv_width=4, disc_width=4,
                log_every=1, checkpoint_every=2)
    return HSRConfig(**{**base, **changes})


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    return rng.random((16, 16, 2)).astype(np.float32), rng.random((10, 10, 2)).astype(np.float32)


def test_lr_schedule_holds_then_decays_linearly():
    assert lr_factor(0, 100, 0.5) == 1.0 and lr_factor(49, 100, 0.5) == 1.0
    assert lr_factor(75, 100, 0.5) == pytest.approx(0.5)
    assert lr_factor(100, 100, 0.5) == 0.0


def test_trains_the_budget_and_calls_the_evaluation_hook(maps):
    seen = []

    def eval_fn(s_sr_h):
        seen.append(s_sr_h.shape)
        return {"mean": float(s_sr_h.mean())}

    cfg = tiny_config(eval_every=2, warm_start_iterations=2, r1_gamma=2.0, r1_every=1)
    model = train_translator(*maps, RATIO, cfg, seed=0, eval_fn=eval_fn)
    assert model.iteration == 6
    assert seen and all(shape == (20, 20, 2) for shape in seen)
    assert any("eval/mean" in h for h in model.history)
    assert any("warm/f_l1" in h for h in model.history) and any("loss/r1" in h for h in model.history)
    losses = [h["loss/g"] for h in model.history if "loss/g" in h]
    assert len(losses) == 4 and np.isfinite(losses).all()


def test_iat_has_one_translator_per_material(maps):
    model = train_translator(*maps, RATIO, tiny_config(independent=True, iterations=2), seed=0)
    assert len(model.module.f) == 2 and model.translator_for(0) is not model.translator_for(1)
    assert super_resolve(model, maps[1], RATIO).shape == (20, 20, 2)


def test_same_seed_same_result(maps):
    a = train_translator(*maps, RATIO, tiny_config(iterations=2), seed=3)
    b = train_translator(*maps, RATIO, tiny_config(iterations=2), seed=3)
    for (k, va), vb in zip(a.module.state_dict().items(), b.module.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


class Crash(pl.Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        if pl_module.iteration == self.at:
            raise RuntimeError("simulated crash")


def test_interrupted_run_resumes_to_the_same_end(maps, tmp_path):
    cfg = tiny_config(iterations=6, checkpoint_every=2)
    reference = train_translator(*maps, RATIO, cfg, seed=1)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_translator(*maps, RATIO, cfg, seed=1, checkpoint_dir=str(tmp_path),
                         trainer_kwargs={"callbacks": [Crash(3)]})
    assert (tmp_path / "last.ckpt").is_file() and not (tmp_path / "last.ckpt.tmp").exists()
    assert torch.load(tmp_path / "last.ckpt", weights_only=False)["hsr_iteration"] == 2
    resumed = train_translator(*maps, RATIO, cfg, seed=1, checkpoint_dir=str(tmp_path))
    assert resumed.iteration == reference.iteration == 6
    for (k, va), vb in zip(reference.module.state_dict().items(), resumed.module.state_dict().values(), strict=True):
        torch.testing.assert_close(va, vb, msg=k)
    # A finished checkpoint is loaded, not trained further.
    again = train_translator(*maps, RATIO, cfg, seed=1, checkpoint_dir=str(tmp_path))
    assert again.iteration == 6 and again.seconds == 0.0


def test_bad_inputs_raise(maps):
    fine, coarse = maps
    with pytest.raises(ValueError, match="materials"):
        train_translator(fine, coarse[..., :1], RATIO, tiny_config())
    with pytest.raises(ValueError, match="nonnegative"):
        train_translator(fine - 1.0, coarse, RATIO, tiny_config())
    with pytest.raises(ValueError, match="smaller than the patch side"):
        train_translator(fine, coarse[:3, :3], RATIO, tiny_config())
