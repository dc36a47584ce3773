"""Spectral response matrices: box bands, published curves, user matrices."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fresco.data.scenes import indian_pines_wavelengths, pavia_wavelengths
from fresco.data.sensors import (
    LANDSAT_BOX_EDGES,
    SpectralResponse,
    box_srf,
    curve_srf,
    make_srf,
    matrix_srf,
)


@pytest.fixture(scope="module")
def ip_wl() -> np.ndarray:
    return indian_pines_wavelengths()


def _centroids(srf: SpectralResponse, wl: np.ndarray) -> np.ndarray:
    return srf.matrix @ wl


def test_box_picks_bands_inside() -> None:
    wl = np.arange(400.0, 510.0, 10.0)
    srf = box_srf(wl, [[420, 440], [475, 505]], band_names=["a", "b"])
    np.testing.assert_allclose(srf.matrix[0], np.isin(wl, [420, 430, 440]) / 3.0)
    np.testing.assert_allclose(srf.matrix[1], np.isin(wl, [480, 490, 500]) / 3.0)
    assert srf.band_names == ["a", "b"] and srf.centres_nm.tolist() == [430.0, 490.0]


def test_box_drops_empty_with_warning() -> None:
    wl = np.arange(400.0, 510.0, 10.0)
    with pytest.warns(UserWarning, match="3000-3100nm"):
        srf = box_srf(wl, [[400, 450], [3000, 3100]])
    assert srf.shape == (1, wl.size) and srf.dropped == ["3000-3100nm"]
    with pytest.raises(ValueError, match="none of the boxes"):
        box_srf(wl, [[3000, 3100]])


@pytest.mark.parametrize("name", ["landsat_box", "quickbird_box", "sentinel2a", "sentinel2b", "landsat8_oli"])
def test_presets_rows_sum_to_one(name: str, ip_wl: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        srf = make_srf(name, ip_wl)
    assert srf.matrix.shape[1] == 200
    np.testing.assert_allclose(srf.matrix.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(srf.matrix >= 0)
    assert len(srf.band_names) == srf.matrix.shape[0] == srf.centres_nm.size


def test_landsat_box_on_indian_pines(ip_wl: np.ndarray) -> None:
    srf = make_srf("landsat_box", ip_wl)
    assert srf.matrix.shape == (6, 200) and not srf.dropped
    for row, (lo, hi) in zip(srf.matrix, LANDSAT_BOX_EDGES, strict=True):
        inside = (ip_wl >= lo) & (ip_wl <= hi)
        np.testing.assert_allclose(row[inside], 1.0 / inside.sum())
        assert np.all(row[~inside] == 0)


def test_sentinel2a_on_indian_pines(ip_wl: np.ndarray) -> None:
    # Band 10 (cirrus, 1375 nm) sits in the removed water-absorption gap; everything else is inside.
    with pytest.warns(UserWarning, match=r"dropped 1 MSI band.*10 \(centre 1373"):
        srf = make_srf("sentinel2a", ip_wl)
    assert srf.matrix.shape == (12, 200)
    assert srf.dropped == ["10"]
    assert srf.band_names == ["1", "2", "3", "4", "5", "6", "7", "8", "8A", "9", "11", "12"]
    # Each row's response-weighted centre matches the band's nominal centre.
    np.testing.assert_allclose(_centroids(srf, ip_wl), srf.centres_nm, atol=25.0)


def test_sentinel2a_gaussian_bands(ip_wl: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        srf = curve_srf(ip_wl, "Sentinel-2A", bands=["2", "3", "4", "8"], fwhm=10.0)
    assert srf.band_names == ["2", "3", "4", "8"]
    np.testing.assert_allclose(srf.matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(_centroids(srf, ip_wl), srf.centres_nm, atol=15.0)


def test_curves_are_integrated_over_hsi_bands_by_default(ip_wl: np.ndarray) -> None:
    """Default fwhm='auto' integrates each curve over Gaussian HSI bands (FWHM = median spacing,
    about 10 nm here); point sampling (fwhm=None) keeps fewer HSI bands per narrow MSI band. Both
    modes drop the same bands."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        integrated = curve_srf(ip_wl, "Sentinel-2A")
        sampled = curve_srf(ip_wl, "Sentinel-2A", fwhm=None)
        explicit = curve_srf(ip_wl, "Sentinel-2A", fwhm=float(np.median(np.diff(np.sort(ip_wl)))))
    assert integrated.dropped == sampled.dropped == ["10"]
    np.testing.assert_allclose(integrated.matrix, explicit.matrix)
    narrow = integrated.band_names.index("4")
    assert (integrated.matrix[narrow] > 1e-3).sum() > (sampled.matrix[narrow] > 1e-3).sum()
    with pytest.raises(ValueError, match="fwhm must be 'auto'"):
        curve_srf(ip_wl, "Sentinel-2A", fwhm="wide")


def test_sentinel2a_on_pavia_drops_beyond_range() -> None:
    with pytest.warns(UserWarning, match=r"Sentinel-2A: dropped 5 MSI band\(s\) the HSI \(430.0-858.4 nm, 103 bands\) "
                      r"cannot see: 8A \(centre 865 nm outside the HSI range\)"):
        srf = make_srf("sentinel2a", pavia_wavelengths())
    assert srf.dropped == ["8A", "9", "10", "11", "12"]
    assert srf.band_names == ["1", "2", "3", "4", "5", "6", "7", "8"]


def test_curve_unknown_band(ip_wl: np.ndarray) -> None:
    with pytest.raises(ValueError, match="unknown band"):
        curve_srf(ip_wl, "Sentinel-2A", bands=["13"])
    with pytest.raises(ValueError, match="unknown curve sensor"):
        curve_srf(ip_wl, "WorldView-3")


