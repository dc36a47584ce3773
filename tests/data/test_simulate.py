"""Degradation operators, noise, and the unregistered pair simulator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fresco.data.pair import FusionPair
from fresco.data.scenes import Scene, load_indian_pines
from fresco.data.sensors import SpectralResponse, make_srf
from fresco.data.simulate import (
    DEGRADATION_KINDS,
    MISALIGNMENT_LEVELS,
    RigidTransform,
    add_noise,
    default_kernel_size,
    default_sigma,
    degradation_matrix,
    degrade,
    misalignment,
    simulate_pair,
)
from fresco.data.synthetic import synthetic_scene
from fresco.ops.degradation import Degradation

RATIOS = (2, 3, 4, 8)
N_FINE = 48  # divisible by every ratio above


@pytest.fixture(scope="module")
def indian_pines() -> Scene:
    return load_indian_pines()


@pytest.fixture(scope="module")
def srf(indian_pines: Scene) -> SpectralResponse:
    return make_srf("landsat_box", indian_pines.wavelengths)


@pytest.fixture(scope="module")
def level_pairs(indian_pines: Scene, srf: SpectralResponse) -> dict[str, FusionPair]:
    # All four named levels must fit the 145x145 scene with the default 80x80 footprints.
    return {level: simulate_pair(indian_pines, srf, **kw) for level, kw in MISALIGNMENT_LEVELS.items()}


def _image(shape: tuple[int, int, int] = (N_FINE, N_FINE, 3), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


# ----------------------------------------------------------------------------- degradation
@pytest.mark.parametrize("kind", DEGRADATION_KINDS)
@pytest.mark.parametrize("ratio", RATIOS)
def test_degradation_rows_sum_to_one(kind: str, ratio: int) -> None:
    mat = degradation_matrix(N_FINE, ratio, kind)
    assert mat.shape == (N_FINE // ratio, N_FINE)
    np.testing.assert_allclose(mat.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(mat >= 0)


@pytest.mark.parametrize("ratio", RATIOS)
def test_average_is_block_mean(ratio: int) -> None:
    img = _image()
    h = N_FINE // ratio
    expected = img.reshape(h, ratio, h, ratio, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(degrade(img, ratio, "average"), expected, atol=1e-6)


@pytest.mark.parametrize("ratio", RATIOS)
def test_subsample_and_nearest_pick_pixels(ratio: int) -> None:
    img = _image()
    np.testing.assert_array_equal(degrade(img, ratio, "subsample"), img[::ratio, ::ratio])
    np.testing.assert_array_equal(degrade(img, ratio, "nearest"), img[ratio // 2::ratio, ratio // 2::ratio])


def test_gaussian_defaults() -> None:
    assert default_sigma(4) == pytest.approx(math.sqrt(16 / (8 * math.log(2))))
    assert default_sigma(4) == pytest.approx(1.6986, abs=1e-4)
    assert [default_kernel_size(d, default_sigma(d)) for d in RATIOS] == [6, 7, 10, 20]
    mat = degradation_matrix(N_FINE, 4, "gaussian")
    row = mat[5]  # interior: no reflection
    support = np.nonzero(row)[0]
    assert support.size == 10
    centre = 5 * 4 + 1.5
    np.testing.assert_allclose(support.mean(), centre)  # centred on the coarse pixel
    expected = np.exp(-0.5 * ((support - centre) / default_sigma(4)) ** 2)
    np.testing.assert_allclose(row[support], expected / expected.sum())


@pytest.mark.parametrize("kind", ["gaussian", "average"])
@pytest.mark.parametrize("ratio", RATIOS)
def test_pixel_centre_convention(kind: str, ratio: int) -> None:
    # A ramp x(c) = c degraded by a symmetric kernel reads the coarse centre i*d + (d-1)/2 (interior).
    ramp = np.broadcast_to(np.arange(N_FINE, dtype=np.float32)[None, :, None], (N_FINE, N_FINE, 1))
    out = degrade(np.ascontiguousarray(ramp), ratio, kind)[0, :, 0]
    centres = np.arange(N_FINE // ratio) * ratio + (ratio - 1) / 2
    interior = slice(3, -3)
    np.testing.assert_allclose(out[interior], centres[interior], atol=1e-4)


def test_gaussian_preserves_constants_at_borders() -> None:
    img = np.full((N_FINE, N_FINE, 2), 0.3, dtype=np.float32)
    np.testing.assert_allclose(degrade(img, 8, "gaussian", sigma=5.0), 0.3, atol=1e-6)


def test_degradation_errors() -> None:
    with pytest.raises(ValueError, match="not divisible by ratio=4"):
        degradation_matrix(50, 4)
    with pytest.raises(ValueError, match="parity"):
        degradation_matrix(48, 4, "gaussian", kernel_size=7)
    with pytest.raises(ValueError, match="unknown degradation kind"):
        degradation_matrix(48, 4, "bicubic")


# ----------------------------------------------------------------------------- noise
def test_add_noise_snr() -> None:
    img = _image((64, 64, 10))
    noisy = add_noise(img, 20.0, np.random.default_rng(0))
    noise = noisy.astype(np.float64) - img
    snr = 10 * np.log10(np.mean(img.astype(np.float64) ** 2) / np.mean(noise**2))
    assert snr == pytest.approx(20.0, abs=0.1)
    np.testing.assert_array_equal(add_noise(img, None, 0), img)
    np.testing.assert_array_equal(add_noise(img, 20.0, 3), add_noise(img, 20.0, 3))


# ----------------------------------------------------------------------------- geometry
def test_rigid_transform_round_trip() -> None:
    tr = RigidTransform(33.0, (4.5, -7.0), 1.2)
    u, v = np.meshgrid(np.arange(10.0), np.arange(12.0), indexing="ij")
    r, c = tr.footprint_to_scene(u, v, (10, 12), (50.0, 60.0))
    u2, v2 = tr.scene_to_footprint(r, c, (10, 12), (50.0, 60.0))
    np.testing.assert_allclose(u2, u, atol=1e-9)
    np.testing.assert_allclose(v2, v, atol=1e-9)
    assert RigidTransform.from_dict(tr.to_dict()) == tr


# ----------------------------------------------------------------------------- simulator
def test_no_misalignment_pair(level_pairs: dict[str, FusionPair], srf: SpectralResponse) -> None:
    pair = level_pairs["none"]
    assert pair.msi.shape == (80, 80, 6) and pair.hsi.shape == (20, 20, 200)
    assert pair.msi.dtype == pair.hsi.dtype == pair.sri_m.dtype == pair.sri_h.dtype == np.float32
    np.testing.assert_array_equal(pair.sri_h, pair.sri_m)  # footprints coincide
    np.testing.assert_allclose(pair.msi, np.tensordot(pair.sri_m.astype(np.float64), srf.matrix, axes=(2, 1)),
                               atol=1e-6)
    np.testing.assert_array_equal(pair.hsi, degrade(pair.sri_h, 4, "gaussian"))
    assert pair.mask_m.all() and pair.mask_h.all()
    assert pair.meta["overlap"] == 1.0 and pair.meta["overlap_m"] == 1.0
    # The pair is centred: the MSI window's centre is within half a pixel of the scene centre (72, 72).
    centre = np.asarray(pair.meta["transform"]["msi_origin"]) + 39.5
    assert np.all(np.abs(centre - 72.0) <= 0.5)


def test_misalignment_levels_overlap(level_pairs: dict[str, FusionPair]) -> None:
    overlaps = {level: pair.meta["overlap"] for level, pair in level_pairs.items()}
    assert overlaps["none"] == 1.0
    assert 0.8 < overlaps["mild"] < 0.95
    assert 0.6 < overlaps["moderate"] < 0.8
    assert overlaps["severe"] == pytest.approx(0.5, abs=0.01)
    assert overlaps["none"] > overlaps["mild"] > overlaps["moderate"] > overlaps["severe"]
    for pair in level_pairs.values():
        assert pair.meta["overlap"] == pair.mask_h.mean()
        # Equal-size footprints: each sees the same fraction of the other.
        assert pair.meta["overlap_m"] == pytest.approx(pair.meta["overlap"], abs=0.02)
        for img in (pair.msi, pair.hsi, pair.sri_m, pair.sri_h):
            assert img.min() >= 0.0 and img.max() <= 1.0


def test_meta_keys(level_pairs: dict[str, FusionPair]) -> None:
    meta = level_pairs["moderate"].meta
    for key in ("transform", "overlap", "overlap_m", "noise", "srf_band_names", "seed"):
        assert key in meta
    assert meta["transform"]["angle_deg"] == 30.0
    assert meta["transform"]["shift_px"] == [0.0, 20.0]
    deg = level_pairs["moderate"].acquisition.degradation
    assert deg == Degradation("gaussian", 4, default_sigma(4), 10, 1.5)
    assert meta["srf_band_names"] == ["blue", "green", "red", "nir", "swir1", "swir2"]
    observed = level_pairs["moderate"].without_truth()
    assert observed.meta == {} and observed.acquisition.degradation == deg   # typed, truth-free metadata only


def test_rotation_90_is_exact(indian_pines: Scene, srf: SpectralResponse) -> None:
    pair = simulate_pair(indian_pines, srf, angle_deg=90.0)
    np.testing.assert_array_equal(pair.sri_h, np.rot90(pair.sri_m))
    assert pair.meta["overlap"] == 1.0


def test_shift_direction(indian_pines: Scene, srf: SpectralResponse) -> None:
    # HSI centre 20 px right of the MSI centre: HSI column v sees MSI column v + 20.
    pair = simulate_pair(indian_pines, srf, shift_frac=(0.0, 0.25))
    np.testing.assert_array_equal(pair.sri_h[:, :60], pair.sri_m[:, 20:])
    assert pair.mask_h[:, :60].all() and not pair.mask_h[:, 60:].any()
    hsi_to_msi = np.asarray(pair.meta["transform"]["hsi_to_msi"])
    np.testing.assert_allclose(hsi_to_msi @ [0, 0, 1], [0, 20, 1])


def test_masks_agree_with_transform(level_pairs: dict[str, FusionPair]) -> None:
    pair = level_pairs["moderate"]
    a = np.asarray(pair.meta["transform"]["hsi_to_msi"])
    u, v = np.nonzero(pair.mask_h)
    i = a[0, 0] * u + a[0, 1] * v + a[0, 2]
    j = a[1, 0] * u + a[1, 1] * v + a[1, 2]
    assert i.min() >= -0.5 and i.max() < 79.5 and j.min() >= -0.5 and j.max() < 79.5


def test_deterministic_and_jitter(indian_pines: Scene, srf: SpectralResponse) -> None:
    kw = dict(msi_shape=(40, 40), hsi_shape=(40, 40), angle_deg=10.0, angle_jitter_deg=5.0,
              shift_jitter_frac=0.05, snr_db_hsi=30.0, snr_db_msi=35.0)
    a = simulate_pair(indian_pines, srf, seed=1, **kw)
    b = simulate_pair(indian_pines, srf, seed=1, **kw)
    c = simulate_pair(indian_pines, srf, seed=2, **kw)
    for key in ("msi", "hsi", "sri_h", "mask_h"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.meta == b.meta
    assert a.meta["transform"]["angle_deg"] != c.meta["transform"]["angle_deg"]
    assert not np.array_equal(a.sri_h, c.sri_h)


def test_noise_recorded_and_clipped(indian_pines: Scene, srf: SpectralResponse) -> None:
    pair = simulate_pair(indian_pines, srf, msi_shape=(40, 40), hsi_shape=(40, 40), snr_db_hsi=20.0,
                         snr_db_msi=25.0)
    clean = degrade(pair.sri_h, 4)
    assert pair.meta["noise"]["sigma_hsi"] > 0 and pair.meta["noise"]["clip"] is True
    assert pair.hsi.min() >= 0.0 and pair.hsi.max() <= 1.0
    assert not np.array_equal(pair.hsi, clean)


def test_overflow_error(indian_pines: Scene, srf: SpectralResponse) -> None:
    # A footprint that does not fit in the scene: says by how much and what to reduce.
    with pytest.raises(ValueError, match=r"overflows the 145x145 scene by 24.3 px .* reduce msi_shape / hsi_shape"):
        simulate_pair(indian_pines, srf, msi_shape=(80, 80), hsi_shape=(120, 120), angle_deg=45.0)
    with pytest.raises(ValueError, match=r"MSI footprint 144x144 .* together span .*dataset.footprint"):
        simulate_pair(indian_pines, srf, msi_shape=(144, 144), hsi_shape=(40, 40), shift_frac=(0.0, 2.0))
    with pytest.raises(ValueError, match="MSI footprint 200x80"):
        simulate_pair(indian_pines, srf, msi_shape=(200, 80), hsi_shape=(40, 40))


def test_ratio_not_dividing_the_footprint(indian_pines: Scene, srf: SpectralResponse) -> None:
    with pytest.raises(ValueError, match=r"hsi_shape\[0\]=78 is not divisible by ratio=4; choose .* \(e.g. 76 or 80\)"):
        simulate_pair(indian_pines, srf, hsi_shape=(78, 80))
    with pytest.raises(ValueError, match=r"hsi_shape\[1\]=90 is not divisible by ratio=8"):
        simulate_pair(indian_pines, srf, ratio=8, hsi_shape=(80, 90))


def test_default_footprints_are_the_largest_that_fit_every_level(indian_pines: Scene, srf: SpectralResponse) -> None:
    """96 x 96 (the Indian Pines config) holds all four named levels inside the scene; 100 x 100 does not."""
    overlaps = {}
    for level, kw in MISALIGNMENT_LEVELS.items():
        pair = simulate_pair(indian_pines, srf, msi_shape=(96, 96), hsi_shape=(96, 96), **kw)
        overlaps[level] = pair.meta["overlap"]
        for key in ("msi_corners", "hsi_corners"):
            corners = np.asarray(pair.meta["transform"][key])
            assert corners.min() >= -0.5 - 1e-9 and corners.max() <= 144.5 + 1e-9, (level, key)
    assert overlaps["none"] == 1.0 and overlaps["severe"] == 0.5
    assert overlaps["none"] > overlaps["mild"] > overlaps["moderate"] > overlaps["severe"]
    with pytest.raises(ValueError, match="overflows the 145x145 scene"):
        simulate_pair(indian_pines, srf, msi_shape=(100, 100), hsi_shape=(100, 100), **MISALIGNMENT_LEVELS["severe"])


def test_severe_level_is_rot90_of_the_scene_crop_and_overlaps_partly(indian_pines: Scene,
                                                                     srf: SpectralResponse) -> None:
    pair = simulate_pair(indian_pines, srf, msi_shape=(96, 96), hsi_shape=(96, 96), **misalignment("severe"))
    tr = pair.meta["transform"]
    r0, c0 = (np.asarray(tr["hsi_corners"]).min(axis=0) + 0.5).astype(int)
    crop = indian_pines.cube[r0:r0 + 96, c0:c0 + 96]
    np.testing.assert_array_equal(pair.sri_h, np.rot90(crop))   # exact, whatever interp_order
    m0, n0 = tr["msi_origin"]
    np.testing.assert_array_equal(pair.sri_m, indian_pines.cube[m0:m0 + 96, n0:n0 + 96])
    assert (r0, c0 - n0) == (m0, 48)                              # 50% shift along columns
    assert pair.meta["overlap"] == 0.5 and pair.meta["overlap_m"] == 0.5
    assert 0.0 < pair.meta["overlap"] < 1.0


def test_noise_free_msi_and_hsi_follow_the_model_exactly(indian_pines: Scene, srf: SpectralResponse) -> None:
    """Noise-free: MSI == SRI_M x_3 P and HSI == degrade(SRI_H), bit for bit (float32)."""
    for kind in DEGRADATION_KINDS:
        pair = simulate_pair(indian_pines, srf, msi_shape=(96, 96), hsi_shape=(96, 96), degradation=kind,
                             **misalignment("moderate"))
        expected_msi = np.tensordot(pair.sri_m.astype(np.float64), pair.srf, axes=(2, 1)).astype(np.float32)
        np.testing.assert_array_equal(pair.msi, expected_msi)
        np.testing.assert_array_equal(pair.hsi, degrade(pair.sri_h, 4, kind))


def test_footprints_and_thumbnail_in_meta(level_pairs: dict[str, FusionPair]) -> None:
    pair = level_pairs["moderate"]
    tr = pair.meta["transform"]
    msi = np.asarray(tr["msi_corners"])
    origin = np.asarray(tr["msi_origin"])
    np.testing.assert_array_equal(msi, origin + np.array([[0, 0], [0, 80], [80, 80], [80, 0]]) - 0.5)
    hsi = np.asarray(tr["hsi_corners"])
    a = np.asarray(tr["hsi_to_scene"])
    np.testing.assert_allclose(hsi[0], (a @ [-0.5, -0.5, 1])[:2])
    side = np.linalg.norm(hsi[1] - hsi[0])
    assert side == pytest.approx(80.0)
    thumb = pair.meta["scene_thumbnail"]
    rgb = np.asarray(thumb["rgb"])
    assert rgb.shape == (49, 49, 3) and thumb["step"] == 3 and rgb.max() <= 255
    hidden = pair.without_truth().meta
    assert "scene_thumbnail" not in hidden and "transform" not in hidden


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("kind", DEGRADATION_KINDS)
def test_simulate_ratios_and_kinds(ratio: int, kind: str) -> None:
    scene = synthetic_scene(64, 64, wavelengths=np.linspace(400.0, 1000.0, 12), seed=3)
    p = make_srf("quickbird_box", scene.wavelengths)
    pair = simulate_pair(scene, p, ratio=ratio, msi_shape=(40, 40), hsi_shape=(24, 24), degradation=kind,
                         **misalignment("mild"))
    assert pair.hsi.shape == (24 // ratio, 24 // ratio, 12) and pair.ratio == ratio
    np.testing.assert_allclose(pair.hsi, degrade(pair.sri_h, ratio, kind), atol=1e-7)
    assert 0.0 < pair.meta["overlap"] <= 1.0


def test_scale_changes_footprint(indian_pines: Scene, srf: SpectralResponse) -> None:
    pair = simulate_pair(indian_pines, srf, msi_shape=(40, 40), hsi_shape=(40, 40), scale=1.5)
    # The HSI footprint is 1.5x larger than the MSI window, so only (1/1.5)^2 of it overlaps.
    assert pair.meta["overlap"] == pytest.approx(1 / 1.5**2, abs=0.03)
    assert pair.meta["overlap_m"] == 1.0
