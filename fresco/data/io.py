"""Reading and writing :class:`~fresco.data.pair.FusionPair` files.

Two formats:

``.mat`` (the authors' MATLAB layout, for exchanging pairs with other code)
    required ``MSI (I_M, J_M, K_M)``, ``HSI (I_H, J_H, K_H)``, ``Q (K_M, K_H)`` (the SRF ``P``);
    optional ``SRI_M (I_M, J_M, K_H)``, ``SRI_H (d I_H, d J_H, K_H)``; fresco extras ``ratio``,
    ``wavelengths (1, K_H)`` nm, ``mask_M``, ``mask_H`` (uint8), ``rgb_bands`` (0-based), ``name``,
    ``meta_json`` (the ``meta`` dict as JSON). Files without the extras load fine: the ratio is then
    inferred from ``SRI_H``/``HSI`` or ``MSI``/``HSI`` shapes. ``Q`` is kept as stored (rows are not
    renormalised) so exchanged pairs stay byte-comparable.

``.npz`` (``np.savez_compressed``; every field, ``meta`` as JSON; loads with ``allow_pickle=False``)

Writes are atomic: the file is written to a temporary name in the target folder, then renamed with
``os.replace`` so a crash never leaves a half-written pair. JSON turns tuples and numpy arrays in
``meta`` into lists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from fresco.data.pair import Acquisition, FusionPair
from fresco.data.scenes import describe_variables
from fresco.fileio import atomic_write
from fresco.ops.checks import check_image
from fresco.ops.degradation import Degradation, integer_ratio

__all__ = [
    "load_pair",
    "load_pair_mat",
    "load_pair_npz",
    "meta_from_json",
    "meta_to_json",
    "save_pair",
    "save_pair_mat",
    "save_pair_npz",
]

MAT_REQUIRED = ("MSI", "HSI", "Q")
#: Other names some codes use for the SRF matrix.
MAT_SRF_ALIASES = ("P", "R")
NPZ_REQUIRED = ("msi", "hsi", "srf", "ratio")
FORMAT_VERSION = 1


# ----------------------------------------------------------------------------- helpers
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Path, os.PathLike)):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"pair.meta holds a {type(obj).__name__} ({obj!r:.80}) that cannot be saved as JSON; "
                    "store plain numbers, strings, lists or dicts")


def meta_to_json(meta: dict[str, Any]) -> str:
    """``meta`` as JSON (numpy arrays/scalars -> lists/numbers, tuples -> lists)."""
    return json.dumps(meta, default=_json_default, allow_nan=True)


def meta_from_json(text: str) -> dict[str, Any]:
    return json.loads(text) if text else {}


def _as_image(arr: np.ndarray, key: str, path: Path) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 2:  # MATLAB drops a trailing singleton band axis
        arr = arr[:, :, None]
    arr = check_image(arr, f"{path}: '{key}'", finite=False)   # FusionPair checks the values
    return np.ascontiguousarray(arr, dtype=np.float32)


def _as_string(value: Any) -> str:
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        return "".join(str(x) for x in arr.ravel())
    return str(value)


def _infer_ratio(hsi: np.ndarray, msi: np.ndarray, sri_h: np.ndarray | None, path: Path) -> int:
    candidates = [("SRI_H", sri_h)] if sri_h is not None else []
    candidates.append(("MSI", msi))
    for what, fine in candidates:
        ratio = integer_ratio(fine.shape, hsi.shape)
        if ratio is not None:
            return ratio
        if what == "SRI_H":
            raise ValueError(f"{path}: SRI_H {fine.shape[:2]} is not an integer multiple of HSI "
                             f"{hsi.shape[:2]} on both axes; fix the file or pass ratio=")
    raise ValueError(f"{path}: cannot infer the spatial ratio (no 'ratio' or 'SRI_H', and MSI "
                     f"{msi.shape[:2]} / HSI {hsi.shape[:2]} is not one integer); pass ratio= "
                     "(config `dataset.ratio`)")


def _acquisition(text: str | None, meta: dict[str, Any]) -> Acquisition:
    """The stored acquisition record; files written before it existed kept the degradation in
    ``meta["degradation"]``, which moves into the record."""
    if text is not None:
        return Acquisition.from_dict(meta_from_json(text))
    legacy = meta.pop("degradation", None)
    return Acquisition(degradation=None if legacy is None else Degradation.from_dict(legacy))


# ----------------------------------------------------------------------------- .mat
def save_pair_mat(pair: FusionPair, path: str | Path) -> Path:
    """Write ``pair`` in the authors' ``.mat`` layout plus fresco extras (atomic)."""
    import scipy.io

    data: dict[str, Any] = {
        "MSI": pair.msi, "HSI": pair.hsi, "Q": np.asarray(pair.srf, dtype=np.float64),
        "ratio": float(pair.ratio), "name": pair.name, "meta_json": meta_to_json(pair.meta),
        "acquisition_json": meta_to_json(pair.acquisition.to_dict()), "fresco_format": float(FORMAT_VERSION),
    }
    # MATLAB has no bool arrays and stores vectors as rows.
    optional = {"SRI_M": pair.sri_m, "SRI_H": pair.sri_h,
                "mask_M": None if pair.mask_m is None else pair.mask_m.astype(np.uint8),
                "mask_H": None if pair.mask_h is None else pair.mask_h.astype(np.uint8),
                "wavelengths": None if pair.wavelengths is None
                else np.asarray(pair.wavelengths, np.float64)[None],
                "rgb_bands": None if pair.rgb_bands is None else np.asarray(pair.rgb_bands, np.float64)[None]}
    data.update({k: v for k, v in optional.items() if v is not None})
    return atomic_write(path, lambda fh: scipy.io.savemat(fh, data, do_compression=True))


