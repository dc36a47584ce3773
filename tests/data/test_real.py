"""Real HSI + MSI pairs: two rasters (ENVI + GeoTIFF), the Paris Hyperion + ALI pair, and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from fresco.data.pair import FusionPair
from fresco.data.real import (
    PARIS_FILE,
    hyperion_wavelengths,
    load_paris_hyperion_ali,
    load_real_pair,
)
from fresco.data.sensors import make_srf
from fresco.data.simulate import degrade
from fresco.data.synthetic import synthetic_scene

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PARIS_DIR = SHARED_DATA / "paris_hyperion_ali"
needs_paris = pytest.mark.skipif(not (PARIS_DIR / PARIS_FILE).is_file(),
                                 reason=f"shared test data not present ({PARIS_DIR}); it lives outside the "
                                 "repository and is only available in the project's CI workplace")

HSI_PIXEL_M = 30.0
MSI_PIXEL_M = 10.0


# ----------------------------------------------------------------------------- two rasters
def _write_envi(path: Path, cube: np.ndarray, wavelengths: np.ndarray, pixel_m: float) -> Path:
    import spectral.io.envi as envi

    meta = {"wavelength": [f"{w:.3f}" for w in wavelengths], "wavelength units": "Nanometers",
            "map info": ["UTM", "1", "1", "500000", "4000000", f"{pixel_m}", f"{pixel_m}", "31", "North", "WGS-84"]}
    envi.save_image(str(path), cube, metadata=meta, force=True, ext=".img")
    return path


def _write_geotiff(path: Path, cube: np.ndarray, pixel_m: float, nodata: float | None = None) -> Path:
    import tifffile

    extratags = [(33550, "d", 3, (pixel_m, pixel_m, 0.0), False)]   # ModelPixelScaleTag
    if nodata is not None:
        extratags.append((42113, "s", 0, f"{nodata:g}", False))      # GDAL_NODATA
    # Bands first (planar), as GDAL writes multi-band GeoTIFFs.
    tifffile.imwrite(path, np.moveaxis(cube, 2, 0), planarconfig="separate", photometric="minisblack",
                     extratags=extratags)
    return path


@pytest.fixture(scope="module")
def rasters(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An HSI (ENVI, 30 m, 16 x 16 x 40) and an MSI (GeoTIFF, 10 m, 48 x 48 x 4) of one synthetic scene."""
    folder = tmp_path_factory.mktemp("real")
    scene = synthetic_scene(48, 48, n_bands=40, wavelengths=np.linspace(420.0, 980.0, 40), seed=2)
    srf = make_srf("quickbird_box", scene.wavelengths)
    raw_hsi = degrade(scene.cube, 3, "average") * 1000.0          # reflectance x 1000, as many products store it
    raw_msi = np.tensordot(scene.cube.astype(np.float64), srf.matrix, axes=(2, 1)) * 1000.0
    return {"hsi": _write_envi(folder / "hsi.hdr", raw_hsi.astype(np.float32), scene.wavelengths, HSI_PIXEL_M),
            "msi": _write_geotiff(folder / "msi.tif", raw_msi.astype(np.float32), MSI_PIXEL_M),
            "raw_hsi": raw_hsi, "raw_msi": raw_msi, "srf": srf, "wavelengths": scene.wavelengths, "folder": folder}


def test_envi_hsi_and_geotiff_msi(rasters: dict) -> None:
    pair = load_real_pair(rasters["hsi"], rasters["msi"], msi_sensor="quickbird_box")
    assert isinstance(pair, FusionPair) and not pair.has_truth
    assert pair.ratio == 3 and pair.meta["ratio_from"] == "files"   # 30 m / 10 m from the files' pixel sizes
    assert pair.hsi.shape == (16, 16, 40) and pair.msi.shape == (48, 48, 4)
    np.testing.assert_allclose(pair.wavelengths, rasters["wavelengths"], atol=1e-3)
    np.testing.assert_allclose(pair.srf, rasters["srf"].matrix, atol=1e-12)
    # joint_max: one divisor for both images, so MSI ~ SRI x P survives the normalisation.
    scale = pair.meta["normalisation"]["hsi_scale"]
    assert scale == pair.meta["normalisation"]["msi_scale"] == pytest.approx(max(rasters["raw_hsi"].max(),
                                                                                 rasters["raw_msi"].max()))
    np.testing.assert_allclose(pair.msi, rasters["raw_msi"] / scale, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pair.hsi, rasters["raw_hsi"] / scale, rtol=1e-5, atol=1e-6)
    assert pair.meta["real"] is True and pair.meta["msi_sensor"] == "quickbird_box"


