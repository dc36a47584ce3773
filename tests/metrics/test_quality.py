"""Quality metrics: hand-computed values on tiny arrays, agreement with scikit-image / torchmetrics,
validation, clipping and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torchmetrics.functional.image import (
    error_relative_global_dimensionless_synthesis,
    spectral_angle_mapper,
)

from fresco.metrics import (
    PSNR_CAP_DB,
    QUALITY_KEYS,
    ergas,
    ergas_rms,
    per_pixel_error,
    pixel_rmse,
    pixel_sam,
    psnr,
    psnr_peak1,
    quality_metrics,
    registration_error,
    rmse,
    rsnr,
    sam,
    sam_rad,
    ssim,
)


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    """A 12x10x6 ground truth in (0, 1) and a noisy estimate that stays inside [0, 1]."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.1, 0.9, size=(12, 10, 6))
    est = gt + rng.uniform(-0.05, 0.05, size=gt.shape)
    return est, gt


# ------------------------------------------------------------------------ hand-computed values
def test_psnr_by_hand() -> None:
    gt = np.zeros((2, 2, 2))
    gt[..., 0] = [[0.5, 1.0], [0.25, 0.0]]  # peak 1
    gt[..., 1] = 0.5  # peak 0.5
    est = gt.copy()
    est[..., 0] += 0.1  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    est[0, 0, 1] += 0.2  # MSE 0.04 / 4 = 0.01 -> 10 log10(0.25 / 0.01) = 10 log10(25) dB
    band1 = 10 * math.log10(25)
    assert psnr(est, gt) == pytest.approx((20 + band1) / 2)
    # peak 1: band 1 is 10 log10(1 / 0.01) = 20 dB too
    assert psnr_peak1(est, gt) == pytest.approx(20.0)


def test_sam_by_hand() -> None:
    gt = np.array([[[0.0, 1.0], [1.0, 1.0], [0.3, 0.4]]])  # (1, 3, 2)
    est = np.array([[[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]]])
    # orthogonal -> 90, 45-degree pair -> 45, parallel (scaled) -> 0
    np.testing.assert_allclose(pixel_sam(est, gt), [[90.0, 45.0, 0.0]], atol=1e-6)
    assert sam(est, gt) == pytest.approx(45.0)
    assert sam_rad(est, gt) == pytest.approx(math.pi / 4)
    assert sam(gt, gt) == pytest.approx(0.0, abs=1e-6)


def test_sam_zero_spectrum_is_90_degrees_like_the_paper() -> None:
    zeros = np.zeros((1, 1, 3))
    assert sam(zeros, zeros) == pytest.approx(90.0)


def test_ergas_by_hand() -> None:
    gt = np.empty((3, 3, 2))
    gt[..., 0], gt[..., 1] = 0.5, 0.25
    est = np.empty_like(gt)
    est[..., 0], est[..., 1] = 0.6, 0.35  # RMSE 0.1 in both bands -> relative 0.2 and 0.4
    d = 4
    assert ergas(est, gt, d) == pytest.approx(100 / d * (0.2 + 0.4) / 2)  # 7.5
    assert ergas_rms(est, gt, d) == pytest.approx(100 / d * math.sqrt((0.2**2 + 0.4**2) / 2))


def test_rmse_and_pixel_rmse_by_hand() -> None:
    gt = np.zeros((1, 2, 2))
    est = np.array([[[0.3, 0.4], [0.0, 0.0]]])
    assert rmse(est, gt) == pytest.approx(math.sqrt((0.09 + 0.16) / 4))
    np.testing.assert_allclose(pixel_rmse(est, gt), [[math.sqrt(0.25 / 2), 0.0]])


def test_ssim_constant_images_by_hand() -> None:
    # Constant 7x7 bands: one full window, zero variances, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    gt = np.empty((7, 7, 2))
    gt[..., 0], gt[..., 1] = 0.25, 0.8
    est = gt.copy()
    est[..., 0] = 0.5
    c1 = (0.01 * 1.0) ** 2
    band0 = (2 * 0.5 * 0.25 + c1) / (0.5**2 + 0.25**2 + c1)
    assert ssim(est, gt) == pytest.approx((band0 + 1.0) / 2)


