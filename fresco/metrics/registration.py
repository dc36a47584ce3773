"""How far an estimated registration is from the true one (simulated pairs only).

Both maps take a fine HSI-footprint pixel ``(u, v, 1)`` to an MSI pixel ``(row, col, 1)`` (the
simulator's ``meta["transform"]["hsi_to_msi"]`` convention).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["registration_error"]


def _angle_deg(affine: np.ndarray) -> float:
    """Rotation angle of the linear part (the simulator's sign: ``[[cos, sin], [-sin, cos]]``)."""
    lin = affine[:2, :2]
    return math.degrees(math.atan2(lin[0, 1] - lin[1, 0], lin[0, 0] + lin[1, 1]))


def registration_error(estimated: np.ndarray, true: np.ndarray, hsi_shape: Sequence[int]) -> dict[str, float]:
    """Errors of an estimated HSI-to-MSI map.

    Args:
        estimated, true: ``(3, 3)`` homogeneous maps (fine HSI-footprint pixel -> MSI pixel).
        hsi_shape: the fine HSI footprint ``(d*I_H, d*J_H)``.

    Returns:
        ``angle_error_deg``: the rotation difference, wrapped to ``[0, 180]``;
        ``shift_error_px``: distance (MSI pixels) between where the two maps put the footprint's centre;
        ``corner_error_px``: the largest such distance over the footprint's four corners.
    """
    est, tru = np.asarray(estimated, dtype=np.float64), np.asarray(true, dtype=np.float64)
    for name, a in (("estimated", est), ("true", tru)):
        if a.shape != (3, 3) or not np.all(np.isfinite(a)):
            raise ValueError(f"the {name} registration must be a finite (3, 3) map; got shape {a.shape}")
    h, w = (int(v) for v in hsi_shape)
    points = np.array([[(h - 1) / 2.0, (w - 1) / 2.0, 1.0], [-0.5, -0.5, 1.0], [-0.5, w - 0.5, 1.0],
                       [h - 0.5, w - 0.5, 1.0], [h - 0.5, -0.5, 1.0]]).T
    gap = np.linalg.norm((est @ points - tru @ points)[:2], axis=0)
    diff = abs((_angle_deg(est) - _angle_deg(tru) + 180.0) % 360.0 - 180.0)
    return {"angle_error_deg": float(diff), "shift_error_px": float(gap[0]), "corner_error_px": float(gap[1:].max())}