def test_real_pair_round_trips_through_the_authors_layout(rasters: dict, tmp_path: Path) -> None:
    from fresco.data.io import load_pair_mat, save_pair_mat

    pair = load_real_pair(rasters["hsi"], rasters["msi"], msi_sensor="quickbird_box")
    save_pair_mat(pair, tmp_path / "real.mat")
    back = load_pair_mat(tmp_path / "real.mat")
    assert back.sri_m is None and back.sri_h is None and back.ratio == 3
    np.testing.assert_array_equal(back.msi, pair.msi)
    np.testing.assert_array_equal(back.hsi, pair.hsi)


def test_mat_rasters_with_keys_axis_order_and_srf_file(rasters: dict, tmp_path: Path) -> None:
    hsi = np.moveaxis(rasters["raw_hsi"], 2, 0)                       # bands first
    scipy.io.savemat(tmp_path / "pair.mat", {"H": hsi, "M": rasters["raw_msi"]})
    np.save(tmp_path / "P.npy", rasters["srf"].matrix)
    np.savetxt(tmp_path / "wl.txt", rasters["wavelengths"])
    pair = load_real_pair(tmp_path / "pair.mat", tmp_path / "pair.mat", srf_path=tmp_path / "P.npy",
                          hsi_wavelengths=tmp_path / "wl.txt", hsi_key="H", msi_key="M", hsi_axes="KHW")
    assert pair.ratio == 3 and pair.meta["ratio_from"] == "files"    # from the shapes (same footprint)
    assert pair.hsi.shape == (16, 16, 40)


def test_msi_bands_the_hsi_cannot_see_are_dropped_from_raster_and_srf(rasters: dict, tmp_path: Path) -> None:
    # landsat_box has 6 bands; a 420-980 nm HSI sees blue, green, red and NIR only.
    six = np.concatenate([rasters["raw_msi"], rasters["raw_msi"][..., :2]], axis=2)
    msi = _write_geotiff(tmp_path / "msi6.tif", six.astype(np.float32), MSI_PIXEL_M)
    with pytest.warns(UserWarning, match=r"dropped 2 MSI band"), pytest.warns(UserWarning, match="MSI raster bands"):
        pair = load_real_pair(rasters["hsi"], msi, msi_sensor="landsat_box")
    assert pair.msi.shape[2] == 4 and pair.meta["srf_dropped"] == ["swir1", "swir2"]
    np.testing.assert_allclose(pair.msi[..., 3] * pair.meta["normalisation"]["msi_scale"], six[..., 3], rtol=1e-5)


# ----------------------------------------------------------------------------- errors
def test_missing_raster_says_what_and_where(rasters: dict, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"(?s)MSI raster nope.tif not found.*dataset.loader.msi_path="):
        load_real_pair(rasters["hsi"], tmp_path / "nope.tif", msi_sensor="quickbird_box")


def test_wrong_key_lists_the_variables(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "h.mat", {"cube": np.ones((4, 4, 5))})
    with pytest.raises(ValueError, match=r"no variable named 'HSI'; the file holds 'cube' \(4, 4, 5\)"):
        load_real_pair(tmp_path / "h.mat", tmp_path / "h.mat", msi_sensor="quickbird_box", hsi_key="HSI")


def test_nan_rejected(tmp_path: Path, rasters: dict) -> None:
    cube = np.ones((4, 4, 40))
    cube[1, 2, 3] = np.nan
    np.save(tmp_path / "h.npy", cube)
    with pytest.raises(ValueError, match=r"1 NaN/Inf value\(s\) \(in band\(s\) \[3\]\); clean or inpaint"):
        load_real_pair(tmp_path / "h.npy", rasters["msi"], msi_sensor="quickbird_box",
                       hsi_wavelengths=rasters["wavelengths"], ratio=3)


def test_2d_hsi_rejected(tmp_path: Path, rasters: dict) -> None:
    np.save(tmp_path / "h.npy", np.ones((16, 16)))
    with pytest.raises(ValueError, match=r"expected a 3-D cube \(rows, cols, bands\); got an array of rank 2"):
        load_real_pair(tmp_path / "h.npy", rasters["msi"], msi_sensor="quickbird_box", ratio=3)


def test_wavelength_count_mismatch(rasters: dict) -> None:
    with pytest.raises(ValueError, match=r"got 39 wavelengths for a cube with 40 bands; pass one centre"):
        load_real_pair(rasters["hsi"], rasters["msi"], msi_sensor="quickbird_box",
                       hsi_wavelengths=rasters["wavelengths"][:39])


def test_msi_band_count_not_matching_the_sensor(rasters: dict, tmp_path: Path) -> None:
    msi = _write_geotiff(tmp_path / "msi2.tif", rasters["raw_msi"][..., :2].astype(np.float32), MSI_PIXEL_M)
    with pytest.raises(ValueError, match=r"MSI has 2 bands but the quickbird_box SRF has 4 bands.*srf_options.bands"):
        load_real_pair(rasters["hsi"], msi, msi_sensor="quickbird_box")