def load_pair_mat(path: str | Path, ratio: int | None = None) -> FusionPair:
    """Read a ``.mat`` pair (authors' layout, with or without fresco extras).

    Args:
        path: the file.
        ratio: spatial ratio; default: the stored ``ratio``, else ``SRI_H``/``HSI``, else ``MSI``/``HSI``.
    """
    import scipy.io

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"pair file {p} not found; check the path (config `dataset.path`)")
    try:
        raw = scipy.io.loadmat(str(p))
    except NotImplementedError as err:
        raise ValueError(f"{p}: MATLAB v7.3 (HDF5) files are not supported; re-save with `save(name, "
                         "'MSI', 'HSI', 'Q', '-v7')`") from err
    except Exception as err:  # noqa: BLE001 - scipy raises many types on a damaged file
        raise ValueError(f"{p}: not a readable .mat file ({type(err).__name__}: {err}); is it truncated or "
                         "another format? Re-save or re-download it") from err
    data = {k: v for k, v in raw.items() if not k.startswith("__")}
    if "Q" not in data:
        alias = next((a for a in MAT_SRF_ALIASES if a in data), None)
        if alias is not None:
            data["Q"] = data[alias]
    missing = [k for k in MAT_REQUIRED if k not in data]
    if missing:
        raise ValueError(
            f"{p}: missing required key(s) {missing}; the file holds {describe_variables(data)}. A pair file needs "
            "MSI (I_M,J_M,K_M), HSI (I_H,J_H,K_H) and Q (K_M,K_H) (the SRF; 'P' or 'R' are accepted too)"
        )
    msi, hsi = _as_image(data["MSI"], "MSI", p), _as_image(data["HSI"], "HSI", p)
    sri_m = _as_image(data["SRI_M"], "SRI_M", p) if "SRI_M" in data else None
    sri_h = _as_image(data["SRI_H"], "SRI_H", p) if "SRI_H" in data else None
    srf = np.atleast_2d(np.asarray(data["Q"], dtype=np.float64))
    if ratio is None:
        ratio = int(round(float(np.asarray(data["ratio"]).ravel()[0]))) if "ratio" in data else \
            _infer_ratio(hsi, msi, sri_h, p)
    wavelengths = np.asarray(data["wavelengths"], np.float64).ravel() if "wavelengths" in data else None
    rgb = tuple(int(b) for b in np.asarray(data["rgb_bands"]).ravel()) if "rgb_bands" in data else None
    mask_m = np.asarray(data["mask_M"]).astype(bool) if "mask_M" in data else None
    mask_h = np.asarray(data["mask_H"]).astype(bool) if "mask_H" in data else None
    meta = meta_from_json(_as_string(data["meta_json"])) if "meta_json" in data else {}
    acquisition = _acquisition(_as_string(data["acquisition_json"]) if "acquisition_json" in data else None, meta)
    name = _as_string(data["name"]) if "name" in data else p.stem
    return FusionPair(msi=msi, hsi=hsi, srf=srf, ratio=int(ratio), wavelengths=wavelengths, sri_m=sri_m,
                      sri_h=sri_h, mask_m=mask_m, mask_h=mask_h, rgb_bands=rgb,  # type: ignore[arg-type]
                      name=name, acquisition=acquisition, meta=meta)


