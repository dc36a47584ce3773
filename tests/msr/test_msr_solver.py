"""Stage 1 solver: exact recovery on model data, gradients against autograd, Lipschitz steps,
rectangular maps, the registered variant, determinism, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from fresco.data.scenes import Scene
from fresco.data.sensors import make_srf
from fresco.data.simulate import MISALIGNMENT_LEVELS, simulate_pair
from fresco.data.synthetic import random_endmembers
from fresco.metrics.quality import psnr
from fresco.msr import BTDConfig, CoupledBTD, coupled_btd, registered_btd


def scattered_scene(size: int, n_materials: int, seed: int = 1, contrast: float = 6.0, n_bands: int = 60):
    """A scene from the mixing model with "sufficiently scattered" abundances: a softmax of smooth
    random fields (many nearly pure pixels), so the decomposition is identifiable."""
    rng = np.random.default_rng(seed)
    wl = np.linspace(400.0, 2500.0, n_bands)
    endmembers = random_endmembers(wl, n_materials, rng)
    fields = np.stack([ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma=size * 0.06, mode="wrap")
                       for _ in range(n_materials)], axis=-1)
    weights = np.exp(contrast * fields / fields.std())
    abundances = weights / weights.sum(-1, keepdims=True)
    return Scene(cube=(abundances @ endmembers.T).astype(np.float32), wavelengths=wl, name="scattered"), endmembers


def max_endmember_angle(true: np.ndarray, est: np.ndarray) -> float:
    """Largest spectral angle (degrees) between matched endmembers after the best permutation."""
    a = true / np.linalg.norm(true, axis=0)
    b = est / np.maximum(np.linalg.norm(est, axis=0), 1e-12)
    angles = np.degrees(np.arccos(np.clip(a.T @ b, -1.0, 1.0)))
    rows, cols = linear_sum_assignment(angles)
    return float(angles[rows, cols].max())


def severe(**kw):
    return {k: v for k, v in MISALIGNMENT_LEVELS["severe"].items() if k != "name"} | kw


@pytest.fixture(scope="module")
def exact_pair():
    scene, endmembers = scattered_scene(96, 5)
    srf = make_srf("landsat_box", scene.wavelengths)
    pair = simulate_pair(scene, srf, ratio=4, msi_shape=(48, 48), hsi_shape=(48, 48), seed=0, **severe())
    return pair, endmembers


def test_noise_free_model_pair_is_recovered_exactly_without_registration(exact_pair):
    """Acceptance: R = 5, severe misalignment (90 degrees, half overlap), no noise: M-SRI >= 40 dB and
    every endmember within 1 degree after the best permutation."""
    pair, endmembers = exact_pair
    assert pair.meta["overlap"] < 0.6
    res = coupled_btd(pair.msi, pair.hsi, pair.srf, 5, init="vca", lambda_lr=1e-5, lambda_tv=1e-6, lambda_sto=1e-2,
                      alpha=1e-4, iterations=1000, tol=0.0)
    assert psnr(res.m_sri(), pair.sri_m) >= 40.0
    assert max_endmember_angle(endmembers, res.endmembers) <= 1.0
    # The reference's random start is a local method: it reaches a good M-SRI, not necessarily C.
    assert res.iterations == 1000 and res.abundances_m.shape == (48, 48, 5) and res.abundances_h.shape == (12, 12, 5)


def _autograd_objective(solver: CoupledBTD, c, sm, sh):
    """F written independently with dense difference matrices and eigenvalue powers."""
    cfg = solver.config
    r = cfg.num_materials

    def lowrank(maps):
        total = 0.0
        for m in maps:
            lam = torch.linalg.eigvalsh(m @ m.T + cfg.tau * torch.eye(m.shape[0], dtype=m.dtype))
            total = total + (lam ** (cfg.p / 2)).sum()
        return total

    def diff_matrix(n):
        return torch.roll(torch.eye(n, dtype=torch.float64), 1, dims=1) - torch.eye(n, dtype=torch.float64)

    dx, dy = diff_matrix(sm.shape[1]), diff_matrix(sm.shape[2])
    tv = sum(((dx @ m) ** 2 + cfg.eps).pow(cfg.q / 2).sum() + ((m @ dy.T) ** 2 + cfg.eps).pow(cfg.q / 2).sum()
             for m in sm)
    fit_h = 0.5 * ((solver.yht - c @ sh.reshape(r, -1)) ** 2).sum()
    fit_m = 0.5 * ((solver.ymt - solver.srf @ c @ sm.reshape(r, -1)) ** 2).sum()
    sto = 0.5 * ((sm.sum(0) - 1) ** 2).sum() + 0.5 * ((sh.sum(0) - 1) ** 2).sum()
    return (fit_h + fit_m + cfg.lambda_lr * (lowrank(sm) + lowrank(sh)) + cfg.lambda_tv * tv
            + cfg.lambda_sto * sto + cfg.alpha * 0.5 * (c * c).sum())


@pytest.mark.parametrize("msi_shape", [(12, 8), (8, 12)])
def test_gradients_and_objective_match_autograd_on_rectangular_maps(msi_shape):
    rng = np.random.default_rng(0)
    msi, hsi = rng.random((*msi_shape, 4)), rng.random((3, 5, 20))
    srf = rng.random((4, 20))
    srf /= srf.sum(1, keepdims=True)
    cfg = BTDConfig(num_materials=3, lambda_lr=0.3, lambda_tv=0.2, lambda_sto=0.5, alpha=0.1)
    solver = CoupledBTD(msi, hsi, srf, cfg, seed=1)
    c, sm, sh = (x.clone().requires_grad_(True) for x in (solver.C, solver.S_M, solver.S_H))
    value = _autograd_objective(solver, c, sm, sh)
    value.backward()
    assert solver.terms()["objective"] == pytest.approx(value.item(), rel=1e-10)
    for key, auto in (("C", c.grad), ("S_M", sm.grad), ("S_H", sh.grad)):
        grad, lip = solver.gradient(key, getattr(solver, key))
        torch.testing.assert_close(grad, auto, rtol=1e-8, atol=1e-10)
        assert lip > 0


def test_lowrank_term_is_the_matrix_power_for_tall_and_wide_maps():
    rng = np.random.default_rng(3)
    solver = CoupledBTD(rng.random((6, 6, 3)), rng.random((3, 3, 10)), np.full((3, 10), 0.1),
                        BTDConfig(num_materials=2, p=0.5, tau=0.7), seed=0)
    for shape in ((7, 4), (4, 7)):
        maps = torch.as_tensor(rng.random((2, *shape)))
        expected = sum(np.sum((np.linalg.eigvalsh(m @ m.T) + 0.7) ** 0.25) for m in maps.numpy())
        assert float(solver._lowrank(maps, grad=False)[0]) == pytest.approx(expected, rel=1e-10)


def test_first_sweep_decreases_the_objective_each_block():
    """The first sweep has no momentum: each 1/L projected-gradient block step must not increase F."""
    rng = np.random.default_rng(5)
    solver = CoupledBTD(rng.random((16, 16, 4)), rng.random((4, 4, 30)), np.full((4, 30), 1 / 30),
                        BTDConfig(num_materials=3), seed=2)
    values = [solver.terms()["objective"]]
    for key in solver.blocks():
        solver._update(key)
        values.append(solver.terms()["objective"])
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:], strict=False)), values


def test_seeded_and_dtype_and_stop_rule():
    rng = np.random.default_rng(7)
    msi, hsi = rng.random((8, 8, 3)), rng.random((2, 2, 12))
    srf = np.full((3, 12), 1 / 12)
    a = coupled_btd(msi, hsi, srf, 2, iterations=20, seed=4)
    b = coupled_btd(msi, hsi, srf, 2, iterations=20, seed=4)
    c = coupled_btd(msi, hsi, srf, 2, iterations=20, seed=5)
    np.testing.assert_array_equal(a.endmembers, b.endmembers)
    assert not np.allclose(a.endmembers, c.endmembers)
    f32 = coupled_btd(msi, hsi, srf, 2, iterations=20, seed=4, dtype="float32")
    np.testing.assert_allclose(f32.endmembers, a.endmembers, rtol=1e-3, atol=1e-4)
    stopped = coupled_btd(msi, hsi, srf, 2, iterations=5000, tol=1e-4, seed=4)
    assert stopped.converged and stopped.iterations < 5000
    assert stopped.history[-1]["rel_change"] < 1e-4
    calls = []
    coupled_btd(msi, hsi, srf, 2, iterations=10, callback=lambda info: calls.append(info) or len(calls) == 3)
    assert len(calls) == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(8)
    msi, hsi = rng.random((16, 12, 4)), rng.random((4, 3, 20))
    srf = np.full((4, 20), 0.05)
    cpu = coupled_btd(msi, hsi, srf, 3, iterations=30, seed=1)
    gpu = coupled_btd(msi, hsi, srf, 3, iterations=30, seed=1, device="cuda")
    np.testing.assert_allclose(gpu.endmembers, cpu.endmembers, rtol=1e-6, atol=1e-8)


def test_registered_variant_fits_a_registered_pair():
    scene, endmembers = scattered_scene(48, 4, seed=2)
    srf = make_srf("landsat_box", scene.wavelengths)
    pair = simulate_pair(scene, srf, ratio=4, msi_shape=(48, 48), hsi_shape=(48, 48), seed=0)
    res = registered_btd(pair.msi, pair.hsi, pair.srf, 4, 4, init="vca", lambda_lr=1e-5, lambda_tv=1e-6,
                         lambda_sto=1e-2, alpha=1e-4, iterations=600, tol=0.0)
    assert psnr(res.m_sri(), pair.sri_m) >= 40.0
    assert res.abundances_h.shape == (12, 12, 4)
    assert psnr(res.hsi_reconstruction(), pair.hsi) >= 40.0
    with pytest.raises(ValueError, match="co-registered"):
        registered_btd(pair.msi[:44], pair.hsi, pair.srf, 4, 4, iterations=1)


@pytest.mark.parametrize("bad, match", [
    (dict(msi=np.zeros((4, 4))), r"msi must be a 3-D array \(rows, cols, bands\)"),
    (dict(srf=np.zeros((3, 5))), r"srf must be \(K_M, K_H\)"),
    (dict(hsi=np.full((2, 2, 10), np.nan)), "NaN"),
    (dict(num_materials=11), "exceeds"),
])
def test_bad_input_is_explained(bad, match):
    args = dict(msi=np.zeros((4, 4, 3)), hsi=np.zeros((2, 2, 10)), srf=np.full((3, 10), 0.1), num_materials=2)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        coupled_btd(args["msi"], args["hsi"], args["srf"], args["num_materials"], iterations=1)


def test_unknown_or_invalid_hyperparameters_are_explained():
    with pytest.raises(ValueError, match=r"unknown method setting\(s\) \[.lamda_lr.\].*lambda_lr"):
        coupled_btd(np.zeros((4, 4, 3)), np.zeros((2, 2, 10)), np.full((3, 10), 0.1), 2, lamda_lr=1.0)
    with pytest.raises(ValueError, match="init"):
        BTDConfig(init="kmeans")
    with pytest.raises(ValueError, match="p must be"):
        BTDConfig(p=3.0)
