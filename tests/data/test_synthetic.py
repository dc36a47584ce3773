"""Synthetic scenes satisfy the linear mixing model exactly."""

from __future__ import annotations

import numpy as np
import pytest

from fresco.data.sensors import make_srf
from fresco.data.simulate import simulate_pair
from fresco.data.synthetic import synthetic_scene


@pytest.mark.parametrize("kind", ["lowrank", "piecewise"])
def test_model_constraints(kind: str) -> None:
    scene = synthetic_scene(40, 36, n_bands=30, n_materials=4, rank=3, seed=1, kind=kind)
    em, ab = scene.meta["endmembers"], scene.meta["abundances"]
    assert scene.cube.shape == (40, 36, 30) and scene.cube.dtype == np.float32
    assert em.shape == (30, 4) and ab.shape == (40, 36, 4)
    assert np.all(em >= 0) and np.all(em <= 1)
    assert np.all(ab >= 0)
    np.testing.assert_allclose(ab.sum(axis=2), 1.0, atol=1e-12)
    # The cube is exactly sum_r S_r (outer) c_r (up to float32 rounding).
    np.testing.assert_allclose(scene.cube, np.einsum("hwr,kr->hwk", ab, em), atol=1e-6)
    assert scene.cube.min() >= 0 and scene.cube.max() <= 1


def test_lowrank_maps_have_the_rank() -> None:
    scene = synthetic_scene(40, 36, n_materials=5, rank=2, seed=2)
    ab = scene.meta["abundances"]
    for r in range(5):
        sv = np.linalg.svd(ab[:, :, r], compute_uv=False)
        assert np.sum(sv > 1e-10 * sv[0]) == 2


def test_materials_are_diverse() -> None:
    scene = synthetic_scene(seed=0)
    em, ab = scene.meta["endmembers"], scene.meta["abundances"]
    assert np.linalg.matrix_rank(em) == em.shape[1]
    # Some pixels are nearly pure in each material (helps identifiability).
    assert np.all(ab.reshape(-1, ab.shape[2]).max(axis=0) > 0.7)


def test_seeded() -> None:
    np.testing.assert_array_equal(synthetic_scene(seed=5).cube, synthetic_scene(seed=5).cube)
    assert not np.array_equal(synthetic_scene(seed=5).cube, synthetic_scene(seed=6).cube)


def test_library_endmembers_and_wavelengths() -> None:
    em = np.random.default_rng(0).uniform(0.1, 0.9, size=(25, 3))
    wl = np.linspace(450.0, 900.0, 25)
    scene = synthetic_scene(20, 20, endmembers=em, wavelengths=wl, rank=2)
    np.testing.assert_array_equal(scene.meta["endmembers"], em)
    np.testing.assert_array_equal(scene.wavelengths, wl)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        synthetic_scene(endmembers=em * 2)
    with pytest.raises(ValueError, match="unknown synthetic kind"):
        synthetic_scene(kind="fractal")


def test_simulated_msi_follows_the_model() -> None:
    # MSI = S_M (P C)^T on the MSI footprint: the coupled model of method.md section 2.
    scene = synthetic_scene(48, 48, n_bands=40, seed=3)
    srf = make_srf("landsat_box", scene.wavelengths)
    pair = simulate_pair(scene, srf, msi_shape=(24, 24), hsi_shape=(24, 24), angle_deg=30.0)
    origin = pair.meta["transform"]["msi_origin"]
    s_m = scene.meta["abundances"][origin[0]:origin[0] + 24, origin[1]:origin[1] + 24]
    pc = srf.matrix @ scene.meta["endmembers"]
    np.testing.assert_allclose(pair.msi, s_m @ pc.T, atol=1e-6)