def test_matrix_srf() -> None:
    srf = matrix_srf([[1.0, 1.0, 0.0], [0.0, 2.0, 6.0]], wavelengths=[400.0, 500.0, 600.0])
    np.testing.assert_allclose(srf.matrix, [[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]])
    np.testing.assert_allclose(srf.centres_nm, [450.0, 575.0])
    with pytest.raises(ValueError, match="negative entries"):
        matrix_srf([[1.0, -0.1, 0.0]])
    with pytest.raises(ValueError, match="transposed"):
        matrix_srf(np.ones((5, 2)))
    with pytest.raises(ValueError, match="all-zero rows"):
        matrix_srf([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])


def test_make_srf_unknown() -> None:
    with pytest.raises(ValueError, match="unknown SRF preset"):
        make_srf("ikonos_box", np.arange(400.0, 900.0, 10.0))


def test_spectral_response_validates() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        SpectralResponse(np.array([[0.5, 0.2]]), ["a"], np.array([450.0]))


# ----------------------------------------------------------------------------- IKONOS, ALI, matrix files
SHARED_DATA = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "data"
IKONOS_TABLE = SHARED_DATA / "srf" / "ikonos" / "ikonos_spec_resp.mat"
needs_ikonos = pytest.mark.skipif(not IKONOS_TABLE.is_file(),
                                  reason=f"shared test data not present ({IKONOS_TABLE}); it lives outside the "
                                  "repository and is only available in the project's CI workplace")


@needs_ikonos
def test_ikonos_curves_integrated_over_hsi_bands(ip_wl: np.ndarray) -> None:
    srf = make_srf("ikonos", ip_wl, path=IKONOS_TABLE)
    assert srf.band_names == ["blue", "green", "red", "nir"] and srf.shape == (4, ip_wl.size)
    np.testing.assert_allclose(srf.matrix.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(srf.centres_nm, [496, 559, 666, 792], atol=3)
    # Responses beyond the table (> 1035 nm) are zero: no SWIR band gets weight.
    assert srf.matrix[:, ip_wl > 1100].sum() < 1e-12
    assert make_srf("ikonos", ip_wl, path=IKONOS_TABLE, bands=["pan"]).shape == (1, ip_wl.size)


@needs_ikonos
def test_ikonos_bands_outside_the_hsi_range_are_dropped_with_a_warning() -> None:
    wl = np.linspace(420.0, 700.0, 40)   # a VNIR-only HSI cannot see IKONOS NIR (~790 nm)
    with pytest.warns(UserWarning, match=r"IKONOS: dropped 1 MSI band.*nir \(centre 792 nm outside the HSI range\)"):
        srf = make_srf("ikonos", wl, path=IKONOS_TABLE)
    assert srf.band_names == ["blue", "green", "red"] and srf.dropped == ["nir"]


def test_ikonos_missing_table_says_where_to_get_it(tmp_path, ip_wl: np.ndarray) -> None:
    with pytest.raises(FileNotFoundError, match=r"(?s)IKONOS spectral response table not found.*HySure.*srf.path="):
        make_srf("ikonos", ip_wl, path=tmp_path / "ikonos_spec_resp.mat")


def test_ikonos_table_with_wrong_columns(tmp_path, ip_wl: np.ndarray) -> None:
    table = tmp_path / "ikonos.csv"
    np.savetxt(table, np.column_stack([np.arange(400, 1000, 5.0), np.ones((120, 3))]), delimiter=",")
    with pytest.raises(ValueError, match="has 4 columns; expected 6: wavelength_nm, pan, blue, green, red, nir"):
        make_srf("ikonos", ip_wl, path=table)


def test_ali_box_on_indian_pines(ip_wl: np.ndarray) -> None:
    srf = make_srf("ali_box", ip_wl)
    assert srf.shape == (9, 200) and srf.band_names[0] == "MS-1p"


def test_matrix_srf_from_files(tmp_path, ip_wl: np.ndarray) -> None:
    import scipy.io

    p = make_srf("landsat_box", ip_wl).matrix * 3.0
    scipy.io.savemat(tmp_path / "R.mat", {"R": p})
    np.savetxt(tmp_path / "P.csv", p, delimiter=",")
    for name in ("R.mat", "P.csv"):
        srf = make_srf("matrix", ip_wl, path=tmp_path / name)
        np.testing.assert_allclose(srf.matrix, p / 3.0, atol=1e-12)
    with pytest.raises(ValueError, match="did you pass P transposed"):
        make_srf("matrix", ip_wl, matrix=p.T)
    with pytest.raises(ValueError, match=r"has 200 HSI columns but the HSI has 100 bands"):
        make_srf("matrix", ip_wl[:100], path=tmp_path / "R.mat")
    with pytest.raises(FileNotFoundError, match=r"SRF matrix file .* not found"):
        make_srf("matrix", ip_wl, path=tmp_path / "nope.mat")


def test_every_srf_config_instantiates(ip_wl: np.ndarray) -> None:
    """Each conf/srf/*.yaml builds P on Indian Pines (ikonos with the shared table, matrix with a file)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from fresco.configs import config_dir

    for path in sorted((config_dir() / "srf").glob("*.yaml")):
        cfg = OmegaConf.load(path)
        if cfg.name == "ikonos":
            if not IKONOS_TABLE.is_file():
                continue
            cfg.path = str(IKONOS_TABLE)
        if cfg.name == "matrix":
            cfg.path = None
            cfg.matrix = np.full((2, ip_wl.size), 0.5).tolist()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            srf = instantiate(cfg, wavelengths=ip_wl, _convert_="all")
        assert srf.shape[1] == ip_wl.size, path.name
        np.testing.assert_allclose(srf.matrix.sum(axis=1), 1.0, atol=1e-9)