def test_ratio_not_inferable(rasters: dict, tmp_path: Path) -> None:
    np.save(tmp_path / "m.npy", rasters["raw_msi"][:40, :40])
    with pytest.raises(ValueError, match=r"cannot infer the spatial ratio.*pass ratio="):
        load_real_pair(rasters["hsi"], tmp_path / "m.npy", msi_sensor="quickbird_box")


def test_nodata_pixels_rejected(rasters: dict, tmp_path: Path) -> None:
    raw = rasters["raw_msi"].astype(np.float32).copy()
    raw[0, 0] = -9999.0
    msi = _write_geotiff(tmp_path / "msi_nodata.tif", raw, MSI_PIXEL_M, nodata=-9999.0)
    with pytest.raises(ValueError, match=r"1 pixel\(s\) hold the nodata value -9999; crop both rasters"):
        load_real_pair(rasters["hsi"], msi, msi_sensor="quickbird_box")


def test_sensor_or_matrix_exactly_one(rasters: dict) -> None:
    with pytest.raises(ValueError, match="name the MSI sensor .* or give its SRF matrix file"):
        load_real_pair(rasters["hsi"], rasters["msi"])


# ----------------------------------------------------------------------------- Hyperion + ALI (Paris)
def test_hyperion_wavelengths() -> None:
    wl = hyperion_wavelengths([8, 57, 77, 224])
    np.testing.assert_allclose(wl, [426.82, 426.82 + 49 * 10.175, 912.45, 912.45 + 147 * 10.09])
    with pytest.raises(ValueError, match=r"Hyperion bands \[60\] are outside the calibrated ranges"):
        hyperion_wavelengths([8, 60])


@needs_paris
@pytest.mark.parametrize("srf", ["estimated", "ali_box"])
def test_paris_hyperion_ali_loads(srf: str) -> None:
    pair = load_paris_hyperion_ali(PARIS_DIR, srf=srf, ratio=4)
    assert pair.msi.shape == (72, 72, 9) and pair.hsi.shape == (18, 18, 128) and pair.srf.shape == (9, 128)
    assert pair.sri_h.shape == pair.sri_m.shape == (72, 72, 128)
    np.testing.assert_array_equal(pair.hsi, degrade(pair.sri_h, 4, "gaussian"))   # the documented degradation
    raw = scipy.io.loadmat(PARIS_DIR / PARIS_FILE)
    scale = pair.meta["normalisation"]["msi_scale"]
    np.testing.assert_allclose(pair.msi, raw["MSim"] / scale, rtol=1e-6)           # the real ALI image
    np.testing.assert_allclose(pair.wavelengths, hyperion_wavelengths(raw["non_del_bands"].ravel()))
    assert 420 < pair.wavelengths.min() < 430 and 2340 < pair.wavelengths.max() < 2350
    assert pair.meta["overlap"] == 1.0 and pair.meta["real"] is True
    if srf == "estimated":
        r = scipy.io.loadmat(PARIS_DIR / "R_HysureParis.mat")["R"]
        np.testing.assert_allclose(pair.srf, r / r.sum(axis=1, keepdims=True))


def test_paris_missing_file_says_where(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError,
                       match=r"(?s)Paris Hyperion \+ ALI pair \(paris_data_hs_ms.mat\) not found.*alfaiate/HySure"):
        load_paris_hyperion_ali(tmp_path)


def test_paris_checksum_mismatch(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / PARIS_FILE, {"HSim": np.ones((8, 8, 4))})
    with pytest.raises(ValueError, match="sha256 checksum mismatch"):
        load_paris_hyperion_ali(tmp_path)


# ----------------------------------------------------------------------------- through the pipeline
def test_real_pair_dataset_runs_without_scores(compose_cfg, rasters: dict) -> None:
    from fresco import results
    from fresco.pipeline import run_experiment

    cfg = compose_cfg("dataset=real_pair", f"dataset.loader.hsi_path={rasters['hsi']}",
                      f"dataset.loader.msi_path={rasters['msi']}", "dataset.loader.msi_sensor=quickbird_box",
                      "logger=none", "metrics.perceptual.enabled=false")
    assert cfg.run_name == "real_pair_bicubic_s0"
    metrics = run_experiment(cfg)
    assert metrics["h_sri.psnr"] is None and metrics["m_sri.psnr"] is None
    est = results.load_estimates(cfg.paths.output_dir)
    assert est["h_sri"].shape == (48, 48, 40) and est["m_sri"].shape == (48, 48, 40)


@needs_paris
def test_paris_dataset_runs_and_scores(compose_cfg) -> None:
    from fresco.pipeline import run_experiment

    cfg = compose_cfg("dataset=paris_hyperion_ali", f"dataset.loader.path={PARIS_DIR / PARIS_FILE}",
                      "degradation.ratio=3", "logger=none", "metrics.perceptual.enabled=false", "save.figure=false")
    metrics = run_experiment(cfg)
    assert metrics["h_sri.psnr"] > 20 and metrics["pair.overlap"] == 1.0
