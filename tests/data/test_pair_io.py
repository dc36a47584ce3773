"""FusionPair .mat (authors' layout) and .npz round trips, inference and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from fresco.data.io import load_pair, load_pair_mat, load_pair_npz, save_pair, save_pair_mat, save_pair_npz
from fresco.data.pair import FusionPair
from fresco.data.sensors import make_srf
from fresco.data.simulate import simulate_pair
from fresco.data.synthetic import synthetic_scene

ARRAY_FIELDS = ("msi", "hsi", "srf", "wavelengths", "sri_m", "sri_h", "mask_m", "mask_h")


@pytest.fixture(scope="module")
def pair() -> FusionPair:
    scene = synthetic_scene(48, 48, n_bands=20, seed=0)
    srf = make_srf("quickbird_box", scene.wavelengths)
    return simulate_pair(scene, srf, msi_shape=(24, 24), hsi_shape=(24, 24), angle_deg=25.0,
                         shift_frac=(0.1, 0.2), snr_db_hsi=30.0, snr_db_msi=30.0, seed=4)


def _assert_same(a: FusionPair, b: FusionPair) -> None:
    for key in ARRAY_FIELDS:
        x, y = getattr(a, key), getattr(b, key)
        assert (x is None) == (y is None), key
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=key)
            assert x.dtype == y.dtype or key == "srf", key
    assert a.ratio == b.ratio and a.rgb_bands == b.rgb_bands and a.name == b.name
    assert b.meta == json.loads(json.dumps(a.meta))  # JSON turns tuples into lists


@pytest.mark.parametrize("suffix", [".mat", ".npz"])
def test_round_trip(pair: FusionPair, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"pair{suffix}"
    save_pair(pair, path)
    _assert_same(pair, load_pair(path))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left


def test_mat_uses_authors_keys(pair: FusionPair, tmp_path: Path) -> None:
    save_pair_mat(pair, tmp_path / "p.mat")
    data = scipy.io.loadmat(tmp_path / "p.mat")
    assert data["MSI"].shape == pair.msi.shape and data["HSI"].shape == pair.hsi.shape
    assert data["Q"].shape == pair.srf.shape
    assert data["SRI_M"].shape == pair.sri_m.shape and data["SRI_H"].shape == pair.sri_h.shape


def test_mat_without_extras_infers_ratio(pair: FusionPair, tmp_path: Path) -> None:
    path = tmp_path / "authors.mat"
    scipy.io.savemat(path, {"MSI": pair.msi.astype(np.float64), "HSI": pair.hsi.astype(np.float64),
                            "Q": pair.srf, "SRI_M": pair.sri_m, "SRI_H": pair.sri_h})
    loaded = load_pair_mat(path)
    assert loaded.ratio == 4 and loaded.name == "authors" and loaded.meta == {}
    np.testing.assert_array_equal(loaded.hsi, pair.hsi)
    # Without SRI_H the ratio comes from MSI / HSI (equal-size footprints), or from the argument.
    scipy.io.savemat(path, {"MSI": pair.msi, "HSI": pair.hsi, "P": pair.srf})
    assert load_pair_mat(path).ratio == 4
    assert load_pair_mat(path, ratio=2).ratio == 2


def test_mat_ratio_not_inferable(pair: FusionPair, tmp_path: Path) -> None:
    path = tmp_path / "odd.mat"
    scipy.io.savemat(path, {"MSI": pair.msi[:23], "HSI": pair.hsi, "Q": pair.srf})
    with pytest.raises(ValueError, match="pass ratio="):
        load_pair_mat(path)


def test_mat_missing_key_lists_contents(pair: FusionPair, tmp_path: Path) -> None:
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {"MSI": pair.msi, "HSI": pair.hsi, "other": np.zeros(3)})
    with pytest.raises(ValueError) as err:
        load_pair_mat(path)
    msg = str(err.value)
    assert "['Q']" in msg and "'MSI'" in msg and "'other'" in msg


def test_npz_missing_key(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", msi=np.zeros((2, 2, 1)))
    with pytest.raises(ValueError, match="missing required key"):
        load_pair_npz(tmp_path / "bad.npz")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.mat"):
        load_pair_mat(tmp_path / "nothere.mat")
    with pytest.raises(ValueError, match="unknown pair format"):
        load_pair(tmp_path / "pair.h5")


def test_failed_write_leaves_nothing(pair: FusionPair, tmp_path: Path) -> None:
    import dataclasses

    bad = dataclasses.replace(pair, meta={"callback": print})
    with pytest.raises(TypeError, match="cannot be saved as JSON"):
        save_pair_npz(bad, tmp_path / "p.npz")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_is_atomic_replace(pair: FusionPair, tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    save_pair_npz(pair, path)
    save_pair_npz(pair.without_truth(), path)
    loaded = load_pair_npz(path)
    assert loaded.sri_m is None and loaded.mask_h is None


def test_save_pair_and_load_pair_pick_the_format_by_suffix(pair: FusionPair, tmp_path: Path) -> None:
    for name in ("p.mat", "p.npz"):
        save_pair(pair, tmp_path / name)
        loaded = load_pair(tmp_path / name)
        np.testing.assert_array_equal(loaded.sri_h, pair.sri_h)


def test_display_bands_fall_back_to_wavelengths_then_spread() -> None:
    rng = np.random.default_rng(0)
    base = dict(msi=rng.random((8, 8, 2)).astype(np.float32), hsi=rng.random((2, 2, 5)).astype(np.float32),
                srf=np.full((2, 5), 0.2), ratio=4)
    assert FusionPair(**base, rgb_bands=(4, 2, 0)).display_bands() == (4, 2, 0)
    wl = np.array([450.0, 500.0, 550.0, 600.0, 650.0])
    assert FusionPair(**base, wavelengths=wl).display_bands() == (4, 2, 0)
    assert FusionPair(**base).display_bands() == (3, 2, 1)


def test_pair_rejects_unnormalised_truth_and_raw_observations_but_not_a_little_noise():
    import warnings

    rng = np.random.default_rng(0)
    srf = np.full((2, 5), 0.2)
    msi, hsi = rng.random((8, 8, 2)).astype(np.float32), rng.random((2, 2, 5)).astype(np.float32)
    with pytest.raises(ValueError, match="sri_h"):
        FusionPair(msi=msi, hsi=hsi, srf=srf, ratio=4, sri_h=np.full((8, 8, 5), 900.0, np.float32))
    with pytest.raises(ValueError, match=r"FusionPair.msi ranges over .* far outside \[0, 1\]: raw counts"):
        FusionPair(msi=msi * 1000, hsi=hsi, srf=srf, ratio=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FusionPair(msi=msi, hsi=hsi, srf=srf, ratio=4)
        FusionPair(msi=msi - 0.05, hsi=hsi + 0.05, srf=srf, ratio=4)   # noise around the range is fine


@pytest.mark.parametrize("change, message", [
    ({"srf": np.full((2, 5), 20.0)}, r"srf rows must sum to about 1 .* P / P.sum\(axis=1, keepdims=True\)"),
    ({"srf": np.vstack([np.full(5, 0.2), np.zeros(5)])}, r"srf rows \[1\] are all zero"),
    ({"srf": np.full((2, 5), -0.2)}, "srf has negative entries"),
    ({"srf": np.full((2, 5), np.nan)}, "srf contains NaN"),
    ({"ratio": 1}, "nothing to super-resolve"),
    ({"ratio": 2.5}, "integer >= 2"),
    ({"msi": np.zeros((8, 8, 2), np.float32)}, "FusionPair.msi is constant"),
    ({"msi": np.ones((8, 8, 2), bool)}, "real-valued numeric array; got dtype bool"),
])
def test_pair_rejects_inputs_that_would_give_silent_wrong_results(change, message):
    rng = np.random.default_rng(0)
    base = dict(msi=rng.random((8, 8, 2)).astype(np.float32), hsi=rng.random((2, 2, 5)).astype(np.float32),
                srf=np.full((2, 5), 0.2), ratio=4)
    if change.get("ratio") == 1:
        base["hsi"] = rng.random((8, 8, 5)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        FusionPair(**{**base, **change})


def test_authors_layout_reads_back_identically(pair: FusionPair, tmp_path: Path) -> None:
    """A file with only the authors' keys, read and written again, keeps every array bit for bit."""
    original = {"MSI": pair.msi, "HSI": pair.hsi, "Q": pair.srf, "SRI_M": pair.sri_m, "SRI_H": pair.sri_h}
    scipy.io.savemat(tmp_path / "authors.mat", original)
    loaded = load_pair_mat(tmp_path / "authors.mat")
    save_pair_mat(loaded, tmp_path / "again.mat")
    again = scipy.io.loadmat(tmp_path / "again.mat")
    for key, value in original.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)
        assert again[key].dtype == value.dtype, key
    # and the pair read back from our own file equals the first one
    _assert_same(loaded, load_pair_mat(tmp_path / "again.mat"))


