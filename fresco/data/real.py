"""Real HSI + MSI pairs: two rasters from two sensors, and the Paris EO-1 Hyperion + ALI stand-in.

:func:`load_real_pair` reads two rasters (ENVI via ``spectral``, GeoTIFF via ``tifffile``, ``.mat``,
``.npy``, ``.npz``), builds ``P`` from the named MSI sensor (or a matrix file) on the HSI's band centres,
and returns a :class:`~fresco.data.pair.FusionPair` **without ground truth**: a method run on it gives
estimates and a figure, no scores. The rasters are not resampled or reprojected: the MSI grid must be
``ratio`` times finer than the HSI grid (e.g. Hyperion 30 m + Sentinel-2 10 m bands -> ``ratio=3``);
the two footprints may differ (that is the unregistered setting).

:func:`load_paris_hyperion_ali` reads HySure's Paris pair (EO-1 Hyperion 72 x 72 x 128 and EO-1 ALI
72 x 72 x 9, both 30 m and co-registered). Because both images share one grid, the loader does what
the HySure demo does: it keeps the real ALI image as the MSI, and simulates the low-resolution HSI by
degrading the real Hyperion image by ``ratio``; the Hyperion image itself is the ground truth of both
footprints (``SRI_M = SRI_H``, no misalignment). The MSI is real, so it is *not* ``SRI_M x_3 P``.

Normalisation (``normalise=``): ``"joint_max"`` (default) divides both images by one number, the
larger of their maxima, so that ``MSI ~ HSI x_3 P`` still holds for reflectance-calibrated pairs;
``"max"`` divides each image by its own maximum; ``"none"`` keeps the values (they must be in
``[0, 1]``, a little above is tolerated). Negative values are clipped to 0 first (``"none"``: kept).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fresco.data.datasets import PARIS_HYPERION_ALI, DatasetNotFoundError
from fresco.data.pair import Acquisition, FusionPair
from fresco.data.scenes import (
    MIN_BANDS,
    _check_cube,
    _check_wavelengths,
    _mat_variables,
    _pick_variable,
    _read_array,
    _sha256,
    read_wavelengths,
    to_hwk,
)
from fresco.data.sensors import SpectralResponse, make_srf, matrix_srf, read_srf_matrix
from fresco.ops.degradation import Degradation, add_noise, degrade, integer_ratio

__all__ = [
    "HYPERION_SWIR",
    "HYPERION_VNIR",
    "PAIR_NORMALISATIONS",
    "PARIS_FILE",
    "PARIS_SHA256",
    "hyperion_wavelengths",
    "load_paris_hyperion_ali",
    "load_real_pair",
]

#: Hyperion band centres (nm) of the calibrated ranges: band b -> first + step * (b - b0) (EO-1 table).
HYPERION_VNIR = {"bands": (8, 57), "first_nm": 426.82, "step_nm": 10.175}
HYPERION_SWIR = {"bands": (77, 224), "first_nm": 912.45, "step_nm": 10.09}

PAIR_NORMALISATIONS = ("joint_max", "max", "none")
#: Values this far above 1 are accepted with normalise="none" (real reflectance can exceed 1 a little).
NONE_MARGIN = 0.5

PARIS_FILE, PARIS_SRF_FILE = PARIS_HYPERION_ALI.files
#: sha256 of the files as published (HySure commit 8652a58, FuVarRelease commit 2164cd8).
PARIS_SHA256 = PARIS_HYPERION_ALI.sha256[PARIS_FILE]
PARIS_SRF_SHA256 = PARIS_HYPERION_ALI.sha256[PARIS_SRF_FILE]
PARIS_SHAPE_HSI = (72, 72, 128)
PARIS_SHAPE_MSI = (72, 72, 9)
WHERE_REAL_PAIR = (
    "give the two rasters of a real pair: `dataset.loader.hsi_path=` (e.g. an EO-1 Hyperion L1/L2 scene from "
    "USGS EarthExplorer, ENVI or GeoTIFF) and `dataset.loader.msi_path=` (e.g. a Sentinel-2 L2A band stack "
    "from the Copernicus Data Space, resampled to one grid), see data/README.md"
)


# ----------------------------------------------------------------------------- wavelengths
def hyperion_wavelengths(bands: Sequence[int]) -> np.ndarray:
    """Centres (nm) of EO-1 Hyperion bands given by their **1-based** band numbers (e.g. ``non_del_bands``).

    VNIR band ``b`` in 8..57: ``426.82 + 10.175 (b - 8)``; SWIR band ``b`` in 77..224: ``912.45 + 10.09 (b - 77)``
    (the calibrated ranges of the EO-1 table; other bands are uncalibrated and rejected).
    """
    b = np.asarray(bands, dtype=np.int64).ravel()
    out = np.empty(b.size, dtype=np.float64)
    for spec in (HYPERION_VNIR, HYPERION_SWIR):
        lo, hi = spec["bands"]
        sel = (b >= lo) & (b <= hi)
        out[sel] = spec["first_nm"] + spec["step_nm"] * (b[sel] - lo)
    bad = ~(((b >= 8) & (b <= 57)) | ((b >= 77) & (b <= 224)))
    if bad.any():
        raise ValueError(f"Hyperion bands {b[bad].tolist()} are outside the calibrated ranges 8-57 (VNIR) and "
                         "77-224 (SWIR); give 1-based band numbers of calibrated bands")
    return out


# ----------------------------------------------------------------------------- helpers
def _read_raster(path: str | Path, key: str | Sequence[str] | None, axes: str, what: str
                 ) -> tuple[np.ndarray, dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise DatasetNotFoundError(f"{what} raster {p.name}", [p], WHERE_REAL_PAIR)
    raw, info = _read_array(p, key)
    if p.suffix.lower() in (".mat", ".npy", ".npz"):
        raw = to_hwk(np.asarray(raw), axes, f"{what} {p}")
    raw = np.asarray(raw)
    if raw.ndim == 2 and what == "MSI":
        raw = raw[:, :, None]  # a single-band MSI (e.g. a panchromatic image)
    nodata = info.get("nodata")
    if nodata is not None and raw.size and np.any(raw == nodata):
        n = int((raw == nodata).any(axis=2).sum()) if raw.ndim == 3 else int((raw == nodata).sum())
        raise ValueError(f"{what} {p}: {n} pixel(s) hold the nodata value {nodata:g}; crop both rasters to the "
                         "area with valid data first (fusion needs every pixel)")
    return raw, info


def _normalise_pair(hsi: np.ndarray, msi: np.ndarray, normalise: str) -> tuple[np.ndarray, np.ndarray, dict]:
    if normalise not in PAIR_NORMALISATIONS:
        raise ValueError(f"unknown normalise={normalise!r} for a pair; choose one of {PAIR_NORMALISATIONS}")
    h, m = hsi.astype(np.float64), msi.astype(np.float64)
    info: dict[str, Any] = {"method": normalise, "hsi_raw_range": [float(h.min()), float(h.max())],
                            "msi_raw_range": [float(m.min()), float(m.max())]}
    if normalise == "none":
        for name, x in (("HSI", h), ("MSI", m)):
            if x.min() < -NONE_MARGIN or x.max() > 1 + NONE_MARGIN:
                raise ValueError(f"{name}: normalise='none' needs reflectance-like values near [0, 1], got "
                                 f"[{x.min():.4g}, {x.max():.4g}]; use normalise='joint_max' or 'max'")
        info.update(hsi_scale=1.0, msi_scale=1.0)
        return h.astype(np.float32), m.astype(np.float32), info
    h, m = np.clip(h, 0.0, None), np.clip(m, 0.0, None)
    if h.max() <= 0 or m.max() <= 0:
        raise ValueError("an image of the pair is all zeros (after clipping negatives); check the rasters")
    if normalise == "joint_max":
        s_h = s_m = max(float(h.max()), float(m.max()))
    else:
        s_h, s_m = float(h.max()), float(m.max())
    info.update(hsi_scale=s_h, msi_scale=s_m)
    return (h / s_h).astype(np.float32), (m / s_m).astype(np.float32), info


def _infer_ratio(hsi: np.ndarray, msi: np.ndarray, hsi_info: dict, msi_info: dict) -> int:
    """The ratio from the rasters' pixel sizes (GeoTIFF / ENVI tags) when both are known, else from the shapes."""
    px_h, px_m = hsi_info.get("pixel_size"), msi_info.get("pixel_size")
    if px_h is not None and px_m is not None:
        r = np.asarray(px_h, dtype=np.float64) / np.asarray(px_m, dtype=np.float64)
        if np.allclose(r, r[0], rtol=1e-3) and abs(r[0] - round(r[0])) < 1e-3 and round(r[0]) >= 1:
            return int(round(r[0]))
        raise ValueError(f"the HSI pixel size {px_h} is not an integer multiple of the MSI pixel size {px_m} on "
                         "both axes; resample the MSI to a grid d times finer than the HSI (d = 2, 3, 4, ...), "
                         "or pass ratio=")
    ratio = integer_ratio(msi.shape, hsi.shape, minimum=2)
    if ratio is not None:
        return ratio
    raise ValueError(f"cannot infer the spatial ratio: no pixel sizes in the files, and MSI {msi.shape[:2]} / HSI "
                     f"{hsi.shape[:2]} is not one integer >= 2; pass ratio= (HSI pixel size / MSI pixel size, "
                     "e.g. 30 m / 10 m = 3; config `dataset.loader.ratio`)")


