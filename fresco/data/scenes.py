"""Ground-truth scenes: the hyperspectral cubes pairs are simulated from, with their band centres.

A :class:`Scene` is one cube ``(H, W, K)`` ``float32`` in ``[0, 1]`` plus its band centres in nm.
Loaders find the file, verify a checksum where one is known, normalise, and reject malformed input
with an error that says what is wrong and how to fix it (torchgeo style). Where each file comes from
is tabulated in ``docs/data.md`` and ``data/README.md``.

Normalisation (``normalise=``):
    ``"max"``     clip negatives to 0, then divide by the cube's global maximum (keeps zero at zero and
                  the ratios between bands, which is what the linear mixing model needs);
    ``"minmax"``  ``(x - min) / (max - min)`` over the whole cube;
    ``"none"``    no change; the data must already lie in ``[0, 1]``.
The divisor and offset are kept in ``scene.meta["normalisation"]`` so values can be mapped back.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fresco.data.datasets import INDIAN_PINES, PAVIA_UNIVERSITY, TERRAIN, DatasetNotFoundError

__all__ = [
    "INDIAN_PINES_DROPPED_ROWS",
    "INDIAN_PINES_FILE",
    "INDIAN_PINES_RGB",
    "INDIAN_PINES_SHA256",
    "MIN_BANDS",
    "NORMALISATIONS",
    "PAVIA_RGB",
    "TERRAIN_RGB",
    "Scene",
    "load_cube",
    "load_indian_pines",
    "load_pavia_university",
    "load_terrain",
    "normalise_cube",
    "pavia_wavelengths",
    "read_wavelengths",
    "to_hwk",
]

# ----------------------------------------------------------------------------- constants
NORMALISATIONS = ("max", "minmax", "none")
#: A cube with fewer bands than this is not hyperspectral (an RGB image or a single band).
MIN_BANDS = 3

INDIAN_PINES_FILE = INDIAN_PINES.files[0]
INDIAN_PINES_SHA256 = INDIAN_PINES.sha256[INDIAN_PINES_FILE]
INDIAN_PINES_SHAPE = INDIAN_PINES.shape
INDIAN_PINES_SPC = "92AV3C.spc"
#: 0-based rows of the 220-row AVIRIS calibration table removed in the "corrected" cube
#: (water absorption bands 104-108, 150-163 and 220, 1-based).
INDIAN_PINES_DROPPED_ROWS = (*range(103, 108), *range(149, 163), 219)
#: Display bands 29, 19, 9 (686.5, 587.2, 488.4 nm): the false-colour triple most Indian Pines
#: figures use, so our figures are comparable with the literature.
INDIAN_PINES_RGB = INDIAN_PINES.rgb_bands
#: Header lines above the numeric table of 92AV3C.spc.
SPC_HEADER_LINES = 2

PAVIA_KEYS = ("paviaU", "paviaU_subimg")
PAVIA_FILES = PAVIA_UNIVERSITY.files
PAVIA_N_BANDS = PAVIA_UNIVERSITY.shape[2]
PAVIA_FIRST_NM = 430.0
PAVIA_STEP_NM = 4.2
PAVIA_RGB = PAVIA_UNIVERSITY.rgb_bands
PAVIA_SPEC_KEY = "paviaU_spec"

TERRAIN_RGB = TERRAIN.rgb_bands
#: ENVI headers give wavelengths in micrometres or nanometres; centres below this are micrometres.
MICROMETRE_CUTOFF = 100.0
NM_PER_MICROMETRE = 1000.0

# ----------------------------------------------------------------------------- Scene
@dataclass
class Scene:
    """One ground-truth hyperspectral scene.

    Attributes:
        cube: ``(H, W, K)`` ``float32`` reflectance-like values in ``[0, 1]``.
        wavelengths: ``(K,)`` ``float64`` band centres in nm, in the cube's band order (AVIRIS
            centres are not monotonic at the spectrometer overlaps; they are kept as in the cube).
        name: short identifier used in pair names and result tables.
        rgb_bands: 0-based (red, green, blue) band indices for display, or ``None``.
        meta: provenance (file, checksum, normalisation, raw dtype and range, ...).
    """

    cube: np.ndarray
    wavelengths: np.ndarray
    name: str = "scene"
    rgb_bands: tuple[int, int, int] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cube = _check_cube(np.asarray(self.cube), self.name)
        if self.cube.dtype != np.float32:
            self.cube = self.cube.astype(np.float32)
        lo, hi = float(self.cube.min()), float(self.cube.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"Scene '{self.name}': cube values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
                "normalise it first (fresco.data.scenes.normalise_cube(cube, 'max'))"
            )
        self.wavelengths = _check_wavelengths(self.wavelengths, self.cube.shape[2], self.name)
        if self.rgb_bands is not None:
            rgb = tuple(int(b) for b in self.rgb_bands)
            k = self.cube.shape[2]
            if len(rgb) != 3 or not all(0 <= b < k for b in rgb):
                raise ValueError(
                    f"Scene '{self.name}': rgb_bands must be 3 band indices in [0, {k}); got {self.rgb_bands}"
                )
            self.rgb_bands = rgb  # type: ignore[assignment]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, K)``."""
        return tuple(self.cube.shape)  # type: ignore[return-value]

    @property
    def n_bands(self) -> int:
        return int(self.cube.shape[2])

    def crop(self, rows: slice, cols: slice, name: str | None = None) -> Scene:
        """A spatial sub-scene (same bands); ``meta`` records the crop offsets."""
        sub = self.cube[rows, cols]
        meta = dict(self.meta)
        meta["crop"] = {"rows": [rows.start, rows.stop], "cols": [cols.start, cols.stop]}
        return Scene(np.ascontiguousarray(sub), self.wavelengths.copy(), name or f"{self.name}_crop",
                     self.rgb_bands, meta)


