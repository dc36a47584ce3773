"""The `FusionPair` record: one unregistered HSI/MSI pair, its SRF and (when simulated) ground truth.

Shapes (all images `float32`, values in [0, 1]):
    msi    (I_M, J_M, K_M)          fine pixels, few bands
    hsi    (I_H, J_H, K_H)          coarse pixels, many bands
    srf    (K_M, K_H)               the spec's `P` (key `Q` in the authors' .mat files); rows sum to 1
    sri_m  (I_M, J_M, K_H)          ground truth over the MSI footprint (optional)
    sri_h  (d*I_H, d*J_H, K_H)      ground truth over the HSI footprint, fine resolution (optional)
    mask_m (I_M, J_M) bool          MSI pixels whose scene point the HSI footprint also covers (optional)
    mask_h (d*I_H, d*J_H) bool      fine HSI-footprint pixels the MSI footprint also covers (optional)
    acquisition                     typed, truth-free metadata (:class:`Acquisition`): what methods may read
    meta                            free-form provenance (scene, true motion, overlap...): never given to methods
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fresco.ops.checks import check_image
from fresco.ops.degradation import Degradation

#: Display wavelengths (nm, red/green/blue) used when a pair names no display bands.
DEFAULT_RGB_NM = (640.0, 550.0, 460.0)
#: Rounding slack on the ground truths' [0, 1] range.
RANGE_TOL = 1e-6
#: Observations may leave [0, 1] a little (noise, real reflectance > 1); beyond this they are raw (rejected).
UNNORMALISED_MARGIN = 0.5
#: SRF row sums outside this range are not a normalised response (rejected); beyond SRF_SUM_WARN from 1, a warning.
SRF_SUM_RANGE = (0.5, 2.0)
SRF_SUM_WARN = 0.05


@dataclass
class Acquisition:
    """What is known about how the two images were acquired, WITHOUT ground truth: the only metadata a
    method sees (``pair.without_truth()`` keeps this and drops ``meta``).

    degradation: the HSI's spatial degradation from the fine scene when it is known (simulated pairs, and
        real pairs whose HSI fresco degraded itself); None for two real sensors.
    msi_sensor, hsi_sensor: the instruments' names, when known.
    crs, msi_geotransform, hsi_geotransform: the rasters' coordinate reference system and GDAL
        geotransforms, when the files carry them.
    """

    degradation: Degradation | None = None
    msi_sensor: str | None = None
    hsi_sensor: str | None = None
    crs: str | None = None
    msi_geotransform: tuple[float, ...] | None = None
    hsi_geotransform: tuple[float, ...] | None = None

    @property
    def phase(self) -> float | None:
        """The fine coordinate sampled by coarse pixel 0 when the degradation is known, else None."""
        return None if self.degradation is None else self.degradation.phase

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["degradation"] = None if self.degradation is None else self.degradation.to_dict()
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Acquisition:
        data = dict(data)
        if data.get("degradation") is not None:
            data["degradation"] = Degradation.from_dict(data["degradation"])
        for key in ("msi_geotransform", "hsi_geotransform"):
            if data.get(key) is not None:
                data[key] = tuple(float(v) for v in data[key])
        return cls(**data)


@dataclass
class FusionPair:
    msi: np.ndarray
    hsi: np.ndarray
    srf: np.ndarray
    ratio: int
    wavelengths: np.ndarray | None = None
    sri_m: np.ndarray | None = None
    sri_h: np.ndarray | None = None
    mask_m: np.ndarray | None = None
    mask_h: np.ndarray | None = None
    rgb_bands: tuple[int, int, int] | None = None
    name: str = "pair"
    acquisition: Acquisition = field(default_factory=Acquisition)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ValueError`` naming the offending field when shapes or values are inconsistent."""
        for key in ("msi", "hsi"):
            if not isinstance(getattr(self, key), np.ndarray):
                raise ValueError(f"FusionPair.{key} must be a numpy array (rows, cols, bands); got "
                                 f"{type(getattr(self, key)).__name__}")
            check_image(getattr(self, key), f"FusionPair.{key}")
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, (int, np.integer)) or int(self.ratio) < 2:
            raise ValueError(f"FusionPair.ratio must be an integer >= 2 (HSI pixel size / MSI pixel size); got "
                             f"{self.ratio!r}" + (": with ratio 1 the HSI is as fine as the MSI and there is nothing "
                                                  "to super-resolve" if self.ratio == 1 else ""))
        self.ratio = int(self.ratio)
        if not isinstance(self.acquisition, Acquisition):
            raise ValueError(f"FusionPair.acquisition must be an Acquisition; got {type(self.acquisition).__name__}")
        deg = self.acquisition.degradation
        if deg is not None and deg.ratio != self.ratio:
            raise ValueError(f"FusionPair.acquisition.degradation is for ratio {deg.ratio} but the pair's ratio is "
                             f"{self.ratio}")
        k_m, k_h = self.msi.shape[2], self.hsi.shape[2]
        if self.srf.shape != (k_m, k_h):
            raise ValueError(
                f"FusionPair.srf must have shape (K_M, K_H) = ({k_m}, {k_h}) to match the MSI and HSI "
                f"band counts; got {self.srf.shape}"
            )
        if self.wavelengths is not None and len(self.wavelengths) != k_h:
            raise ValueError(
                f"FusionPair.wavelengths has {len(self.wavelengths)} entries but the HSI has {k_h} bands"
            )
        if self.sri_m is not None and self.sri_m.shape != (*self.msi.shape[:2], k_h):
            raise ValueError(
                f"FusionPair.sri_m must have shape (I_M, J_M, K_H) = {(*self.msi.shape[:2], k_h)}; "
                f"got {self.sri_m.shape}"
            )
        fine_h = (self.hsi.shape[0] * self.ratio, self.hsi.shape[1] * self.ratio)
        if self.sri_h is not None and self.sri_h.shape != (*fine_h, k_h):
            raise ValueError(
                f"FusionPair.sri_h must have shape (d*I_H, d*J_H, K_H) = {(*fine_h, k_h)}; "
                f"got {self.sri_h.shape}"
            )
        for key in ("sri_m", "sri_h"):
            arr = getattr(self, key)
            if arr is not None and (float(arr.min()) < -RANGE_TOL or float(arr.max()) > 1 + RANGE_TOL):
                raise ValueError(f"FusionPair.{key} (ground truth) must hold values in [0, 1]; got range "
                                 f"[{float(arr.min()):.4g}, {float(arr.max()):.4g}]. Normalise it first")
        for key in ("msi", "hsi"):
            arr = getattr(self, key)
            lo, hi = float(arr.min()), float(arr.max())
            if lo == hi:
                raise ValueError(f"FusionPair.{key} is constant (every value {lo:.4g}): an empty band stack or a "
                                 "failed read? Check the file and the variable it was read from")
            if lo < -UNNORMALISED_MARGIN or hi > 1 + UNNORMALISED_MARGIN:
                raise ValueError(f"FusionPair.{key} ranges over [{lo:.4g}, {hi:.4g}], far outside [0, 1]: raw counts "
                                 "(e.g. uint8/uint16 digital numbers) or unscaled data? Methods and metrics assume "
                                 "reflectance-like values in [0, 1] (a little outside is fine): divide both images "
                                 "by a common maximum (the loaders' normalise='max' / 'joint_max')")
        self._check_srf()
        if self.rgb_bands is not None:
            self.rgb_bands = tuple(int(b) for b in self.rgb_bands)  # type: ignore[assignment]
            if len(self.rgb_bands) != 3 or not all(0 <= b < k_h for b in self.rgb_bands):
                raise ValueError(f"FusionPair.rgb_bands must be 3 HSI band indices in [0, {k_h}); "
                                 f"got {self.rgb_bands}")

    def _check_srf(self) -> None:
        """``srf`` finite, nonnegative, every row with weight, rows summing to about 1."""
        srf = np.asarray(self.srf, dtype=np.float64)
        if not np.all(np.isfinite(srf)):
            raise ValueError("FusionPair.srf contains NaN or Inf values; give a finite spectral response (K_M, K_H)")
        if srf.min() < 0:
            raise ValueError(f"FusionPair.srf has negative entries (minimum {srf.min():.4g}); a spectral response is "
                             "nonnegative")
        sums = srf.sum(axis=1)
        if np.any(sums <= 0):
            raise ValueError(f"FusionPair.srf rows {np.flatnonzero(sums <= 0).tolist()} are all zero: those MSI bands "
                             "see no HSI band. Drop them, or give their response")
        if np.any((sums < SRF_SUM_RANGE[0]) | (sums > SRF_SUM_RANGE[1])):
            raise ValueError(f"FusionPair.srf rows must sum to about 1 (each MSI band a weighted mean of HSI bands); "
                             f"their sums range over [{sums.min():.4g}, {sums.max():.4g}]. Divide each row by its sum: "
                             "P / P.sum(axis=1, keepdims=True)")
        if np.any(np.abs(sums - 1) > SRF_SUM_WARN):
            warnings.warn(f"FusionPair.srf row sums range over [{sums.min():.4g}, {sums.max():.4g}], not 1: the MSI "
                          "is then modelled with per-band gains; normalise the rows if that is not meant",
                          stacklevel=4)

    # ---------------------------------------------------------------- helpers
    @property
    def has_truth(self) -> bool:
        return self.sri_m is not None or self.sri_h is not None

    @property
    def h_sri_shape(self) -> tuple[int, int, int]:
        """Shape of the H-SRI a method must return: (d*I_H, d*J_H, K_H)."""
        return (self.hsi.shape[0] * self.ratio, self.hsi.shape[1] * self.ratio, self.hsi.shape[2])

    @property
    def m_sri_shape(self) -> tuple[int, int, int]:
        """Shape of the M-SRI a method must return: (I_M, J_M, K_H)."""
        return (self.msi.shape[0], self.msi.shape[1], self.hsi.shape[2])

    def display_bands(self) -> tuple[int, int, int]:
        """Three HSI bands to show as red, green, blue: ``rgb_bands`` when set, else the bands nearest
        :data:`DEFAULT_RGB_NM` when wavelengths are known, else three spread over the band range."""
        if self.rgb_bands is not None:
            return self.rgb_bands
        if self.wavelengths is not None:
            wl = np.asarray(self.wavelengths, dtype=np.float64)
            return tuple(int(np.argmin(np.abs(wl - nm))) for nm in DEFAULT_RGB_NM)  # type: ignore[return-value]
        k = self.hsi.shape[2]
        return (int(0.75 * (k - 1)), int(0.5 * (k - 1)), int(0.25 * (k - 1)))

    def without_truth(self) -> FusionPair:
        """The observed part only: what a method is allowed to see. No ground truth, no masks, and no
        ``meta`` (free-form provenance, e.g. the simulator's true motion and a picture of the scene):
        only the images, ``srf``, ``ratio``, wavelengths, display bands and the typed ``acquisition``."""
        return dataclasses.replace(self, sri_m=None, sri_h=None, mask_m=None, mask_h=None, meta={})
