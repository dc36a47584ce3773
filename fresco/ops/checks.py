"""The one input check for images (shape, type, finite values) and for settings (names and scalar types),
each failing with one clear message."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_image", "typed_settings"]


def check_image(value: Any, name: str, *, finite: bool = True, hint: str = "", dtype: Any = None) -> np.ndarray:
    """``value`` as a ``(rows, cols, bands)`` numeric array (cast to ``dtype`` when given), or ONE
    ``ValueError`` naming ``name`` that says what is wrong: not numeric, not 3-D (``hint`` is added, and
    for a 2-D array how to add the band axis), empty, or (with ``finite``) holding NaN or Inf values."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real-valued numeric array; got {type(value).__name__}") from err
    if arr.dtype.kind not in "iuf":   # booleans are masks, not images
        raise ValueError(f"{name} must be a real-valued numeric array; got dtype {arr.dtype}")
    if arr.ndim != 3:
        band_axis = " (add a band axis for a single-band image: img[..., None])" if arr.ndim == 2 else ""
        raise ValueError(f"{name} must be a 3-D array (rows, cols, bands); got shape {arr.shape}{band_axis}{hint}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); every axis needs at least one element")
    if finite and not np.all(np.isfinite(arr)):
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {n_bad} NaN or Inf values; clean, fill or crop them first "
                         "(e.g. np.nan_to_num, or a crop that leaves them out)")
    return arr if dtype is None else arr.astype(dtype, copy=False)


_KINDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}


def _convert(kind: str, value: Any) -> Any:
    """``value`` as the scalar type named ``kind``, or raise ``ValueError``."""
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
    elif kind == "int":
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
    elif kind == "float":
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
            return float(value)
    elif kind == "str":
        if isinstance(value, str):
            return value
    raise ValueError(kind)


def typed_settings(schema: type, settings: dict[str, Any], where: str) -> dict[str, Any]:
    """``settings`` checked against the fields of the dataclass ``schema``: an unknown name, or a value
    that is not of its field's scalar type (``int``, ``float``, ``bool``, ``str``, optionally ``| None``),
    raises ONE ``ValueError`` naming ``<where>.<name>``, what it must be and the known names. Values are
    converted (an integer for a float field, ``4.0`` for an int field); other field types pass as they are.
    Used by every settings dataclass, so the CLI and Python give the same message before anything runs."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise ValueError(f"unknown {where} setting(s) {unknown}; known: {sorted(fields)}")
    out = dict(settings)
    for name, value in settings.items():
        annotation = str(fields[name].type).replace(" ", "")
        optional = annotation.endswith("|None") or annotation.startswith("None|")
        kind = annotation.removesuffix("|None").removeprefix("None|")
        if kind not in _KINDS or (value is None and optional):
            continue
        try:
            out[name] = _convert(kind, value)
        except ValueError:
            allowed = _KINDS[kind] + (" or null" if optional else "")
            raise ValueError(f"{where}.{name} must be {allowed}; got {value!r}") from None
    return out
