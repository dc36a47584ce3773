"""Stitching inference: any map size, batch-size independence, BN modes, interpolation at init."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fresco.hsr import HSRConfig, HSRModule, TrainedTranslator, super_resolve
from fresco.hsr.inference import window_offsets

RATIO = 2


def tiny_model(**changes) -> TrainedTranslator:
    cfg = HSRConfig(iterations=1, batch_size=2, patch_size_h=4, unet_width=4, unet_depth=2, inv_width=4,
                    disc_width=4, **changes)
    torch.manual_seed(0)
    module = HSRModule(torch.rand(2, 16, 16), torch.rand(2, 8, 8), RATIO, cfg)
    return TrainedTranslator(module, cfg, RATIO, 0)


def test_window_offsets_cover_every_pixel():
    assert window_offsets(10, 4, 3) == [0, 3, 6]
    assert window_offsets(11, 4, 3) == [0, 3, 6, 7]
    assert window_offsets(4, 4, 1) == [0]


@pytest.mark.parametrize("shape", [(9, 7), (4, 4), (3, 5)])
def test_any_size_gives_ratio_times_size(shape):
    model = tiny_model()
    maps = np.random.default_rng(0).random((*shape, 2)).astype(np.float32)
    out = super_resolve(model, maps, RATIO, stride=2)
    assert out.shape == (RATIO * shape[0], RATIO * shape[1], 2) and np.isfinite(out).all()


def test_residual_model_at_init_is_bicubic_of_the_whole_map():
    from fresco.ops.resample import upsample

    model = tiny_model(residual=True, upsample="bicubic")
    maps = np.random.default_rng(1).random((10, 9, 2)).astype(np.float32)
    out = super_resolve(model, maps, RATIO, stride=3, bn_mode="eval")
    np.testing.assert_allclose(out, upsample(maps, RATIO, "bicubic"), atol=1e-5)


def test_eval_mode_is_independent_of_batch_size_and_train_mode_keeps_running_stats():
    model = tiny_model()
    maps = np.random.default_rng(2).random((9, 9, 2)).astype(np.float32)
    a = super_resolve(model, maps, RATIO, stride=1, batch_size=3, bn_mode="eval")
    b = super_resolve(model, maps, RATIO, stride=1, batch_size=64, bn_mode="eval")
    np.testing.assert_allclose(a, b, atol=1e-5)
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    super_resolve(model, maps, RATIO, bn_mode="train")
    after = model.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert model.module.training  # flags restored


def test_wrong_inputs_raise():
    model = tiny_model()
    with pytest.raises(ValueError, match="ratio"):
        super_resolve(model, np.zeros((8, 8, 2), np.float32), 3)
    with pytest.raises(ValueError, match="abundances_h"):
        super_resolve(model, np.zeros((8, 8, 3), np.float32), RATIO)
