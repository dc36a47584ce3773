"""Interpolation baselines: kernels, operator conventions, spectral least squares."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fresco.data.pair import FusionPair
from fresco.methods import interpolation as interp
from fresco.ops import resample


def test_kernels_are_interpolating():
    t = np.arange(-3, 4, dtype=float)
    for kernel in (resample.cubic_kernel, resample.lanczos_kernel):
        w = kernel(t)
        assert w[3] == pytest.approx(1.0)
        assert np.allclose(np.delete(w, 3), 0.0, atol=1e-12)


@pytest.mark.parametrize("kernel", ["bicubic", "lanczos"])
@pytest.mark.parametrize("ratio", [2, 3, 4, 8])
def test_upsampling_rows_sum_to_one_and_keep_constants(kernel, ratio):
    mat = resample.upsampling_matrix(7, ratio, kernel)
    assert mat.shape == (7 * ratio, 7)
    assert np.allclose(mat.sum(axis=1), 1.0)
    img = np.full((5, 6, 2), 0.3, dtype=np.float32)
    assert np.allclose(resample.upsample(img, ratio, kernel), 0.3, atol=1e-6)


def test_bicubic_matches_torch_pixel_area_convention():
    """With torch's a=-0.75 our operator equals F.interpolate(align_corners=False), borders included."""
    rng = np.random.default_rng(0)
    x = rng.random((9, 11, 3)).astype(np.float32)
    original = resample.KERNELS["bicubic"]
    try:
        resample.KERNELS["bicubic"] = (lambda t: resample.cubic_kernel(t, a=-0.75), 2)
        ours = resample.upsample(x, 4, "bicubic")
    finally:
        resample.KERNELS["bicubic"] = original
    ref = torch.nn.functional.interpolate(torch.from_numpy(x).permute(2, 0, 1)[None], scale_factor=4,
                                          mode="bicubic", align_corners=False)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - ref).max() < 1e-5


def test_upsample_reproduces_linear_ramps_in_the_interior():
    ramp = np.arange(12, dtype=np.float32)[:, None, None] * np.ones((1, 12, 1), np.float32)
    up = resample.upsample(ramp, 4, "bicubic")[12:-12, 12:-12, 0]
    expected = (np.arange(48) + 0.5) / 4 - 0.5
    assert np.allclose(up, expected[12:-12, None], atol=1e-5)


def test_unknown_kernel_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown interpolation kernel 'nope'"):
        interp.InterpolationBaseline(kernel="nope")


def test_spectral_upsample_exact_when_spectra_live_in_the_subspace():
    """MSI pixels of spectra from a K_M-dimensional affine subspace are lifted exactly."""
    rng = np.random.default_rng(1)
    k_h, k_m = 30, 4
    basis = rng.random((k_h, 3))
    coeff = rng.dirichlet(np.ones(3), size=(6, 6))
    hsi = coeff @ basis.T
    srf = rng.random((k_m, k_h))
    srf /= srf.sum(axis=1, keepdims=True)
    sri = rng.dirichlet(np.ones(3), size=(10, 10)) @ basis.T
    msi = sri @ srf.T
    est = interp.spectral_upsample(msi, hsi, srf, rank=2, noise_var=0.0)
    assert np.allclose(est, sri, atol=1e-5)
    with pytest.raises(ValueError, match="spectral_rank"):
        interp.spectral_upsample(msi, hsi, srf, rank=0)


def test_method_returns_both_products_with_the_right_shapes():
    rng = np.random.default_rng(2)
    srf = np.full((3, 12), 1 / 12)
    pair = FusionPair(msi=rng.random((16, 20, 3)).astype(np.float32), hsi=rng.random((4, 5, 12)).astype(np.float32),
                      srf=srf, ratio=4)
    out = interp.InterpolationBaseline(name="lanczos", kernel="lanczos").run(pair)
    out.check_against(pair, "lanczos")
    assert out.m_sri.shape == pair.m_sri_shape and out.h_sri.shape == pair.h_sri_shape
    assert set(out.time_s) == {"m_sri", "h_sri"}


def _best_shift(est: np.ndarray, ref: np.ndarray) -> float:
    """Sub-pixel column shift (fine pixels) that best maps ``est`` onto ``ref`` (interior only)."""
    from scipy.ndimage import shift as nd_shift

    candidates = np.arange(-2.0, 2.01, 0.25)
    errors = [np.mean((nd_shift(est, (0, s, 0), order=3, mode="nearest") - ref)[8:-8, 8:-8] ** 2)
              for s in candidates]
    return float(candidates[int(np.argmin(errors))])


@pytest.mark.parametrize("kind", ["gaussian", "average", "nearest", "subsample"])
@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_degrade_then_upsample_lines_up_for_every_kind(kind, ratio):
    """The HSI's sampling positions (the simulator's phase) and the upsampler agree: no shift."""
    from fresco.data.simulate import degrade, sample_phase

    yy, xx = np.mgrid[0:48, 0:48] / 48.0
    scene = np.stack([np.sin(2.5 * xx + 1.3 * yy), np.cos(1.7 * xx - 2.1 * yy)], axis=-1).astype(np.float32)
    coarse = degrade(scene, ratio, kind)
    aligned = resample.upsample(coarse, ratio, "bicubic", sample_phase(kind, ratio))
    assert _best_shift(aligned, scene) == 0.0
    if sample_phase(kind, ratio) != (ratio - 1) / 2:  # ignoring the phase would misplace the image
        assert _best_shift(resample.upsample(coarse, ratio, "bicubic"), scene) != 0.0