def _build_srf(msi_sensor: str | None, srf_path: str | Path | None, wavelengths: np.ndarray, n_msi_bands: int,
               srf_options: dict[str, Any]) -> tuple[SpectralResponse, list[int]]:
    """``P`` for the MSI and the MSI band indices it keeps (bands the HSI cannot see are dropped)."""
    if (msi_sensor is None) == (srf_path is None):
        raise ValueError("name the MSI sensor (msi_sensor=, e.g. 'sentinel2a', 'landsat8_oli', 'ikonos', 'ali_box') "
                         "or give its SRF matrix file (srf_path=), exactly one of the two")
    if srf_path is not None:
        mat = read_srf_matrix(srf_path, srf_options.get("key"))
        srf = matrix_srf(mat, sensor=f"file:{Path(srf_path).name}", wavelengths=wavelengths)
        if srf.shape != (n_msi_bands, wavelengths.size):
            raise ValueError(f"{srf_path}: the SRF matrix has shape {srf.shape}; this pair needs "
                             f"(K_M, K_H) = ({n_msi_bands}, {wavelengths.size}) (MSI bands x HSI bands)")
        return srf, list(range(n_msi_bands))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        srf = make_srf(msi_sensor, wavelengths, **srf_options)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    requested = srf.requested or srf.band_names
    if n_msi_bands == srf.shape[0]:
        return srf, list(range(n_msi_bands))
    if n_msi_bands == len(requested):
        keep = [requested.index(b) for b in srf.band_names]
        gone = [b for i, b in enumerate(requested) if i not in keep]
        warnings.warn(f"{msi_sensor}: MSI raster bands {gone} dropped with their SRF rows (the HSI cannot see them)",
                      UserWarning, stacklevel=3)
        return srf, keep
    raise ValueError(f"the MSI has {n_msi_bands} bands but the {msi_sensor} SRF has {len(requested)} bands "
                     f"({', '.join(requested)}), {srf.shape[0]} of them visible to the HSI; select the MSI bands "
                     "the raster holds, in its order, with `srf_options.bands` (e.g. ['2', '3', '4', '8'] for "
                     "Sentinel-2 B2, B3, B4, B8)")