# ----------------------------------------------------------------------------- validation helpers
def _check_cube(raw: np.ndarray, what: str, min_bands: int = MIN_BANDS) -> np.ndarray:
    if raw.ndim != 3:
        raise ValueError(
            f"{what}: expected a 3-D cube (rows, cols, bands); got an array of rank {raw.ndim} with "
            f"shape {raw.shape}. If the file stores pixels x bands, reshape it to (rows, cols, bands); "
            "if it holds several variables, pass `key=` to pick the cube"
        )
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"{what}: cube has non-numeric dtype {raw.dtype}; expected integers or floats")
    if raw.shape[2] < min_bands:
        raise ValueError(
            f"{what}: the cube has only {raw.shape[2]} band(s) (shape {raw.shape}); a hyperspectral "
            f"scene needs at least {min_bands}. Is the band axis last? (expected rows, cols, bands)"
        )
    if raw.shape[0] < 1 or raw.shape[1] < 1:
        raise ValueError(f"{what}: cube has an empty spatial extent {raw.shape}")
    if raw.dtype.kind == "f":
        bad = ~np.isfinite(raw)
        if bad.any():
            n_bad = int(bad.sum())
            bands = np.unique(np.nonzero(bad)[2])
            raise ValueError(
                f"{what}: the cube contains {n_bad} NaN/Inf value(s) (in band(s) "
                f"{bands[:10].tolist()}{' ...' if bands.size > 10 else ''}); clean or inpaint them, or "
                "drop those bands, before loading"
            )
    return raw


def _check_wavelengths(wavelengths: Any, n_bands: int, what: str) -> np.ndarray:
    wl = np.asarray(wavelengths, dtype=np.float64).ravel()
    if wl.size != n_bands:
        raise ValueError(
            f"{what}: got {wl.size} wavelengths for a cube with {n_bands} bands; pass one centre (nm) "
            "per band, in the cube's band order (for a cube with bad bands removed, remove the same rows "
            "from the wavelength list)"
        )
    if not np.all(np.isfinite(wl)) or np.any(wl <= 0):
        raise ValueError(f"{what}: wavelengths must be positive and finite (nm); got range "
                         f"[{np.nanmin(wl)}, {np.nanmax(wl)}]")
    return wl