def test_ssim_7x7_matches_the_formula() -> None:
    # 7x7 with win 7: SSIM is the single full-window value with sample (ddof=1) statistics.
    rng = np.random.default_rng(1)
    gt = rng.random((7, 7, 1))
    est = np.clip(gt + 0.1 * rng.standard_normal(gt.shape), 0, 1)
    x, y = est.ravel(), gt.ravel()
    c1, c2 = (0.01) ** 2, (0.03) ** 2
    cov = np.cov(x, y)  # ddof=1
    expected = ((2 * x.mean() * y.mean() + c1) * (2 * cov[0, 1] + c2)) / (
        (x.mean() ** 2 + y.mean() ** 2 + c1) * (cov[0, 0] + cov[1, 1] + c2)
    )
    assert ssim(est, gt) == pytest.approx(expected)


# ------------------------------------------------------------------------ reference libraries
def test_psnr_matches_skimage_per_band(pair) -> None:
    est, gt = pair
    bands = range(gt.shape[2])
    paper = np.mean(
        [peak_signal_noise_ratio(gt[..., b], est[..., b], data_range=gt[..., b].max()) for b in bands]
    )
    peak1 = np.mean([peak_signal_noise_ratio(gt[..., b], est[..., b], data_range=1.0) for b in bands])
    assert psnr(est, gt) == pytest.approx(paper)
    assert psnr_peak1(est, gt) == pytest.approx(peak1)


def test_ssim_matches_skimage(pair) -> None:
    est, gt = pair
    expected = structural_similarity(est, gt, data_range=1.0, channel_axis=-1)  # mean over channels
    assert ssim(est, gt) == pytest.approx(expected)


def _bchw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image.transpose(2, 0, 1)[None].copy())


def test_sam_rad_matches_torchmetrics(pair) -> None:
    # torchmetrics has no 1e-8 norm guard; with nonzero spectra the definitions agree.
    est, gt = pair
    expected = spectral_angle_mapper(_bchw(est), _bchw(gt)).item()
    assert sam_rad(est, gt) == pytest.approx(expected, rel=1e-9)


def test_ergas_rms_matches_torchmetrics(pair) -> None:
    # torchmetrics: 100 / ratio * sqrt(mean_b((RMSE_b / mean(GT_b))^2)), i.e. the standard ERGAS with
    # ratio = d (coarse/fine pixel size, e.g. 4), the same convention as ours.
    est, gt = pair
    for d in (2, 4, 8):
        expected = error_relative_global_dimensionless_synthesis(_bchw(est), _bchw(gt), ratio=d).item()
        assert ergas_rms(est, gt, d) == pytest.approx(expected, rel=1e-9)


def test_paper_ergas_differs_from_torchmetrics(pair) -> None:
    # The paper's ERGAS is a mean of per-band ratios, torchmetrics' the RMS: never larger, and
    # different unless every band has the same relative error. Not compared for equality.
    est, gt = pair
    standard = error_relative_global_dimensionless_synthesis(_bchw(est), _bchw(gt), ratio=4).item()
    assert ergas(est, gt, 4) < standard
    assert ergas(est, gt, 4) == pytest.approx(standard, rel=0.2)


# ------------------------------------------------------------------------ quality_metrics
def test_quality_metrics_keys_and_values(pair) -> None:
    est, gt = pair
    scores = quality_metrics(est, gt, ratio=4)
    assert tuple(scores) == QUALITY_KEYS
    assert set(scores) == {"psnr", "ssim", "sam", "ergas", "psnr_peak1", "sam_rad", "ergas_rms", "rmse", "rsnr"}
    assert all(isinstance(v, float) for v in scores.values())
    assert scores["psnr"] == pytest.approx(psnr(est, gt))
    assert scores["ssim"] == pytest.approx(ssim(est, gt))
    assert scores["sam"] == pytest.approx(math.degrees(scores["sam_rad"]))
    assert scores["ergas"] == pytest.approx(ergas(est, gt, 4))
    assert scores["ergas_rms"] == pytest.approx(ergas_rms(est, gt, 4))
    assert scores["rmse"] == pytest.approx(rmse(est, gt))
    assert scores["rsnr"] == pytest.approx(rsnr(est, gt))


