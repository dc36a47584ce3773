"""Spectral response of the simulated MSI: the matrix ``P`` (``K_M, K_H``) mapping HSI bands to MSI bands.

Row ``k`` of ``P`` says how MSI band ``k`` integrates the HSI bands; rows are nonnegative and sum to 1,
so an MSI pixel is a weighted average of the HSI spectrum and stays in ``[0, 1]``.

Three ways to build it:
    :func:`box_srf`    box bands: MSI band = mean of the HSI bands whose centres fall in ``[lo, hi]`` nm
                       (the co-registered tensor fusion papers' Landsat-like / QuickBird-like SRFs);
    :func:`curve_srf`  published sensor curves from the ``pyrsr`` package (ESA / NASA tables),
                       sampled at the HSI band centres or integrated against Gaussian HSI bands;
    :func:`matrix_srf` a user-given ``P`` (validated, rows renormalised).
MSI bands that the HSI cannot see (outside its range, or inside a gap of removed absorption bands)
are dropped with a warning naming them, never kept as empty rows.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ALI_BOX_EDGES",
    "CURVE_SENSORS",
    "IKONOS_COLUMNS",
    "LANDSAT_BOX_EDGES",
    "QUICKBIRD_BOX_EDGES",
    "RESPONSE_FLOOR",
    "SRF_PRESETS",
    "SpectralResponse",
    "box_srf",
    "curve_srf",
    "ikonos_srf",
    "make_srf",
    "matrix_srf",
    "read_srf_matrix",
    "table_srf",
]

#: Landsat-like box bands (nm) used by SCOTT / the co-registered LL1 papers on Indian Pines.
LANDSAT_BOX_EDGES: list[list[float]] = [[450, 520], [520, 600], [630, 690], [760, 900], [1550, 1770],
                                        [2080, 2350]]
LANDSAT_BOX_NAMES = ["blue", "green", "red", "nir", "swir1", "swir2"]
#: QuickBird-like box bands (nm) used by STEREO / SCOTT on Pavia University.
QUICKBIRD_BOX_EDGES: list[list[float]] = [[430, 545], [466, 620], [590, 710], [715, 918]]
QUICKBIRD_BOX_NAMES = ["blue", "green", "red", "nir"]

#: EO-1 ALI multispectral bands (nominal edges, nm): MS-1', MS-1, MS-2, MS-3, MS-4, MS-4', MS-5', MS-5, MS-7.
ALI_BOX_EDGES: list[list[float]] = [[433, 453], [450, 515], [525, 605], [630, 690], [775, 805], [845, 890],
                                    [1200, 1300], [1550, 1750], [2080, 2350]]
ALI_BOX_NAMES = ["MS-1p", "MS-1", "MS-2", "MS-3", "MS-4", "MS-4p", "MS-5p", "MS-5", "MS-7"]

#: Columns of the IKONOS relative spectral response table (HySure's ``ikonos_spec_resp.mat``).
IKONOS_COLUMNS = ("wavelength_nm", "pan", "blue", "green", "red", "nir")
IKONOS_MS_BANDS = ("blue", "green", "red", "nir")
IKONOS_FILE = "ikonos_spec_resp.mat"
WHERE_IKONOS = (
    "the IKONOS relative spectral responses are published by Space Imaging / DigitalGlobe (now Maxar); a "
    "ready table is HySure's data/ikonos_spec_resp.mat (github.com/alfaiate/HySure, GPL-3.0; variable "
    "'ikonos_sp', columns wavelength nm, PAN, Blue, Green, Red, NIR). Put it in $FRESCO_DATA (default data/) "
    "or set `srf.path=/path/to/ikonos_spec_resp.mat` (a .csv/.txt/.npy table with the same 6 columns works too)"
)
#: Wavelength tables whose largest value is below this are in micrometres.
MICROMETRE_LIMIT = 100.0
#: Variable names tried for an SRF matrix in a .mat file.
MATRIX_KEYS = ("Q", "P", "R", "srf", "SRF")

#: A curve band whose peak-normalised response is below this at every HSI band centre is invisible
#: to the HSI (it falls between bands or in a removed absorption gap) and is dropped.
RESPONSE_FLOOR = 0.05
#: FWHM = FWHM_PER_SIGMA * sigma for a Gaussian.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Rows of P must sum to 1 within this tolerance.
ROW_SUM_TOL = 1e-6

#: pyrsr (satellite, sensor) pairs for the names used in configs.
CURVE_SENSORS: dict[str, tuple[str, str]] = {
    "Sentinel-2A": ("Sentinel-2A", "MSI"),
    "Sentinel-2B": ("Sentinel-2B", "MSI"),
    "Landsat-8": ("Landsat-8", "OLI_TIRS"),
    "Landsat-9": ("Landsat-9", "OLI_TIRS"),
    "Landsat-7": ("Landsat-7", "ETM+"),
    "Landsat-5": ("Landsat-5", "TM"),
    "RapidEye": ("RapidEye", "MSI"),
}


@dataclass
class SpectralResponse:
    """A spectral response matrix with its band metadata.

    Attributes:
        matrix: ``(K_M, K_H)`` float64, rows >= 0 summing to 1 (the spec's ``P``; ``Q`` in .mat files).
        band_names: ``K_M`` MSI band names.
        centres_nm: ``(K_M,)`` nominal MSI band centres in nm (NaN when unknown).
        sensor: sensor name (``"Sentinel-2A"``, ``"landsat_box"``, ``"user"``, ...).
        dropped: names of requested bands that were dropped because the HSI cannot see them.
        requested: every requested band name in the sensor's order (kept and dropped); empty when the
            matrix was given directly.
    """

    matrix: np.ndarray
    band_names: list[str]
    centres_nm: np.ndarray
    sensor: str = "user"
    dropped: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] < 1:
            raise ValueError(f"SpectralResponse.matrix must be 2-D (K_M, K_H) with K_M >= 1, got {m.shape}")
        if not np.all(np.isfinite(m)) or np.any(m < 0):
            raise ValueError("SpectralResponse.matrix must be finite and nonnegative")
        sums = m.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > ROW_SUM_TOL):
            raise ValueError(f"SpectralResponse.matrix rows must sum to 1, got sums {np.round(sums, 6)}")
        self.matrix = m
        self.band_names = [str(b) for b in self.band_names]
        if len(self.band_names) != m.shape[0]:
            raise ValueError(f"SpectralResponse: {len(self.band_names)} band names for {m.shape[0]} rows")
        self.centres_nm = np.asarray(self.centres_nm, dtype=np.float64).ravel()
        if self.centres_nm.shape != (m.shape[0],):
            raise ValueError(f"SpectralResponse: {self.centres_nm.size} centres for {m.shape[0]} rows")

    @property
    def shape(self) -> tuple[int, int]:
        """``(K_M, K_H)``."""
        return tuple(self.matrix.shape)  # type: ignore[return-value]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.matrix if dtype is None else self.matrix.astype(dtype)


def _as_wavelengths(wavelengths: Any) -> np.ndarray:
    wl = np.asarray(wavelengths, dtype=np.float64).ravel()
    if wl.size < 1 or not np.all(np.isfinite(wl)):
        raise ValueError(f"wavelengths must be a non-empty finite 1-D array of HSI band centres (nm); "
                         f"got {wl}")
    return wl


def _warn_dropped(sensor: str, dropped: list[tuple[str, str]], wl: np.ndarray) -> None:
    if dropped:
        listed = "; ".join(f"{name} ({why})" for name, why in dropped)
        warnings.warn(
            f"{sensor}: dropped {len(dropped)} MSI band(s) the HSI ({wl.min():.1f}-{wl.max():.1f} nm, "
            f"{wl.size} bands) cannot see: {listed}",
            UserWarning,
            stacklevel=3,
        )


def box_srf(wavelengths: Any, edges_nm: Sequence[Sequence[float]], band_names: Sequence[str] | None = None,
            sensor: str = "box") -> SpectralResponse:
    """Box-band SRF: MSI band ``k`` is the mean of the HSI bands with centre in ``[lo_k, hi_k]`` nm.

    Args:
        wavelengths: ``(K_H,)`` HSI band centres (nm), any order.
        edges_nm: ``K`` pairs ``[lo, hi]`` in nm (boxes may overlap).
        band_names: one name per box (default ``"lo-hi nm"``).
        sensor: recorded in the result.

    Returns:
        SpectralResponse with the boxes that contain at least one HSI band; empty boxes are dropped
        with a ``UserWarning`` naming them (``ValueError`` if all are empty).
    """
    wl = _as_wavelengths(wavelengths)
    edges = np.asarray(edges_nm, dtype=np.float64)
    if edges.ndim != 2 or edges.shape[1] != 2 or np.any(edges[:, 1] <= edges[:, 0]):
        raise ValueError(f"edges_nm must be a list of [lo, hi] pairs with lo < hi (nm); got {edges_nm}")
    names = list(band_names) if band_names is not None else [f"{lo:g}-{hi:g}nm" for lo, hi in edges]
    if len(names) != len(edges):
        raise ValueError(f"box_srf: {len(names)} band names for {len(edges)} boxes")
    rows, kept, centres, dropped = [], [], [], []
    for name, (lo, hi) in zip(names, edges, strict=True):
        inside = (wl >= lo) & (wl <= hi)
        if not inside.any():
            dropped.append((name, f"no HSI band centre in [{lo:g}, {hi:g}] nm"))
            continue
        rows.append(inside / inside.sum())
        kept.append(name)
        centres.append(0.5 * (lo + hi))
    if not rows:
        raise ValueError(f"{sensor}: none of the boxes {edges.tolist()} contains an HSI band centre "
                         f"(HSI range {wl.min():.1f}-{wl.max():.1f} nm); choose another SRF")
    _warn_dropped(sensor, dropped, wl)
    return SpectralResponse(np.vstack(rows), kept, np.asarray(centres), sensor, [d[0] for d in dropped],
                            [str(n) for n in names])


def _resolve_curve_sensor(sensor: str) -> tuple[str, str]:
    if sensor in CURVE_SENSORS:
        return CURVE_SENSORS[sensor]
    if "/" in sensor:
        satellite, instrument = sensor.split("/", 1)
        return satellite, instrument
    raise ValueError(f"unknown curve sensor {sensor!r}; use one of {sorted(CURVE_SENSORS)} or "
                     "'<pyrsr satellite>/<pyrsr sensor>' (e.g. 'Terra/ASTER')")


def curve_srf(wavelengths: Any, sensor: str = "Sentinel-2A", bands: Sequence[str] | None = None,
              fwhm: float | Sequence[float] | str | None = "auto", no_thermal: bool = True,
              no_pan: bool = True) -> SpectralResponse:
    """SRF from published response curves (``pyrsr``) at the HSI band centres.

    Args:
        wavelengths: ``(K_H,)`` HSI band centres in nm.
        sensor: a key of :data:`CURVE_SENSORS` or ``"<satellite>/<sensor>"`` as pyrsr names them.
        bands: MSI band names to keep (pyrsr names, e.g. ``["2", "3", "4", "8"]``); default all.
        fwhm: how each HSI band is shaped when the curve is integrated over it. ``"auto"`` (default):
            Gaussian bands whose FWHM is the median HSI band spacing (contiguous spectrometers such as
            AVIRIS, Hyperion and ROSIS have FWHM close to their spacing). A number or ``(K_H,)`` array
            (nm): Gaussian bands of that FWHM. ``None``: sample each curve at the HSI band centres
            (bands as deltas), which under-weights MSI bands narrower than the HSI spacing.
        no_thermal, no_pan: skip thermal / panchromatic bands (Landsat).

    Returns:
        SpectralResponse; rows normalised to sum 1. Bands whose centre is outside the HSI range, or
        whose peak-normalised curve is below :data:`RESPONSE_FLOOR` at every HSI band centre (the
        same rule whatever ``fwhm``), are dropped with a ``UserWarning`` naming them.
    """
    from pyrsr import RelativeSpectralResponse

    wl = _as_wavelengths(wavelengths)
    satellite, instrument = _resolve_curve_sensor(sensor)
    try:
        rsr = RelativeSpectralResponse(satellite=satellite, sensor=instrument, no_thermal=no_thermal,
                                       no_pan=no_pan)
    except Exception as err:  # pyrsr raises bare exceptions for unknown names
        raise ValueError(f"pyrsr has no response curves for satellite={satellite!r} sensor={instrument!r} "
                         f"({err}); see pyrsr/data for the available ones") from err
    grid = np.asarray(rsr.rsrs_wvl, dtype=np.float64)
    available = [str(b) for b in rsr.bands]
    wanted = available if bands is None else [str(b) for b in bands]
    unknown = [b for b in wanted if b not in available]
    if unknown:
        raise ValueError(f"{sensor}: unknown band(s) {unknown}; available: {available}")
    centres_all = dict(zip(available, np.asarray(rsr.wvl, dtype=np.float64), strict=True))
    curves = {b: np.asarray(rsr.rsrs_norm01[b], dtype=np.float64) for b in wanted}
    return table_srf(wl, grid, curves, {b: centres_all[b] for b in wanted}, fwhm=fwhm, sensor=sensor)


def table_srf(wavelengths: Any, grid_nm: Any, curves: dict[str, Any], centres_nm: dict[str, float] | None = None,
              fwhm: float | Sequence[float] | str | None = "auto", sensor: str = "table") -> SpectralResponse:
    """SRF from tabulated response curves on a common wavelength grid, integrated over each HSI band.

    Args:
        wavelengths: ``(K_H,)`` HSI band centres in nm.
        grid_nm: ``(n_grid,)`` increasing wavelengths (nm) the curves are tabulated on.
        curves: MSI band name -> ``(n_grid,)`` relative response (any scale; negatives are clipped to 0).
        centres_nm: nominal band centres (nm); default: each curve's response-weighted centroid.
        fwhm: HSI band shape, as in :func:`curve_srf` (``"auto"``: Gaussian bands with FWHM = the median
            HSI band spacing; a number or ``(K_H,)`` array in nm; ``None``: sample at the centres).
        sensor: recorded in the result and named in warnings.

    Returns:
        SpectralResponse, rows summing to 1. Bands whose centre is outside the HSI range, or whose
        peak-normalised curve is below :data:`RESPONSE_FLOOR` at every HSI band centre, are dropped with
        a ``UserWarning`` naming them; ``ValueError`` if none is left.
    """
    wl = _as_wavelengths(wavelengths)
    grid = np.asarray(grid_nm, dtype=np.float64).ravel()
    if grid.size < 2 or not np.all(np.diff(grid) > 0):
        raise ValueError(f"{sensor}: the curves' wavelength grid must be increasing with >= 2 samples (nm)")
    if isinstance(fwhm, str):
        if fwhm != "auto":
            raise ValueError(f"fwhm must be 'auto', a number of nm, a (K_H,) array or None; got {fwhm!r}")
        spacing = np.diff(np.sort(wl))
        fwhm = float(np.median(spacing[spacing > 0])) if np.any(spacing > 0) else None
    if fwhm is not None:
        fw = np.broadcast_to(np.asarray(fwhm, dtype=np.float64), wl.shape)
        if np.any(fw <= 0):
            raise ValueError(f"fwhm must be positive (nm), got {fwhm}")
        sig = fw / FWHM_PER_SIGMA
        step = np.gradient(grid)
        # (K_H, n_grid) Gaussian band shapes, normalised by their full analytic area so that response
        # outside the tabulated curve counts as zero rather than being renormalised away.
        shapes = np.exp(-0.5 * ((grid[None, :] - wl[:, None]) / sig[:, None]) ** 2) * step[None, :]
        shapes /= (sig * math.sqrt(2.0 * math.pi))[:, None]

    rows, kept, centres, dropped = [], [], [], []
    lo, hi = wl.min(), wl.max()
    for band, values in curves.items():
        # The NASA OLI tables hold tiny negative measurement residues (~ -3e-4): not a response.
        curve = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64).ravel()), 0.0, None)
        if curve.shape != grid.shape:
            raise ValueError(f"{sensor}: curve of band {band!r} has {curve.size} samples for a grid of {grid.size}")
        if curve.max() <= 0:
            raise ValueError(f"{sensor}: curve of band {band!r} is zero everywhere")
        curve = curve / curve.max()
        centre = float(centres_nm[band]) if centres_nm is not None else float((curve * grid).sum() / curve.sum())
        if not lo <= centre <= hi:
            dropped.append((band, f"centre {centre:.0f} nm outside the HSI range"))
            continue
        sampled = np.interp(wl, grid, curve, left=0.0, right=0.0)
        if sampled.max() < RESPONSE_FLOOR:
            dropped.append((band, f"centre {centre:.0f} nm falls between HSI bands (peak response "
                                  f"{sampled.max():.3f} < {RESPONSE_FLOOR})"))
            continue
        row = sampled if fwhm is None else shapes @ curve
        rows.append(row / row.sum())
        kept.append(band)
        centres.append(centre)
    if not rows:
        raise ValueError(f"{sensor}: no MSI band overlaps the HSI range {lo:.1f}-{hi:.1f} nm")
    _warn_dropped(sensor, dropped, wl)
    return SpectralResponse(np.vstack(rows), kept, np.asarray(centres), sensor, [d[0] for d in dropped],
                            [str(b) for b in curves])


def _read_table(path: Path, keys: Sequence[str], what: str) -> np.ndarray:
    """A 2-D numeric table from a ``.mat`` (first of ``keys`` present, else the only 2-D variable),
    ``.npy``, or text/CSV file (comma or whitespace separated, ``#`` comments)."""
    suffix = path.suffix.lower()
    if suffix == ".mat":
        import scipy.io

        data = {k: v for k, v in scipy.io.loadmat(str(path)).items()
                if not k.startswith("__") and isinstance(v, np.ndarray)}
        key = next((k for k in keys if k in data), None)
        if key is None:
            two_d = [k for k, v in data.items() if v.ndim == 2 and v.dtype.kind in "biuf" and min(v.shape) > 1]
            if len(two_d) != 1:
                listed = ", ".join(f"'{k}' {v.shape}" for k, v in data.items()) or "(nothing)"
                raise ValueError(f"{path}: cannot find the {what}: no variable named "
                                 f"{' or '.join(repr(k) for k in keys)} and {len(two_d)} 2-D arrays; the file "
                                 f"holds {listed}. Pass `key=`")
            key = two_d[0]
        table = data[key]
    elif suffix == ".npy":
        table = np.load(path, allow_pickle=False)
    else:
        text = path.read_text()
        table = np.loadtxt(text.replace(",", " ").splitlines(), comments="#")
    table = np.asarray(table, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"{path}: the {what} must be a 2-D table, got shape {table.shape}")
    if not np.all(np.isfinite(table)):
        raise ValueError(f"{path}: the {what} contains NaN/Inf")
    return table


def ikonos_srf(wavelengths: Any, path: str | Path | None = None, bands: Sequence[str] | None = IKONOS_MS_BANDS,
               fwhm: float | Sequence[float] | str | None = "auto", key: str | None = None) -> SpectralResponse:
    """IKONOS SRF from its published relative response table, integrated over each HSI band.

    The curves are not in ``pyrsr``; the user supplies the table (see :data:`WHERE_IKONOS`):
    a ``.mat`` (HySure's ``ikonos_spec_resp.mat``, variable ``ikonos_sp``), ``.npy`` or text/CSV file
    with columns ``wavelength (nm), PAN, Blue, Green, Red, NIR`` (:data:`IKONOS_COLUMNS`).

    Args:
        wavelengths: ``(K_H,)`` HSI band centres in nm.
        path: the table; default ``$FRESCO_DATA/ikonos_spec_resp.mat`` (``data/`` when unset).
        bands: which of ``pan, blue, green, red, nir`` to keep (default the four multispectral ones).
        fwhm: HSI band shape (see :func:`table_srf`).
        key: variable name in a ``.mat`` (default ``ikonos_sp``, else the only 2-D array).
    """
    p = Path(path) if path is not None else Path(os.environ.get("FRESCO_DATA", "data")) / IKONOS_FILE
    if not p.is_file():
        raise FileNotFoundError(f"IKONOS spectral response table not found. Looked for:\n  - {p}\n"
                                f"To get it: {WHERE_IKONOS}.")
    table = _read_table(p, [key] if key else ["ikonos_sp"], "IKONOS response table")
    if table.shape[1] != len(IKONOS_COLUMNS):
        raise ValueError(f"{p}: the IKONOS table has {table.shape[1]} columns; expected {len(IKONOS_COLUMNS)}: "
                         f"{', '.join(IKONOS_COLUMNS)}")
    grid = table[:, 0]
    if grid.max() < MICROMETRE_LIMIT:
        grid = grid * 1000.0
    names = list(IKONOS_COLUMNS[1:])
    wanted = names if bands is None else [str(b).lower() for b in bands]
    unknown = [b for b in wanted if b not in names]
    if unknown:
        raise ValueError(f"IKONOS: unknown band(s) {unknown}; available: {names}")
    curves = {b: table[:, 1 + names.index(b)] for b in wanted}
    return table_srf(wavelengths, grid, curves, fwhm=fwhm, sensor="IKONOS")


def read_srf_matrix(path: str | Path, key: str | None = None) -> np.ndarray:
    """A ``(K_M, K_H)`` SRF matrix from a ``.mat`` (variable ``key``, else ``Q``, ``P``, ``R``, ``srf``, else
    the only 2-D array), ``.npy`` or text/CSV file (one MSI band per row)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"SRF matrix file {p} not found; give a .mat/.npy/.csv holding P (K_M, K_H), "
                                "one row per MSI band (config `srf.path`)")
    return _read_table(p, [key] if key else list(MATRIX_KEYS), "SRF matrix")


def matrix_srf(matrix: Any, band_names: Sequence[str] | None = None, sensor: str = "user",
               wavelengths: Any = None) -> SpectralResponse:
    """Wrap a user-given ``P`` ``(K_M, K_H)``: validate it and normalise its rows to sum 1.

    Args:
        matrix: nonnegative finite ``(K_M, K_H)`` array; each row must have a positive sum.
        band_names: default ``"b0", "b1", ...``.
        sensor: recorded in the result.
        wavelengths: optional ``(K_H,)`` HSI centres (nm) to compute each band's centroid.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"the SRF matrix must be 2-D (K_M, K_H), got shape {m.shape}")
    if m.shape[0] > m.shape[1]:
        raise ValueError(f"the SRF matrix has shape {m.shape}: more MSI rows than HSI columns; did you "
                         "pass P transposed? Expected (K_M, K_H)")
    if not np.all(np.isfinite(m)):
        raise ValueError("the SRF matrix contains NaN/Inf")
    if np.any(m < 0):
        rows = np.unique(np.nonzero(m < 0)[0]).tolist()
        raise ValueError(f"the SRF matrix has negative entries (rows {rows}); a spectral response is "
                         "nonnegative. Clip or re-estimate it")
    sums = m.sum(axis=1)
    if np.any(sums <= 0):
        raise ValueError(f"the SRF matrix has all-zero rows {np.nonzero(sums <= 0)[0].tolist()}; drop them")
    m = m / sums[:, None]
    names = list(band_names) if band_names is not None else [f"b{k}" for k in range(m.shape[0])]
    if wavelengths is not None:
        wl = _as_wavelengths(wavelengths)
        if wl.size != m.shape[1]:
            raise ValueError(f"the SRF matrix has {m.shape[1]} HSI columns but the HSI has {wl.size} bands "
                             f"({wl.size} wavelengths); it must be (K_M, K_H) = (MSI bands, {wl.size})")
        centres = m @ wl
    else:
        centres = np.full(m.shape[0], np.nan)
    return SpectralResponse(m, names, centres, sensor)


#: Preset names accepted by :func:`make_srf`.
SRF_PRESETS = ("landsat_box", "quickbird_box", "ali_box", "sentinel2a", "sentinel2b", "landsat8_oli", "ikonos",
               "matrix")


def make_srf(name: str, wavelengths: Any, **kw: Any) -> SpectralResponse:
    """A named SRF on the given HSI band centres (the ``srf`` config group's entry point).

    Names: ``landsat_box``, ``quickbird_box``, ``ali_box`` (box bands), ``sentinel2a``, ``sentinel2b``,
    ``landsat8_oli`` (pyrsr curves; OLI bands 1-7 and 9, no pan, no thermal), ``ikonos`` (the user's IKONOS
    response table, ``path=``; see :func:`ikonos_srf`), ``matrix`` (``matrix=`` an array or ``path=`` a
    file, see :func:`read_srf_matrix`). Extra keywords go to :func:`box_srf` / :func:`curve_srf` /
    :func:`ikonos_srf` / :func:`matrix_srf`.
    """
    boxes = {"landsat_box": (LANDSAT_BOX_EDGES, LANDSAT_BOX_NAMES),
             "quickbird_box": (QUICKBIRD_BOX_EDGES, QUICKBIRD_BOX_NAMES),
             "ali_box": (ALI_BOX_EDGES, ALI_BOX_NAMES)}
    if name in boxes:
        edges, names = boxes[name]
        if "edges_nm" in kw:  # custom boxes: the preset's band names no longer apply
            edges, names = kw.pop("edges_nm"), None
        kw.setdefault("band_names", names)
        return box_srf(wavelengths, edges, sensor=name, **kw)
    if name == "sentinel2a":
        return curve_srf(wavelengths, "Sentinel-2A", **kw)
    if name == "sentinel2b":
        return curve_srf(wavelengths, "Sentinel-2B", **kw)
    if name == "landsat8_oli":
        return curve_srf(wavelengths, "Landsat-8", **kw)
    if name == "ikonos":
        return ikonos_srf(wavelengths, **kw)
    if name == "matrix":
        path, key = kw.pop("path", None), kw.pop("key", None)
        if path is not None:
            kw["matrix"] = read_srf_matrix(path, key)
        if kw.get("matrix") is None:
            raise ValueError("make_srf('matrix', ...) needs matrix=<(K_M, K_H) array> or path=<.mat/.npy/.csv file>")
        return matrix_srf(kw.pop("matrix"), wavelengths=wavelengths, **kw)
    raise ValueError(f"unknown SRF preset {name!r}; choose one of {SRF_PRESETS}")