# ----------------------------------------------------------------------------- loaders
def load_real_pair(hsi_path: str | Path, msi_path: str | Path, msi_sensor: str | None = None,
                   srf_path: str | Path | None = None, hsi_wavelengths: Any = None, ratio: int | None = None,
                   hsi_key: str | None = None, msi_key: str | None = None, hsi_axes: str = "HWK",
                   msi_axes: str = "HWK", normalise: str = "joint_max", srf_options: dict[str, Any] | None = None,
                   name: str = "real_pair") -> FusionPair:
    """A real, unregistered HSI + MSI pair from two rasters, without ground truth.

    Args:
        hsi_path: the HSI raster ``(I_H, J_H, K_H)``: ENVI ``.hdr``, GeoTIFF ``.tif``, ``.mat``, ``.npy``, ``.npz``.
        msi_path: the MSI raster ``(I_M, J_M, K_M)`` on a grid ``ratio`` times finer than the HSI's.
        msi_sensor: a :func:`~fresco.data.sensors.make_srf` name (``sentinel2a``, ``sentinel2b``,
            ``landsat8_oli``, ``ikonos``, ``ali_box``, ``landsat_box``, ``quickbird_box``) whose curves are
            integrated over the HSI bands; or ``None`` with ``srf_path``.
        srf_path: a ``(K_M, K_H)`` SRF matrix file (``.mat`` variable ``Q``/``P``/``R``, ``.npy``, ``.csv``).
        hsi_wavelengths: HSI band centres (nm): an array, a file (:func:`~fresco.data.scenes.read_wavelengths`),
            or ``None`` to read them from the ENVI header / a ``wavelengths`` variable next to the cube.
        ratio: HSI pixel size / MSI pixel size; ``None``: from the files' pixel sizes (GeoTIFF
            ``ModelPixelScale``, ENVI ``map info``), else from the image shapes (same footprint).
        hsi_key, msi_key: variable names in ``.mat`` / ``.npz`` files.
        hsi_axes, msi_axes: axis order of ``.mat`` / ``.npy`` arrays (see :func:`~fresco.data.scenes.to_hwk`).
        normalise: ``joint_max`` / ``max`` / ``none`` (module docstring).
        srf_options: extra keywords for ``make_srf`` (``bands``, ``path`` for ikonos, ``fwhm``) or ``key``.
        name: pair name.

    Returns:
        FusionPair with ``sri_m = sri_h = None``; ``meta`` records paths, normalisation, sensor, dropped
        bands and ``"real": True``.
    """
    hsi_raw, hsi_info = _read_raster(hsi_path, hsi_key, hsi_axes, "HSI")
    msi_raw, msi_info = _read_raster(msi_path, msi_key, msi_axes, "MSI")
    hsi_raw = _check_cube(hsi_raw, f"HSI {hsi_path}", MIN_BANDS)
    msi_raw = _check_cube(msi_raw, f"MSI {msi_path}", 1)
    wl = hsi_wavelengths
    if isinstance(wl, (str, Path)):
        wl = read_wavelengths(wl)
    if wl is None:
        wl = hsi_info.get("envi_wavelengths")
    if wl is None and Path(hsi_path).suffix.lower() == ".mat":
        variables = _mat_variables(Path(hsi_path))
        found = [k for k in ("wavelengths", "wavelength", "wl") if k in variables]
        wl = np.asarray(variables[found[0]], dtype=np.float64).ravel() if found else None
    if wl is None:
        raise ValueError(f"{hsi_path}: no HSI band centres found; pass hsi_wavelengths= (config "
                         "`dataset.loader.hsi_wavelengths`: a list or a file, one centre in nm per band)")
    wl = _check_wavelengths(wl, hsi_raw.shape[2], f"HSI {hsi_path}")
    d = int(ratio) if ratio is not None else _infer_ratio(hsi_raw, msi_raw, hsi_info, msi_info)
    if d < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio}")
    srf, keep = _build_srf(msi_sensor, srf_path, wl, msi_raw.shape[2], dict(srf_options or {}))
    msi_raw = msi_raw[:, :, keep]
    hsi, msi, norm = _normalise_pair(hsi_raw, msi_raw, normalise)
    meta = {"real": True, "hsi_path": str(hsi_path), "msi_path": str(msi_path), "msi_sensor": msi_sensor,
            "srf_path": None if srf_path is None else str(srf_path), "srf_band_names": list(srf.band_names),
            "srf_dropped": list(srf.dropped), "normalisation": norm, "ratio_from": "argument" if ratio else "files"}
    return FusionPair(msi=msi, hsi=hsi, srf=srf.matrix, ratio=d, wavelengths=wl, name=name, meta=meta,
                      acquisition=Acquisition(msi_sensor=msi_sensor))