def test_rsnr_by_hand() -> None:
    gt = np.full((8, 8, 2), 0.5)
    est = gt.copy()
    est[0, 0, 0] = 0.4   # ||X||^2 = 128 * 0.25 = 32, ||X - X^||^2 = 0.01
    assert rsnr(est, gt) == pytest.approx(10 * math.log10(32 / 0.01))
    assert rsnr(gt, gt) == PSNR_CAP_DB


def test_registration_error_by_hand() -> None:
    from fresco.ops.warp import RigidTransform

    true = RigidTransform(30.0, (1.0, 2.0)).affine((16, 16), (7.5, 7.5))
    same = registration_error(true, true, (16, 16))
    assert same == {"angle_error_deg": 0.0, "shift_error_px": 0.0, "corner_error_px": 0.0}
    off = registration_error(RigidTransform(31.0, (1.0, 5.0)).affine((16, 16), (7.5, 7.5)), true, (16, 16))
    assert off["angle_error_deg"] == pytest.approx(1.0)
    assert off["shift_error_px"] == pytest.approx(3.0)
    assert off["corner_error_px"] > 3.0
    turned = registration_error(RigidTransform(-179.0).affine((16, 16), (7.5, 7.5)),
                                RigidTransform(179.0).affine((16, 16), (7.5, 7.5)), (16, 16))
    assert turned["angle_error_deg"] == pytest.approx(2.0)   # wrapped, not 358


def test_quality_metrics_clips_the_estimate(pair) -> None:
    est, gt = pair
    wild = est.copy()
    wild[0, 0, :] = 3.0
    wild[1, 1, :] = -2.0
    assert quality_metrics(wild, gt, 4) == quality_metrics(np.clip(wild, 0, 1), gt, 4)
    # the low-level functions score the array as given
    assert psnr(wild, gt) < quality_metrics(wild, gt, 4)["psnr"]


def test_clipping_can_make_a_reconstruction_perfect() -> None:
    gt = np.ones((8, 8, 3))
    scores = quality_metrics(gt + 5.0, gt, 4)
    assert scores["psnr"] == PSNR_CAP_DB
    assert scores["rmse"] == 0.0


def test_perfect_reconstruction(pair) -> None:
    _, gt = pair
    scores = quality_metrics(gt, gt, 4)
    assert scores["psnr"] == PSNR_CAP_DB
    assert scores["psnr_peak1"] == PSNR_CAP_DB
    assert scores["ssim"] == pytest.approx(1.0)
    assert scores["sam"] == pytest.approx(0.0, abs=1e-5)
    assert scores["ergas"] == 0.0
    assert scores["ergas_rms"] == 0.0
    assert scores["rmse"] == 0.0


def test_psnr_perfect_band_scores_the_cap_and_ranks_above_near_perfect() -> None:
    gt = np.full((4, 4, 2), 0.5)
    near = gt.copy()
    near[0, 0, :] += 1e-3
    perfect_one_band = near.copy()
    perfect_one_band[..., 1] = gt[..., 1]
    assert math.isfinite(psnr(perfect_one_band, gt))
    assert psnr(perfect_one_band, gt) > psnr(near, gt)
    assert psnr(gt, gt) == PSNR_CAP_DB


def test_all_zero_ground_truth_band() -> None:
    gt = np.full((4, 4, 2), 0.5)
    gt[..., 1] = 0.0
    est = gt.copy()
    est[..., 0] += 0.1
    # band 1 reconstructed exactly: counts as perfect (cap / zero error), no warning
    assert psnr(est, gt) == pytest.approx((10 * math.log10(0.25 / 0.01) + PSNR_CAP_DB) / 2)
    assert ergas(est, gt, 4) == pytest.approx(25 * (0.2 + 0.0) / 2)
    # band 1 wrong: undefined relative error, excluded from the mean with a warning
    est[..., 1] = 0.1
    with pytest.warns(RuntimeWarning, match="1 of 2 bands"):
        assert psnr(est, gt) == pytest.approx(10 * math.log10(0.25 / 0.01))
    with pytest.warns(RuntimeWarning, match="excluded"):
        assert ergas(est, gt, 4) == pytest.approx(25 * 0.2)
    with pytest.warns(RuntimeWarning, match="excluded"):
        assert ergas_rms(est, gt, 4) == pytest.approx(25 * 0.2)
    # peak-1 PSNR stays defined for that band
    assert psnr_peak1(est, gt) == pytest.approx(20.0)


