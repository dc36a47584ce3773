"""Scene loaders: real data (Indian Pines from tensorly, the Pavia crop) and their error messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from fresco.data.scenes import (
    INDIAN_PINES_RGB,
    INDIAN_PINES_SHA256,
    PAVIA_RGB,
    TERRAIN_RGB,
    Scene,
    load_cube,
    load_indian_pines,
    load_pavia_university,
    load_terrain,
    normalise_cube,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PAVIA_DIR = SHARED_DATA / "pavia_university"
needs_pavia = pytest.mark.skipif(not (PAVIA_DIR / "paviaU_subimg.mat").is_file(),
                                 reason=f"shared test data not present ({PAVIA_DIR}); it lives outside "
                                 "the repository and is only available in the project's CI workplace")


@pytest.fixture(scope="module")
def indian_pines() -> Scene:
    return load_indian_pines()


# ----------------------------------------------------------------------------- Indian Pines
def test_indian_pines_cube(indian_pines: Scene) -> None:
    assert indian_pines.cube.shape == (145, 145, 200)
    assert indian_pines.cube.dtype == np.float32
    assert indian_pines.cube.min() >= 0.0 and indian_pines.cube.max() == pytest.approx(1.0)
    assert indian_pines.rgb_bands == INDIAN_PINES_RGB
    assert indian_pines.meta["sha256"] == INDIAN_PINES_SHA256
    assert indian_pines.meta["normalisation"]["scale"] == 9604.0  # raw uint16 maximum


def test_indian_pines_wavelengths(indian_pines: Scene) -> None:
    wl = indian_pines.wavelengths
    assert wl.shape == (200,) and wl.dtype == np.float64
    assert 399.0 < wl[0] < 401.0 and 2480.0 < wl.max() < 2500.0
    # Monotonic within each AVIRIS spectrometer: only the spectrometer overlaps step back.
    steps_back = np.nonzero(np.diff(wl) <= 0)[0]
    assert len(steps_back) <= 3
    segments = np.split(wl, steps_back + 1)
    assert all(np.all(np.diff(seg) > 0) for seg in segments)
    # The water-absorption bands (e.g. 1350-1400 nm, 1800-1950 nm) are gone.
    assert not np.any((wl > 1360) & (wl < 1400))
    assert not np.any((wl > 1820) & (wl < 1940))


def test_indian_pines_missing_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_indian_pines(root=tmp_path)
    msg = str(err.value)
    assert "Indian_pines_corrected.npy" in msg and str(tmp_path) in msg
    assert "pip install tensorly" in msg and "dataset.loader.root" in msg


def test_indian_pines_checksum_mismatch(tmp_path: Path) -> None:
    np.save(tmp_path / "Indian_pines_corrected.npy", np.ones((145, 145, 200), dtype=np.uint16))
    with pytest.raises(ValueError, match=r"sha256 checksum mismatch .* Reinstall tensorly"):
        load_indian_pines(root=tmp_path)


# ----------------------------------------------------------------------------- Pavia University
@needs_pavia
def test_pavia_crop() -> None:
    scene = load_pavia_university(PAVIA_DIR / "paviaU_subimg.mat")
    assert scene.cube.shape == (50, 50, 103) and scene.cube.dtype == np.float32
    assert scene.cube.min() >= 0 and scene.cube.max() == pytest.approx(1.0)
    assert scene.rgb_bands == PAVIA_RGB
    np.testing.assert_allclose(scene.wavelengths[[0, -1]], [430.0, 858.4])
    assert scene.meta["key"] == "paviaU_subimg"
    from_spec = load_pavia_university(PAVIA_DIR, wavelengths=PAVIA_DIR / "paviaU_spec.mat")
    np.testing.assert_allclose(from_spec.wavelengths, scene.wavelengths, atol=1e-9)


def test_pavia_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_pavia_university(tmp_path / "PaviaU.mat")
    msg = str(err.value)
    assert "PaviaU.mat" in msg and "dataset.loader.path" in msg and "ehu" in msg.lower()


def test_pavia_wrong_key_lists_available(tmp_path: Path) -> None:
    path = tmp_path / "PaviaU.mat"
    scipy.io.savemat(path, {"pavia": np.ones((4, 4, 103)), "labels": np.zeros((4, 4))})
    with pytest.raises(ValueError) as err:
        load_pavia_university(path)
    assert "'pavia'" in str(err.value) and "'labels'" in str(err.value) and "key" in str(err.value)


# ----------------------------------------------------------------------------- malformed input
def _cube(shape: tuple[int, ...] = (6, 5, 8)) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 100, size=shape)


def test_nan_rejected(tmp_path: Path) -> None:
    cube = _cube()
    cube[2, 3, 4] = np.nan
    np.save(tmp_path / "c.npy", cube)
    with pytest.raises(ValueError, match=r"1 NaN/Inf value\(s\) \(in band\(s\) \[4\]\); clean or inpaint them"):
        load_cube(tmp_path / "c.npy", wavelengths=np.arange(8) + 400.0)


def test_wrong_rank_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", _cube((30, 8)))
    with pytest.raises(ValueError, match=r"expected a 3-D cube .* rank 2 .* reshape it to \(rows, cols, bands\)"):
        load_cube(tmp_path / "c.npy", wavelengths=np.arange(8) + 400.0)


def test_too_few_bands_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", _cube((6, 5, 2)))
    with pytest.raises(ValueError, match=r"only 2 band\(s\) .* Is the band axis last"):
        load_cube(tmp_path / "c.npy", wavelengths=[400.0, 500.0])


def test_wavelength_count_mismatch(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", _cube())
    with pytest.raises(ValueError, match=r"7 wavelengths for a cube with 8 bands; pass one centre \(nm\) per band"):
        load_cube(tmp_path / "c.npy", wavelengths=np.arange(7) + 400.0)


def test_missing_wavelengths(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", _cube())
    with pytest.raises(ValueError, match="wavelengths="):
        load_cube(tmp_path / "c.npy")


def test_load_cube_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.mat"):
        load_cube(tmp_path / "nothere.mat")


def test_load_cube_mat_with_wavelength_variable(tmp_path: Path) -> None:
    # Micrometre centres stored next to the cube are converted to nm.
    scipy.io.savemat(tmp_path / "c.mat", {"img": _cube(), "wavelength": (np.arange(8) * 0.01 + 0.4)[:, None]})
    scene = load_cube(tmp_path / "c.mat", rgb_bands=(2, 1, 0))
    np.testing.assert_allclose(scene.wavelengths, np.arange(8) * 10.0 + 400.0)
    assert scene.name == "c" and scene.rgb_bands == (2, 1, 0)


def test_load_cube_ambiguous_variable(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "c.mat", {"a": _cube(), "b": _cube()})
    with pytest.raises(ValueError, match="cannot tell which variable"):
        load_cube(tmp_path / "c.mat", wavelengths=np.arange(8) + 400.0)


# ----------------------------------------------------------------------------- normalisation
def test_normalisations() -> None:
    raw = _cube() - 10.0  # some negatives
    cube, info = normalise_cube(raw, "max")
    assert cube.min() == 0.0 and cube.max() == pytest.approx(1.0) and info["n_clipped_negative"] > 0
    np.testing.assert_allclose(cube[raw > 0] * info["scale"], raw[raw > 0], rtol=1e-6)
    cube, info = normalise_cube(raw, "minmax")
    assert cube.min() == 0.0 and cube.max() == pytest.approx(1.0)
    np.testing.assert_allclose(cube * info["scale"] + info["offset"], raw, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="already in \\[0, 1\\]"):
        normalise_cube(raw, "none")
    with pytest.raises(ValueError, match="unknown normalise"):
        normalise_cube(raw, "zscore")


# ----------------------------------------------------------------------------- ENVI (Terrain)
def test_terrain_envi(tmp_path: Path) -> None:
    import spectral.io.envi as envi

    n_bands = max(TERRAIN_RGB) + 2
    raw = np.random.default_rng(1).integers(-5, 1000, size=(7, 6, n_bands)).astype(np.int16)
    wl_um = 0.4 + 0.01 * np.arange(n_bands)
    envi.save_image(str(tmp_path / "terrain.hdr"), raw, metadata={"wavelength": list(wl_um),
                                                                  "wavelength units": "Micrometers"})
    scene = load_terrain(tmp_path)
    assert scene.cube.shape == raw.shape and scene.rgb_bands == TERRAIN_RGB
    np.testing.assert_allclose(scene.wavelengths, wl_um * 1000.0)
    assert scene.cube.min() == 0.0  # negatives clipped by "max"


def test_terrain_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="dataset.loader.path"):
        load_terrain(tmp_path / "terrain.hdr")


def test_terrain_header_without_wavelengths(tmp_path: Path) -> None:
    import spectral.io.envi as envi

    envi.save_image(str(tmp_path / "t.hdr"), np.ones((4, 4, 5), dtype=np.int16))
    with pytest.raises(ValueError, match="no 'wavelength' field"):
        load_terrain(tmp_path / "t.hdr")
    scene = load_terrain(tmp_path / "t.hdr", wavelengths=np.arange(5) * 10.0 + 400.0)
    assert scene.rgb_bands is None  # too few bands for the Terrain display triple


def test_envi_data_file_missing(tmp_path: Path) -> None:
    import spectral.io.envi as envi

    envi.save_image(str(tmp_path / "t.hdr"), np.ones((4, 4, 5), dtype=np.int16))
    (tmp_path / "t.img").unlink()
    with pytest.raises(FileNotFoundError, match="ENVI data file"):
        load_cube(tmp_path / "t.hdr", wavelengths=np.arange(5) * 10.0 + 400.0)


def test_tensorly_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import fresco.data.scenes as scenes

    monkeypatch.setattr(scenes, "_package_dir", lambda name: None)
    with pytest.raises(FileNotFoundError, match="tensorly package is not installed"):
        scenes.load_indian_pines()


# ----------------------------------------------------------------------------- generic loader options
def test_load_cube_axis_order(tmp_path: Path) -> None:
    cube = np.random.default_rng(0).uniform(size=(6, 5, 4))
    np.save(tmp_path / "kwh.npy", np.transpose(cube, (2, 1, 0)))        # bands, cols, rows
    scene = load_cube(tmp_path / "kwh.npy", wavelengths=[500, 600, 700, 800], axes="KWH", normalise="none")
    np.testing.assert_allclose(scene.cube, cube.astype(np.float32))
    with pytest.raises(ValueError, match="axes='HWX' must be a permutation of 'HWK'"):
        load_cube(tmp_path / "kwh.npy", wavelengths=[500, 600, 700, 800], axes="HWX")


def test_load_cube_geotiff_and_wavelength_file(tmp_path: Path) -> None:
    import tifffile

    cube = np.random.default_rng(1).uniform(size=(6, 5, 4)).astype(np.float32)
    tifffile.imwrite(tmp_path / "c.tif", np.moveaxis(cube, 2, 0), planarconfig="separate", photometric="minisblack")
    (tmp_path / "wl.csv").write_text("# centre_nm, fwhm_nm\n0.5, 0.01\n0.6, 0.01\n0.7, 0.01\n0.8, 0.01\n")
    scene = load_cube(tmp_path / "c.tif", wavelengths=str(tmp_path / "wl.csv"), normalise="none")
    np.testing.assert_array_equal(scene.cube, cube)
    np.testing.assert_allclose(scene.wavelengths, [500, 600, 700, 800])   # micrometres -> nm


def test_read_wavelengths_missing_file(tmp_path: Path) -> None:
    from fresco.data.scenes import read_wavelengths

    with pytest.raises(FileNotFoundError, match=r"(?s)wavelength file wl.txt not found.*one band centre"):
        read_wavelengths(tmp_path / "wl.txt")


def test_every_dataset_describes_itself_and_a_missing_file_says_what_to_fetch(tmp_path):
    from fresco.configs import config_dir
    from fresco.data.datasets import DATASETS, PAVIA_UNIVERSITY, DatasetNotFoundError
    from fresco.data.scenes import load_pavia_university

    for name, info in DATASETS.items():
        assert (config_dir() / "dataset" / f"{name}.yaml").is_file()   # each record is a dataset= option
        assert info.files and info.where and info.title
    with pytest.raises(DatasetNotFoundError) as err:
        load_pavia_university(tmp_path)
    assert err.value.where == PAVIA_UNIVERSITY.where
    assert err.value.tried == [tmp_path / f for f in PAVIA_UNIVERSITY.files]
    assert isinstance(err.value, FileNotFoundError) and "To get it: download PaviaU.mat" in str(err.value)
