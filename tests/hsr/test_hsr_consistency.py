"""The consistency steps after the translator (fresco.ops.consistency): what each one guarantees."""

from __future__ import annotations

import numpy as np
import pytest

from fresco.data.simulate import degrade
from fresco.methods.interpolation import InterpolationBaseline, upsample
from fresco.metrics.quality import psnr
from fresco.ops.consistency import back_project, preserve_total


def smooth_maps(rng: np.random.Generator, side: int = 32, materials: int = 4) -> np.ndarray:
    """Nonnegative maps summing to one at every pixel, with edges and smooth parts."""
    yy, xx = np.mgrid[0:side, 0:side] / side
    logits = np.stack([np.sin(6 * xx + k) + np.cos(5 * yy * (k + 1)) + 2 * (xx + yy > 0.9 + 0.1 * k)
                       for k in range(materials)], axis=-1) + 0.1 * rng.standard_normal((side, side, materials))
    weights = np.exp(3 * logits)
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float32)


def test_preserve_total_sets_the_sum_and_keeps_the_split():
    rng = np.random.default_rng(0)
    fine = rng.random((16, 16, 3)).astype(np.float32)
    coarse = rng.random((4, 4, 3)).astype(np.float32)
    out = preserve_total(fine, coarse, 4)
    target = upsample(coarse.sum(axis=2, keepdims=True), 4)[..., 0]
    np.testing.assert_allclose(out.sum(axis=2), target, atol=1e-5)
    np.testing.assert_allclose(out[..., 0] - out[..., 1], fine[..., 0] - fine[..., 1], atol=1e-6)


def test_preserve_total_removes_an_error_common_to_all_materials_exactly():
    # Maps summing to one: the coarse maps' total is one, so is its interpolation, and an error the
    # translator makes equally in every material (the direction C^T C weights most) disappears.
    rng = np.random.default_rng(1)
    truth = smooth_maps(rng)
    common = 0.05 * rng.standard_normal(truth.shape[:2]).astype(np.float32)
    out = preserve_total(truth + common[..., None], degrade(truth, 4), 4)
    np.testing.assert_allclose(out, truth, atol=1e-5)


def test_back_projection_converges_towards_the_observation_and_the_truth():
    rng = np.random.default_rng(2)
    truth = smooth_maps(rng, side=48, materials=5)
    observed = degrade(truth, 4)
    start = upsample(observed, 4)
    residuals, errors = [], []
    for steps in (0, 1, 3, 10):
        x = back_project(start, observed, 4, steps)
        residuals.append(float(np.linalg.norm(degrade(x, 4) - observed)))
        errors.append(psnr(np.clip(x, 0, 1), truth))
    assert residuals == sorted(residuals, reverse=True) and residuals[-1] < 0.2 * residuals[0]
    assert errors[-1] > errors[0] + 0.5
    # a consistent image is a fixed point
    consistent = back_project(start, observed, 4, 200)
    np.testing.assert_allclose(back_project(consistent, degrade(consistent, 4), 4, 3), consistent, atol=1e-5)


def test_consistency_steps_reject_bad_shapes():
    with pytest.raises(ValueError, match="ratio=4 times"):
        preserve_total(np.zeros((10, 10, 3), np.float32), np.zeros((4, 4, 3), np.float32), 4)
    with pytest.raises(ValueError, match=">= 0"):
        back_project(np.zeros((8, 8, 2), np.float32), np.zeros((2, 2, 2), np.float32), 4, -1)
    with pytest.raises(ValueError, match="observation"):
        back_project(np.zeros((8, 8, 2), np.float32), np.zeros((2, 2, 3), np.float32), 4, 1)
    with pytest.raises(ValueError, match="back_projection"):
        InterpolationBaseline(back_projection=-2)