def test_authors_layout_pair_follows_the_model_exactly(tmp_path: Path) -> None:
    """Written and read back: noise-free MSI == SRI_M x_3 Q and HSI == degrade(SRI_H), exactly."""
    from fresco.data.simulate import degrade

    scene = synthetic_scene(64, 64, n_bands=20, seed=1)
    clean = simulate_pair(scene, make_srf("quickbird_box", scene.wavelengths), msi_shape=(32, 32),
                          hsi_shape=(32, 32), angle_deg=90.0, shift_frac=(0.0, 0.5), degradation="average")
    save_pair_mat(clean, tmp_path / "p.mat")
    back = load_pair_mat(tmp_path / "p.mat")
    expected = np.tensordot(back.sri_m.astype(np.float64), back.srf, axes=(2, 1)).astype(np.float32)
    np.testing.assert_array_equal(back.msi, expected)
    np.testing.assert_array_equal(back.hsi, degrade(back.sri_h, 4, "average"))
    assert back.meta["overlap"] == 0.5 and back.meta["transform"]["angle_deg"] == 90.0


def test_mat_with_nan_or_wrong_rank_rejected(pair: FusionPair, tmp_path: Path) -> None:
    hsi = pair.hsi.copy()
    hsi[0, 0, 0] = np.nan
    scipy.io.savemat(tmp_path / "nan.mat", {"MSI": pair.msi, "HSI": hsi, "Q": pair.srf})
    with pytest.raises(ValueError, match=r"FusionPair.hsi contains 1 NaN or Inf values; clean, fill or crop"):
        load_pair_mat(tmp_path / "nan.mat")
    scipy.io.savemat(tmp_path / "rank.mat", {"MSI": pair.msi[None], "HSI": pair.hsi, "Q": pair.srf})
    with pytest.raises(ValueError, match=r"'MSI' must be a 3-D array \(rows, cols, bands\); got shape \(1, 24, 24, 4"):
        load_pair_mat(tmp_path / "rank.mat")
    with pytest.raises(FileNotFoundError, match=r"check the path \(config `dataset.path`\)"):
        load_pair_mat(tmp_path / "nothere.mat")