def test_all_bands_undefined_gives_nan_not_zero() -> None:
    gt = np.zeros((3, 3, 2))
    est = np.full_like(gt, 0.2)
    with pytest.warns(RuntimeWarning):
        assert math.isnan(psnr(est, gt))
    with pytest.warns(RuntimeWarning):
        assert math.isnan(ergas(est, gt, 4))


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("est_shape", "gt_shape", "match"),
    [
        ((8, 8), (8, 8), r"3-D array .*img\[\.\.\., None\]"),
        ((8, 8, 2), (8, 8, 3), "same shape"),
        ((8, 8, 2, 1), (8, 8, 2, 1), "3-D array"),
        ((0, 8, 2), (0, 8, 2), "empty"),
    ],
)
def test_shape_validation(est_shape, gt_shape, match) -> None:
    with pytest.raises(ValueError, match=match):
        quality_metrics(np.zeros(est_shape), np.zeros(gt_shape), 4)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(pair, bad) -> None:
    est, gt = pair
    est = est.copy()
    est[0, 0, 0] = bad
    with pytest.raises(ValueError, match="est contains 1 NaN or Inf"):
        quality_metrics(est, gt, 4)
    with pytest.raises(ValueError, match="gt contains"):
        psnr(gt, est)


@pytest.mark.parametrize("ratio", [0, -4, float("nan"), "four"])
def test_bad_ratio(pair, ratio) -> None:
    est, gt = pair
    with pytest.raises(ValueError, match="ratio must be a positive number"):
        quality_metrics(est, gt, ratio)


def test_ssim_needs_7_pixels() -> None:
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(np.zeros((6, 9, 2)), np.zeros((6, 9, 2)))
    with pytest.raises(ValueError, match="at least 7x7"):
        quality_metrics(np.zeros((9, 5, 2)), np.zeros((9, 5, 2)), 4)


def test_integer_and_float32_inputs_are_accepted(pair) -> None:
    est, gt = pair
    assert quality_metrics(est.astype(np.float32), gt.astype(np.float32), 4)["psnr"] == pytest.approx(
        quality_metrics(est, gt, 4)["psnr"], rel=1e-5
    )
    ones = np.ones((7, 7, 2), dtype=np.uint8)
    assert quality_metrics(ones, ones, 4)["rmse"] == 0.0


# ------------------------------------------------------------------------ per-pixel maps
def test_per_pixel_error_maps(pair) -> None:
    est, gt = pair
    maps = per_pixel_error(est, gt)
    assert set(maps) == {"rmse", "sam"}
    assert maps["rmse"].shape == maps["sam"].shape == gt.shape[:2]
    np.testing.assert_allclose(maps["rmse"], pixel_rmse(est, gt))
    np.testing.assert_allclose(maps["sam"], pixel_sam(est, gt))
    assert np.mean(maps["sam"]) == pytest.approx(sam(est, gt))


def test_per_pixel_error_clips_by_default() -> None:
    gt = np.full((2, 2, 2), 1.0)
    est = np.full_like(gt, 1.5)
    assert np.all(per_pixel_error(est, gt)["rmse"] == 0.0)
    np.testing.assert_allclose(per_pixel_error(est, gt, clip=False)["rmse"], 0.5)


def test_callers_array_is_never_modified(pair) -> None:
    est, gt = pair
    wild = est.copy()
    wild[0, 0, :] = 3.0
    before = wild.copy()
    quality_metrics(wild, gt, 4)
    per_pixel_error(wild, gt)
    np.testing.assert_array_equal(wild, before)


def test_ground_truth_outside_unit_range_is_rejected():
    raw = np.full((8, 8, 2), 900.0)
    with pytest.raises(ValueError, match=r"gt must hold values in \[0, 1\]"):
        quality_metrics(raw / 1000.0, raw, 4)
