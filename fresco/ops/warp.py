"""Rigid warps between footprints and resampling of a cube at scene coordinates (plain numpy).

Scene coordinates are (row, col) in fine pixels, pixel ``(r, c)`` centred at ``(r, c)``. A
:class:`RigidTransform` places a footprint's grid in the scene: rotated by ``angle_deg`` about its
centre, which sits ``shift_px`` from the reference footprint's centre.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage

__all__ = ["INTEGER_TOL", "SPLINE_MARGIN", "RigidTransform", "sample_at"]

#: Extra scene pixels kept around the HSI footprint's bounding box before spline prefiltering:
#: the prefilter's influence decays as 0.268^n, so 16 pixels change values by < 1e-9.
SPLINE_MARGIN = 16
#: Coordinates this close to integers are treated as integers (exact gather, no interpolation).
INTEGER_TOL = 1e-6


@dataclass
class RigidTransform:
    """Pose of the HSI footprint relative to the MSI footprint, in fine scene pixels.

    Attributes:
        angle_deg: rotation of the HSI sampling grid; positive = the HSI shows the scene turned
            counter-clockwise as displayed (90 -> ``np.rot90``).
        shift_px: ``(dy, dx)`` from the MSI footprint's centre to the HSI footprint's centre
            (scene pixels; +dy down, +dx right).
        scale: size of one fine HSI-footprint pixel in scene pixels (1 = same resolution as the MSI).
    """

    angle_deg: float = 0.0
    shift_px: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    def __post_init__(self) -> None:
        self.angle_deg = float(self.angle_deg)
        self.shift_px = (float(self.shift_px[0]), float(self.shift_px[1]))
        self.scale = float(self.scale)
        if self.scale <= 0:
            raise ValueError(f"RigidTransform.scale must be positive, got {self.scale}")

    def linear(self) -> np.ndarray:
        """``(2, 2)`` map from footprint offsets ``(du, dv)`` to scene offsets ``(drow, dcol)``."""
        a = math.radians(self.angle_deg)
        cos, sin = math.cos(a), math.sin(a)
        # Snap exact multiples of 90 degrees so 90-degree pairs sample integer scene pixels.
        cos, sin = (round(cos) if abs(cos - round(cos)) < 1e-12 else cos,
                    round(sin) if abs(sin - round(sin)) < 1e-12 else sin)
        return self.scale * np.array([[cos, sin], [-sin, cos]])

    def affine(self, footprint_shape: Sequence[int], reference_centre: Sequence[float]) -> np.ndarray:
        """``(3, 3)`` homogeneous map from footprint pixel ``(u, v, 1)`` to scene ``(row, col, 1)``.

        ``reference_centre``: scene coordinates of the MSI footprint's centre.
        """
        h, w = footprint_shape
        lin = self.linear()
        centre = np.asarray(reference_centre, dtype=np.float64) + np.asarray(self.shift_px)
        local_centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
        out = np.eye(3)
        out[:2, :2] = lin
        out[:2, 2] = centre - lin @ local_centre
        return out

    def footprint_to_scene(self, rows: np.ndarray, cols: np.ndarray, footprint_shape: Sequence[int],
                           reference_centre: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Scene coordinates of HSI-footprint fine pixel coordinates ``(rows, cols)`` (any shapes)."""
        a = self.affine(footprint_shape, reference_centre)
        rows, cols = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
        return a[0, 0] * rows + a[0, 1] * cols + a[0, 2], a[1, 0] * rows + a[1, 1] * cols + a[1, 2]

    def scene_to_footprint(self, rows: np.ndarray, cols: np.ndarray, footprint_shape: Sequence[int],
                           reference_centre: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`footprint_to_scene`."""
        a = np.linalg.inv(self.affine(footprint_shape, reference_centre))
        rows, cols = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
        return a[0, 0] * rows + a[0, 1] * cols + a[0, 2], a[1, 0] * rows + a[1, 1] * cols + a[1, 2]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["shift_px"] = list(self.shift_px)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RigidTransform:
        return cls(float(data["angle_deg"]), tuple(data["shift_px"]), float(data.get("scale", 1.0)))


def sample_at(cube: np.ndarray, rows: np.ndarray, cols: np.ndarray, order: int) -> np.ndarray:
    """Scene ``(H, W, K)`` sampled at scene coordinates ``rows, cols`` (same shape S) -> ``(*S, K)``."""
    r_int, c_int = np.rint(rows), np.rint(cols)
    if np.all(np.abs(rows - r_int) < INTEGER_TOL) and np.all(np.abs(cols - c_int) < INTEGER_TOL):
        # Grid-aligned (no rotation, or multiples of 90 degrees with integer shifts): exact copy.
        return cube[r_int.astype(np.int64), c_int.astype(np.int64)].astype(np.float64)
    h, w, k = cube.shape
    r0 = max(int(np.floor(rows.min())) - SPLINE_MARGIN, 0)
    r1 = min(int(np.ceil(rows.max())) + SPLINE_MARGIN + 1, h)
    c0 = max(int(np.floor(cols.min())) - SPLINE_MARGIN, 0)
    c1 = min(int(np.ceil(cols.max())) + SPLINE_MARGIN + 1, w)
    window = np.moveaxis(cube[r0:r1, c0:c1], 2, 0).astype(np.float64)  # (K, h', w') contiguous bands
    coords = np.stack([rows.ravel() - r0, cols.ravel() - c0])
    out = np.empty((k, coords.shape[1]), dtype=np.float64)
    for band in range(k):
        out[band] = ndimage.map_coordinates(window[band], coords, order=order, mode="reflect")
    return out.T.reshape(*rows.shape, k)