def test_pair_file_dataset_reads_the_authors_layout_without_truth(compose_cfg, pair: FusionPair,
                                                                  tmp_path: Path) -> None:
    """`fresco dataset=pair_file dataset.path=PAIR.mat`: ratio from the shapes, estimates but no scores."""
    from fresco import results
    from fresco.pipeline import build_pair, run_experiment

    scipy.io.savemat(tmp_path / "PAIR.mat", {"MSI": pair.msi, "HSI": pair.hsi, "Q": pair.srf})
    cfg = compose_cfg("dataset=pair_file", f"dataset.path={tmp_path / 'PAIR.mat'}", "logger=none",
                      "metrics.perceptual.enabled=false", "save.figure=false")
    assert cfg.run_name == "pair_file_bicubic_s0"      # no misalignment name: the file fixes the pair
    metrics = run_experiment(cfg)
    assert metrics["h_sri.psnr"] is None and metrics["m_sri.psnr"] is None
    est = results.load_estimates(cfg.paths.output_dir)
    assert est["h_sri"].shape == pair.h_sri_shape and est["m_sri"].shape == pair.m_sri_shape
    with pytest.raises(ValueError, match=r"dataset=pair_file needs the pair file: add dataset.path="):
        build_pair(compose_cfg("dataset=pair_file"))