def load_paris_hyperion_ali(path: str | Path, srf: str = "estimated", ratio: int = 4, degradation: str = "gaussian",
                            sigma: float | None = None, kernel_size: int | None = None,
                            snr_db_hsi: float | None = None, seed: int = 0, normalise: str = "joint_max",
                            verify: bool = True, srf_path: str | Path | None = None) -> FusionPair:
    """HySure's Paris pair: real EO-1 ALI MSI + Hyperion HSI degraded by ``ratio``, Hyperion as ground truth.

    Args:
        path: ``paris_data_hs_ms.mat`` (variables ``HSim`` 72x72x128, ``MSim`` 72x72x9, ``non_del_bands``)
            or the folder holding it.
        srf: ``"estimated"``: ``R`` (9, 128) from ``R_HysureParis.mat`` next to it (HySure's estimate for
            this pair; or ``srf_path=``); ``"ali_box"``: the nominal ALI band edges as box bands.
        ratio: the HSI is the real Hyperion image degraded by this ratio (72 must be divisible by it).
        degradation, sigma, kernel_size: see :func:`fresco.data.simulate.degradation_matrix`.
        snr_db_hsi: noise added to the degraded HSI (``None``: none); the MSI is real and kept as it is.
        seed: seeds that noise.
        normalise: ``joint_max`` (default), ``max`` or ``none`` (module docstring).
        verify: check the files' sha256 against :data:`PARIS_SHA256` / ``PARIS_SRF_SHA256``.
        srf_path: the ``R`` matrix file (default ``R_HysureParis.mat`` next to ``path``).

    Returns:
        FusionPair with ``MSI`` the real ALI image (72, 72, 9), ``HSI`` (72/d, 72/d, 128), ``SRI_M = SRI_H`` the
        real Hyperion image, masks all true, ``meta["overlap"] = 1``; ALI band ``MS-5p`` etc. kept as stored.
    """
    p = Path(path)
    if p.is_dir():
        p = p / PARIS_FILE
    if not p.is_file():
        raise PARIS_HYPERION_ALI.not_found([p])
    if verify and _sha256(p) != PARIS_SHA256:
        raise ValueError(f"{p}: sha256 checksum mismatch (expected {PARIS_SHA256}); the file is corrupt or another "
                         f"version. Re-download it ({PARIS_HYPERION_ALI.where}) or pass verify=False")
    variables = _mat_variables(p)
    hs = _pick_variable(variables, "HSim", p)[1]
    ms = _pick_variable(variables, "MSim", p)[1]
    bands = _pick_variable(variables, "non_del_bands", p)[1]
    hs, ms = _check_cube(hs, f"Hyperion HSim ({p})"), _check_cube(ms, f"ALI MSim ({p})")
    wl = hyperion_wavelengths(bands)
    _check_wavelengths(wl, hs.shape[2], f"Hyperion HSim ({p})")
    if srf == "estimated":
        r_path = Path(srf_path) if srf_path is not None else p.parent / PARIS_SRF_FILE
        if not r_path.is_file():
            raise DatasetNotFoundError("the estimated ALI SRF R_HysureParis.mat", [r_path],
                                       PARIS_HYPERION_ALI.where + " (or use srf='ali_box', the nominal band edges)")
        if verify and srf_path is None and _sha256(r_path) != PARIS_SRF_SHA256:
            raise ValueError(f"{r_path}: sha256 checksum mismatch (expected {PARIS_SRF_SHA256}); re-download it "
                             "or pass verify=False")
        response = matrix_srf(read_srf_matrix(r_path, "R"), band_names=[f"ALI{k}" for k in range(ms.shape[2])],
                              sensor="EO-1 ALI (HySure estimate)", wavelengths=wl)
        keep = list(range(ms.shape[2]))
    elif srf == "ali_box":
        response, keep = _build_srf("ali_box", None, wl, ms.shape[2], {})
    else:
        raise ValueError(f"srf={srf!r}: choose 'estimated' (R_HysureParis.mat) or 'ali_box'")
    if response.shape != (len(keep), hs.shape[2]):
        raise ValueError(f"the SRF has shape {response.shape}; expected ({len(keep)}, {hs.shape[2]})")
    sri, msi, norm = _normalise_pair(hs, ms[:, :, keep], normalise)
    sri = np.clip(sri, 0.0, 1.0)
    hsi_clean = degrade(sri, ratio, degradation, sigma, kernel_size)
    hsi = add_noise(hsi_clean, snr_db_hsi, np.random.default_rng(seed), clip=snr_db_hsi is not None)
    full = np.ones(sri.shape[:2], dtype=bool)
    meta = {"real": True, "scene": "paris_hyperion_ali", "path": str(p), "sha256": PARIS_SHA256 if verify else None,
            "msi_sensor": "EO-1 ALI", "hsi_sensor": "EO-1 Hyperion", "normalisation": norm,
            "srf_band_names": list(response.band_names), "srf_sensor": response.sensor,
            "hyperion_bands": np.asarray(bands).ravel().astype(int).tolist(), "overlap": 1.0, "overlap_m": 1.0,
            "noise": {"snr_db_hsi": snr_db_hsi, "snr_db_msi": None},
            "note": "MSI = real ALI image; HSI = real Hyperion degraded by the ratio; SRI_M = SRI_H = Hyperion"}
    return FusionPair(msi=msi, hsi=hsi, srf=response.matrix, ratio=int(ratio), wavelengths=wl, sri_m=sri,
                      sri_h=sri.copy(), mask_m=full, mask_h=full.copy(), name="paris_hyperion_ali", meta=meta,
                      acquisition=Acquisition(degradation=Degradation.of(degradation, int(ratio), sigma, kernel_size),
                                              msi_sensor="EO-1 ALI", hsi_sensor="EO-1 Hyperion"))