def normalise_cube(raw: np.ndarray, normalise: str = "max", what: str = "cube"
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """Map a raw cube to ``float32`` in ``[0, 1]``.

    Args:
        raw: ``(H, W, K)`` numeric array, any dtype, finite.
        normalise: ``"max"``, ``"minmax"`` or ``"none"`` (see the module docstring).
        what: name used in error messages.

    Returns:
        ``(cube, info)`` with ``raw ~= cube * info["scale"] + info["offset"]`` (exact for "minmax"
        and "none", and for "max" wherever ``raw >= 0``).
    """
    if normalise not in NORMALISATIONS:
        raise ValueError(f"{what}: unknown normalise={normalise!r}; choose one of {NORMALISATIONS}")
    x = raw.astype(np.float64, copy=False)
    raw_min, raw_max = float(x.min()), float(x.max())
    info: dict[str, Any] = {"method": normalise, "raw_dtype": str(raw.dtype), "raw_min": raw_min,
                            "raw_max": raw_max}
    if normalise == "none":
        if raw_min < 0.0 or raw_max > 1.0:
            raise ValueError(
                f"{what}: normalise='none' needs data already in [0, 1], got [{raw_min:.4g}, "
                f"{raw_max:.4g}]; use normalise='max' (divide by the maximum) or 'minmax'"
            )
        scale, offset, out = 1.0, 0.0, x
    elif normalise == "max":
        # Negative reflectance is sensor noise / atmospheric over-correction, not signal.
        if raw_max <= 0.0:
            raise ValueError(f"{what}: normalise='max' needs a positive maximum; the cube's maximum is "
                             f"{raw_max:.4g} (all values <= 0)")
        scale, offset = raw_max, 0.0
        info["n_clipped_negative"] = int((x < 0).sum())
        out = np.clip(x, 0.0, None) / scale
    else:  # minmax
        if raw_max <= raw_min:
            raise ValueError(f"{what}: normalise='minmax' needs a non-constant cube; all values equal "
                             f"{raw_min:.4g}")
        scale, offset = raw_max - raw_min, raw_min
        out = (x - offset) / scale
    info.update(scale=scale, offset=offset)
    # float64 -> float32 rounding can land a hair outside [0, 1].
    return np.clip(out, 0.0, 1.0).astype(np.float32), info


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_dir(name: str) -> Path | None:
    """Folder of an installed package, found without importing it (tensorly's import is slow)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# ----------------------------------------------------------------------------- file readers
def _mat_variables(path: Path) -> dict[str, np.ndarray]:
    import scipy.io

    try:
        data = scipy.io.loadmat(str(path))
    except NotImplementedError as err:  # scipy raises this for MATLAB v7.3 (HDF5) files
        raise ValueError(
            f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save it in MATLAB with "
            "`save(name, var, '-v7')`, or convert it to .npy"
        ) from err
    return {k: v for k, v in data.items() if not k.startswith("__") and isinstance(v, np.ndarray)}


def describe_variables(variables: dict[str, Any]) -> str:
    """``"'HSI' (72, 72, 128), 'MSI' (72, 72, 9)"``: what a file holds, for error messages."""
    return ", ".join(f"'{k}' {tuple(np.shape(v))}" for k, v in variables.items()) or "(nothing)"


def _pick_variable(variables: dict[str, np.ndarray], key: str | Sequence[str] | None, path: Path
                   ) -> tuple[str, np.ndarray]:
    """The cube variable: ``key`` (or the first of several candidates present), else the only 3-D one."""
    if key is not None:
        candidates = [key] if isinstance(key, str) else list(key)
        for k in candidates:
            if k in variables:
                return k, variables[k]
        raise ValueError(
            f"{path}: no variable named {' or '.join(repr(k) for k in candidates)}; the file holds "
            f"{describe_variables(variables)}. Set `key=` (config `dataset.loader.key`) to one of these"
        )
    cubes = {k: v for k, v in variables.items() if v.ndim == 3}
    if len(cubes) == 1:
        return next(iter(cubes.items()))
    raise ValueError(
        f"{path}: cannot tell which variable is the cube ({len(cubes)} 3-D arrays); the file holds "
        f"{describe_variables(variables)}. Pass `key=` (config `dataset.loader.key`)"
    )


def _read_envi(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    import spectral.io.envi as envi

    hdr = path if path.suffix.lower() == ".hdr" else path.with_suffix(".hdr")
    if not hdr.is_file():
        raise DatasetNotFoundError(f"ENVI header for {path}", [hdr], "an ENVI image needs its .hdr next to the data "
                                   "file; set `dataset.loader.path` to the .hdr")
    try:
        img = envi.open(str(hdr))
    except envi.EnviDataFileNotFoundError as err:
        raise FileNotFoundError(
            f"ENVI data file for header {hdr} not found ({err}); put the .img/.dat/.raw next to the "
            "header with the same stem"
        ) from err
    cube = np.asarray(img.load())
    return cube, dict(img.metadata)


def _envi_wavelengths(metadata: dict[str, Any]) -> np.ndarray | None:
    values = metadata.get("wavelength")
    if values is None:
        return None
    wl = np.asarray([float(v) for v in values], dtype=np.float64)
    units = str(metadata.get("wavelength units", "")).lower()
    in_micrometres = units.startswith(("micro", "um", "µm"))
    if in_micrometres or (not units.startswith("nano") and wl.max() < MICROMETRE_CUTOFF):
        wl = wl * NM_PER_MICROMETRE
    return wl


def _read_geotiff(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """A (Geo)TIFF raster with ``tifffile``: ``(rows, cols, bands)`` and its pixel size / nodata when tagged."""
    import tifffile

    with tifffile.TiffFile(str(path)) as tif:
        series = tif.series[0]
        arr = series.asarray()
        axes = series.axes
        tags = tif.pages[0].tags
        scale = tags.get("ModelPixelScaleTag")
        nodata = tags.get("GDAL_NODATA")
        scale = None if scale is None else tuple(scale.value)
        nodata = None if nodata is None else nodata.value
    info: dict[str, Any] = {"tiff_axes": axes}
    if scale is not None:
        info["pixel_size"] = [float(scale[1]), float(scale[0])]  # (row, col) ground units
    if nodata is not None:
        try:
            info["nodata"] = float(str(nodata).strip().strip("\x00"))
        except ValueError:
            pass
    if arr.ndim == 3 and "Y" in axes and "X" in axes:
        band_axis = next(i for i, a in enumerate(axes) if a not in "YX")
        arr = np.moveaxis(arr, band_axis, 2)
    return arr, info


def _envi_pixel_size(metadata: dict[str, Any]) -> list[float] | None:
    """(row, col) pixel size from an ENVI ``map info`` (fields 6 and 5: x size, y size), else ``None``."""
    info = metadata.get("map info")
    if not info or len(info) < 7:
        return None
    try:
        return [float(info[6]), float(info[5])]
    except (TypeError, ValueError):
        return None


#: Axis letters of ``axes=``: rows (H), cols (W), bands (K). "HWK" is the layout every loader returns.
AXES = "HWK"


def to_hwk(raw: np.ndarray, axes: str, what: str) -> np.ndarray:
    """Reorder a 3-D array whose axes are named by ``axes`` (a permutation of ``"HWK"``: rows, cols, bands;
    e.g. ``"KHW"`` for band-first GDAL / PyTorch layouts) to ``(rows, cols, bands)``."""
    order = str(axes).upper().replace("C", "K")
    if sorted(order) != sorted(AXES):
        raise ValueError(f"{what}: axes={axes!r} must be a permutation of 'HWK' (H rows, W cols, K bands), "
                         "e.g. 'KHW' for a bands-first array")
    if raw.ndim != 3:
        return raw  # the rank check reports it
    return np.transpose(raw, [order.index(a) for a in AXES])


def _read_array(path: Path, key: str | Sequence[str] | None) -> tuple[np.ndarray, dict[str, Any]]:
    """Raw cube and provenance from a .mat / .npy / .npz / ENVI / GeoTIFF file (as stored: no axis reorder
    except for ENVI and TIFF, whose band axis is known from the file)."""
    suffix = path.suffix.lower()
    info: dict[str, Any] = {"path": str(path)}
    if suffix == ".mat":
        name, arr = _pick_variable(_mat_variables(path), key, path)
        info["key"] = name
    elif suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            name, arr = _pick_variable({k: data[k] for k in data.files}, key, path)
        info["key"] = name
    elif suffix in (".hdr", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip"):
        arr, metadata = _read_envi(path)
        info["envi_wavelengths"] = _envi_wavelengths(metadata)
        pixel = _envi_pixel_size(metadata)
        if pixel is not None:
            info["pixel_size"] = pixel
    elif suffix in (".tif", ".tiff"):
        arr, tiff_info = _read_geotiff(path)
        info.update(tiff_info)
    else:
        raise ValueError(f"{path}: unsupported file type '{suffix}'; use .mat, .npy, .npz, ENVI .hdr/.img or "
                         "GeoTIFF .tif")
    return np.asarray(arr), info


def _finish(raw: np.ndarray, wavelengths: Any, name: str, normalise: str,
            rgb_bands: tuple[int, int, int] | None, meta: dict[str, Any]) -> Scene:
    raw = _check_cube(raw, name)
    wl = _check_wavelengths(wavelengths, raw.shape[2], name)
    cube, norm = normalise_cube(raw, normalise, name)
    meta = {**meta, "normalisation": norm}
    return Scene(cube=cube, wavelengths=wl, name=name, rgb_bands=rgb_bands, meta=meta)


def read_wavelengths(path: str | Path, key: str | None = None) -> np.ndarray:
    """Band centres (nm) from a file: a text/CSV list (first column), ``.npy``, or ``.mat`` (variable ``key``,
    else ``wavelengths`` / ``wavelength`` / ``wl``, else the only variable). Values below 100 are taken as
    micrometres and converted to nm."""
    p = Path(path)
    if not p.is_file():
        raise DatasetNotFoundError(f"wavelength file {p.name}", [p], "give a text/CSV/.npy/.mat file with one band "
                                   "centre (nm) per band, in the cube's band order")
    suffix = p.suffix.lower()
    if suffix == ".mat":
        variables = _mat_variables(p)
        if key is None and len(variables) == 1:
            key = next(iter(variables))
        wl = _pick_variable(variables, key or ("wavelengths", "wavelength", "wl", "wavelengths_nm"), p)[1]
    elif suffix == ".npy":
        wl = np.load(p, allow_pickle=False)
    else:
        table = np.loadtxt(p.read_text().replace(",", " ").splitlines(), comments="#", ndmin=2)
        wl = table[:, 0] if table.shape[1] > 1 and table.shape[0] > 1 else table
    wl = np.asarray(wl, dtype=np.float64).ravel()
    if wl.size and np.nanmax(wl) < MICROMETRE_CUTOFF:
        wl = wl * NM_PER_MICROMETRE
    return wl


# ----------------------------------------------------------------------------- loaders
def indian_pines_wavelengths(spc_path: str | Path | None = None) -> np.ndarray:
    """The 200 AVIRIS band centres (nm) of the corrected Indian Pines cube, from ``92AV3C.spc``.

    ``spc_path`` defaults to the copy the ``spectral`` package ships (``spectral/tests/data``).
    Rows :data:`INDIAN_PINES_DROPPED_ROWS` (water absorption) are removed from the 220-row table.
    """
    if spc_path is None:
        pkg = _package_dir("spectral")
        folder = (pkg / "tests" / "data") if pkg else Path("spectral/tests/data")
        candidate = folder / INDIAN_PINES_SPC
    else:
        candidate = Path(spc_path)
        if candidate.is_dir():
            candidate = candidate / INDIAN_PINES_SPC
    if not candidate.is_file():
        raise DatasetNotFoundError("AVIRIS calibration file 92AV3C.spc (Indian Pines band centres)", [candidate],
                                   "`pip install spectral` (>= 0.23) ships it as spectral/tests/data/92AV3C.spc; "
                         "or pass `wavelengths_file=` (config `dataset.loader.wavelengths_file`)")
    table = np.loadtxt(candidate, skiprows=SPC_HEADER_LINES)
    keep = np.setdiff1d(np.arange(table.shape[0]), INDIAN_PINES_DROPPED_ROWS)
    return table[keep, 0].astype(np.float64)


def load_indian_pines(root: str | Path | None = None, normalise: str = "max", verify: bool = True,
                      wavelengths_file: str | Path | None = None) -> Scene:
    """AVIRIS Indian Pines (corrected): ``(145, 145, 200)``, 400-2500 nm.

    Args:
        root: folder holding ``Indian_pines_corrected.npy`` (or that file's path). ``None``: the copy
            inside the installed ``tensorly`` wheel.
        normalise: see the module docstring (raw data are uint16 DN 955..9604).
        verify: check the file's sha256 against :data:`INDIAN_PINES_SHA256`.
        wavelengths_file: ``92AV3C.spc`` to read band centres from (default: ``spectral``'s copy).

    Returns:
        Scene with ``rgb_bands`` :data:`INDIAN_PINES_RGB`. Wavelengths come from the AVIRIS
        calibration file, never from tensorly's list (which has errors).
    """
    if root is None:
        pkg = _package_dir("tensorly")
        if pkg is None:
            raise DatasetNotFoundError(f"Indian Pines cube {INDIAN_PINES_FILE} (the tensorly package is not "
                                       "installed)", [], INDIAN_PINES.where)
        path = pkg / "datasets" / "data" / INDIAN_PINES_FILE
    else:
        path = Path(root)
        if path.is_dir() or path.suffix.lower() != ".npy":
            path = path / INDIAN_PINES_FILE
    if not path.is_file():
        raise INDIAN_PINES.not_found([path], f"Indian Pines cube {INDIAN_PINES_FILE}")
    if verify:
        digest = _sha256(path)
        if digest != INDIAN_PINES_SHA256:
            raise ValueError(
                f"{path}: sha256 checksum mismatch (expected {INDIAN_PINES_SHA256}, got {digest}); the "
                "file is corrupt or a different version. Reinstall tensorly (`pip install --force-reinstall "
                "tensorly`) or re-download it; pass verify=False only if you know the file is right"
            )
    raw = np.load(path, allow_pickle=False)
    if raw.shape != INDIAN_PINES_SHAPE:
        raise ValueError(f"{path}: expected Indian Pines shape {INDIAN_PINES_SHAPE}, got {raw.shape}")
    wl = indian_pines_wavelengths(wavelengths_file)
    meta = {"path": str(path), "sha256": INDIAN_PINES_SHA256 if verify else None, "sensor": "AVIRIS",
            "source": "Purdue doi:10.4231/R7RX991C (CC BY 3.0), via tensorly"}
    return _finish(raw, wl, "indian_pines", normalise, INDIAN_PINES_RGB, meta)


def pavia_wavelengths(n_bands: int = PAVIA_N_BANDS) -> np.ndarray:
    """ROSIS band centres of Pavia University: ``430 + 4.2 k`` nm, ``k = 0..n_bands-1``."""
    return PAVIA_FIRST_NM + PAVIA_STEP_NM * np.arange(n_bands, dtype=np.float64)


def load_pavia_university(path: str | Path, key: str | None = None, normalise: str = "max",
                          wavelengths: str | Path | np.ndarray | None = None) -> Scene:
    """ROSIS Pavia University: ``PaviaU.mat`` (key ``paviaU``, 610x340x103) or a crop (``paviaU_subimg``).

    Args:
        path: the ``.mat`` file, or a folder holding ``PaviaU.mat`` / ``paviaU_subimg.mat``.
        key: variable name; default: ``paviaU``, else ``paviaU_subimg``.
        normalise: see the module docstring (raw data are uint16 DN).
        wavelengths: ``None`` for ``430 + 4.2 k`` nm; a ``paviaU_spec.mat`` path; or an array.
    """
    p = Path(path)
    if p.is_dir():
        tried = [p / f for f in PAVIA_FILES]
        found = [t for t in tried if t.is_file()]
        if not found:
            raise PAVIA_UNIVERSITY.not_found(tried)
        p = found[0]
    elif not p.is_file():
        raise PAVIA_UNIVERSITY.not_found([p])
    if p.suffix.lower() == ".mat":
        variables = _mat_variables(p)
        name, raw = _pick_variable(variables, key if key is not None else PAVIA_KEYS, p)
        info: dict[str, Any] = {"path": str(p), "key": name}
    else:
        raw, info = _read_array(p, key)
    raw = _check_cube(np.asarray(raw), f"Pavia University ({p})")
    if wavelengths is None:
        wl = pavia_wavelengths(raw.shape[2])
    elif isinstance(wavelengths, (str, Path)):
        spec_vars = _mat_variables(Path(wavelengths))
        wl = _pick_variable(spec_vars, PAVIA_SPEC_KEY, Path(wavelengths))[1]
    else:
        wl = wavelengths
    meta = {**info, "sensor": "ROSIS-03", "source": "Univ. of Pavia / EHU GIC"}
    return _finish(raw, wl, "pavia_university", normalise, PAVIA_RGB if raw.shape[2] == PAVIA_N_BANDS
                   else None, meta)


def load_terrain(path: str | Path, normalise: str = "max",
                 wavelengths: np.ndarray | None = None) -> Scene:
    """HYDICE Terrain (ENVI ``.hdr`` + data file, 307x307x210); band centres from the header.

    Args:
        path: the ``.hdr`` (or the data file next to it), or a folder holding one ``.hdr``.
        normalise: see the module docstring.
        wavelengths: override when the header has none (nm, one per band).
    """
    p = Path(path)
    if p.is_dir():
        headers = sorted(p.glob("*.hdr"))
        if len(headers) != 1:
            raise DatasetNotFoundError(f"Terrain ENVI header (exactly one .hdr in {p}, found {len(headers)})",
                                       [p / "terrain.hdr"], TERRAIN.where)
        p = headers[0]
    if not p.is_file():
        raise TERRAIN.not_found([p], "HYDICE Terrain cube")
    raw, info = _read_array(p, None)
    wl = wavelengths if wavelengths is not None else info.pop("envi_wavelengths", None)
    info.pop("envi_wavelengths", None)
    if wl is None:
        raise ValueError(f"{p}: the ENVI header has no 'wavelength' field; pass `wavelengths=` "
                         "(config `dataset.loader.wavelengths`), one centre in nm per band")
    meta = {**info, "sensor": "HYDICE"}
    rgb = TERRAIN_RGB if raw.ndim == 3 and raw.shape[2] > max(TERRAIN_RGB) else None
    return _finish(raw, wl, "terrain", normalise, rgb, meta)


def load_cube(path: str | Path, key: str | None = None, wavelengths: Any = None, name: str | None = None,
              normalise: str = "max", rgb_bands: tuple[int, int, int] | None = None, axes: str = "HWK") -> Scene:
    """Any cube in a ``.mat``, ``.npy``, ``.npz``, ENVI or GeoTIFF file.

    Args:
        path: the file (for ENVI, the ``.hdr`` or its data file).
        key: variable name in a ``.mat`` / ``.npz`` (default: the only 3-D array).
        axes: axis order of the stored array for ``.mat`` / ``.npy`` / ``.npz``, a permutation of ``"HWK"``
            (rows, cols, bands), e.g. ``"KHW"`` for bands first. ENVI and GeoTIFF files name their band
            axis themselves and always load as ``HWK``.
        wavelengths: band centres in nm, one per band; ``None`` reads them from an ENVI header, or
            from a ``wavelengths`` / ``wavelength`` variable next to the cube in a ``.mat``/``.npz``.
        name: scene name (default: the file stem).
        normalise: see the module docstring.
        rgb_bands: display bands (0-based).
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetNotFoundError(f"Hyperspectral cube {p.name}", [p],
                                   "check `dataset.loader.path` (a .mat/.npy/.npz/ENVI file holding the cube)")
    raw, info = _read_array(p, key)
    if p.suffix.lower() in (".mat", ".npy", ".npz"):
        raw = to_hwk(raw, axes, f"cube {p}")
        info["axes"] = str(axes)
    wl = wavelengths
    if isinstance(wl, (str, Path)):
        wl = read_wavelengths(wl)
    if wl is None:
        wl = info.pop("envi_wavelengths", None)
    info.pop("envi_wavelengths", None)
    if wl is None and p.suffix.lower() in (".mat", ".npz"):
        if p.suffix.lower() == ".mat":
            variables = _mat_variables(p)
        else:
            with np.load(p, allow_pickle=False) as data:
                variables = {k: data[k] for k in data.files}
        for candidate in ("wavelengths", "wavelength", "wl", "wavelengths_nm"):
            if candidate in variables:
                wl = np.asarray(variables[candidate], dtype=np.float64).ravel()
                # Files from MATLAB toolboxes often store micrometres.
                if wl.size and np.nanmax(wl) < MICROMETRE_CUTOFF:
                    wl = wl * NM_PER_MICROMETRE
                info["wavelengths_from"] = candidate
                break
    if wl is None:
        raise ValueError(f"{p}: no band centres found; pass `wavelengths=` (config "
                         "`dataset.loader.wavelengths`), one centre in nm per band")
    return _finish(raw, wl, name or p.stem, normalise, rgb_bands, info)