# ----------------------------------------------------------------------------- .npz
def save_pair_npz(pair: FusionPair, path: str | Path) -> Path:
    """Write every field of ``pair`` with ``np.savez_compressed`` (atomic)."""
    data: dict[str, Any] = {
        "msi": pair.msi, "hsi": pair.hsi, "srf": np.asarray(pair.srf), "ratio": np.int64(pair.ratio),
        "name": np.str_(pair.name), "meta_json": np.str_(meta_to_json(pair.meta)),
        "acquisition_json": np.str_(meta_to_json(pair.acquisition.to_dict())),
        "format_version": np.int64(FORMAT_VERSION),
    }
    for key in ("wavelengths", "sri_m", "sri_h", "mask_m", "mask_h"):
        value = getattr(pair, key)
        if value is not None:
            data[key] = np.asarray(value)
    if pair.rgb_bands is not None:
        data["rgb_bands"] = np.asarray(pair.rgb_bands, dtype=np.int64)
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **data))


def load_pair_npz(path: str | Path) -> FusionPair:
    """Read a pair written by :func:`save_pair_npz`."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"pair file {p} not found; check the path (config `dataset.path`)")
    try:
        with np.load(p, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except Exception as err:  # noqa: BLE001 - numpy/zipfile raise many types on a damaged file
        hint = ("it holds pickled objects, which fresco never loads" if "allow_pickle" in str(err)
                else "is it truncated or another format?")
        raise ValueError(f"{p}: not a readable fresco .npz ({type(err).__name__}: {err}); {hint} Write pairs "
                         "with fresco.data.io.save_pair_npz") from err
    missing = [k for k in NPZ_REQUIRED if k not in data]
    if missing:
        raise ValueError(f"{p}: missing required key(s) {missing}; the file holds {describe_variables(data)}. "
                         "Write pairs with fresco.data.io.save_pair_npz")
    opt = {k: data.get(k) for k in ("wavelengths", "sri_m", "sri_h", "mask_m", "mask_h")}
    rgb = tuple(int(b) for b in data["rgb_bands"]) if "rgb_bands" in data else None
    meta = meta_from_json(str(data["meta_json"])) if "meta_json" in data else {}
    acquisition = _acquisition(str(data["acquisition_json"]) if "acquisition_json" in data else None, meta)
    return FusionPair(
        msi=data["msi"], hsi=data["hsi"], srf=data["srf"], ratio=int(data["ratio"]),
        wavelengths=opt["wavelengths"], sri_m=opt["sri_m"], sri_h=opt["sri_h"],
        mask_m=None if opt["mask_m"] is None else opt["mask_m"].astype(bool),
        mask_h=None if opt["mask_h"] is None else opt["mask_h"].astype(bool),
        rgb_bands=rgb,  # type: ignore[arg-type]
        name=str(data["name"]) if "name" in data else p.stem, acquisition=acquisition, meta=meta,
    )


# ----------------------------------------------------------------------------- by suffix
def save_pair(pair: FusionPair, path: str | Path) -> Path:
    """Write ``pair`` as ``.mat`` or ``.npz`` according to the suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".mat":
        return save_pair_mat(pair, path)
    if suffix == ".npz":
        return save_pair_npz(pair, path)
    raise ValueError(f"{path}: unknown pair format '{suffix}'; use .mat (authors' layout) or .npz")


def load_pair(path: str | Path, ratio: int | None = None) -> FusionPair:
    """Read a ``.mat`` or ``.npz`` pair according to the suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".mat":
        return load_pair_mat(path, ratio=ratio)
    if suffix == ".npz":
        pair = load_pair_npz(path)
        if ratio is not None and int(ratio) != pair.ratio:
            raise ValueError(f"{path}: stored ratio {pair.ratio} differs from the requested ratio={ratio}")
        return pair
    raise ValueError(f"{path}: unknown pair format '{suffix}'; use .mat (authors' layout) or .npz")
