"""Full-reference quality metrics for hyperspectral / multispectral images (plain numpy).

Every function takes an estimate ``est`` and a ground truth ``gt``, both shaped
``(rows, cols, bands)`` with (reflectance-like) values in ``[0, 1]``, and returns a python ``float``
(or, for the per-pixel maps, ``(rows, cols)`` arrays). Arithmetic is done in float64.

Two families are provided (see ``docs/metrics.md``):

* paper-compatible, used for the tables: :func:`psnr` (peak = each band's ground-truth maximum),
  :func:`ssim`, :func:`sam` (degrees), :func:`ergas` (mean of per-band ratios);
* standard variants, logged so numbers can be compared with other literature: :func:`psnr_peak1`,
  :func:`sam_rad`, :func:`ergas_rms`, plus the overall :func:`rmse`.

The low-level functions score the arrays exactly as given; :func:`quality_metrics` and
:func:`per_pixel_error` are the caller-facing entry points and clip the estimate to ``[0, 1]`` first,
as the spec requires for every method in a table.

Edge cases (documented here once, referenced by the docstrings):

* **Perfect band** (``MSE_b == 0``): its PSNR is :data:`PSNR_CAP_DB`. Every band's PSNR is capped
  at that value, so a perfect band never scores below a nearly perfect one and means stay finite.
* **All-zero ground-truth band** (``max(GT_b) == 0``, hence ``mean(GT_b) == 0`` for data in
  ``[0, 1]``): the relative measures (paper PSNR, both ERGAS) are undefined for it. If the estimate
  is also zero there the band is perfect (PSNR = cap, ERGAS term = 0). Otherwise the band is
  *excluded* from the mean over bands and a ``RuntimeWarning`` says how many bands were excluded;
  if every band is excluded the result is ``nan`` (never a silent 0).
* **SAM of zero vectors**: the paper's ``max(|x|, 1e-8)`` guard makes the angle of a zero spectrum
  with anything (including another zero spectrum) 90 degrees; this is kept for compatibility.
"""

from __future__ import annotations

import warnings

import numpy as np
from skimage.metrics import structural_similarity

from fresco.ops.checks import check_image

__all__ = [
    "PSNR_CAP_DB",
    "QUALITY_KEYS",
    "SAM_NORM_EPS",
    "SSIM_DATA_RANGE",
    "SSIM_WIN_SIZE",
    "ergas",
    "ergas_rms",
    "per_pixel_error",
    "pixel_rmse",
    "pixel_sam",
    "observed_psnr",
    "psnr",
    "psnr_peak1",
    "quality_metrics",
    "rmse",
    "rsnr",
    "sam",
    "sam_rad",
    "ssim",
    "validate_pair",
]

#: Upper bound (dB) on any band's PSNR. A perfect band (MSE 0) has infinite PSNR; capping keeps
#: the mean over bands finite and still ranks a perfect reconstruction above every imperfect one
#: whose per-band PSNR is below the cap (100 dB is an RMSE of 1e-5 at peak 1, beyond float32 noise).
PSNR_CAP_DB = 100.0
#: Guard on spectral norms in SAM, exactly as in the authors' code.
SAM_NORM_EPS = 1e-8
#: SSIM is computed with the dynamic range of the [0, 1] data, as in the authors' code.
SSIM_DATA_RANGE = 1.0
#: scikit-image's default (and the authors') Gaussian-free 7x7 SSIM window.
SSIM_WIN_SIZE = 7
#: The valid range estimates are clipped to before scoring.
CLIP_RANGE = (0.0, 1.0)
#: Rounding slack allowed on the ground truth's [0, 1] range.
GT_RANGE_TOL = 1e-6
#: The keys of :func:`quality_metrics`, in table order (paper-compatible first, then standard).
QUALITY_KEYS = ("psnr", "ssim", "sam", "ergas", "psnr_peak1", "sam_rad", "ergas_rms", "rmse", "rsnr")


# ------------------------------------------------------------------------------------ validation
def validate_pair(est: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check an (estimate, ground truth) pair and return both as float64 arrays.

    Args:
        est: estimate, ``(rows, cols, bands)``.
        gt: ground truth, ``(rows, cols, bands)``, same shape.

    Returns:
        ``(est, gt)`` as float64 numpy arrays (no copy when already float64).

    Raises:
        ValueError: when either is not 3-D, the shapes differ, an array is empty, a value is
            NaN/Inf, or the ground truth leaves [0, 1] (beyond rounding). The message says which
            array and how to fix it.
    """
    est64, gt64 = (check_image(arr, name, finite=False, dtype=np.float64) for name, arr in (("est", est), ("gt", gt)))
    if est64.shape != gt64.shape:
        raise ValueError(
            f"est and gt must have the same shape (rows, cols, bands); got est {est64.shape} and "
            f"gt {gt64.shape}. Score the estimate against the ground truth of the same footprint "
            "(SRI_M for the M-SRI, SRI_H for the H-SRI)"
        )
    for name, a in (("est", est64), ("gt", gt64)):
        check_image(a, name)
    lo, hi = float(gt64.min()), float(gt64.max())
    if lo < CLIP_RANGE[0] - GT_RANGE_TOL or hi > CLIP_RANGE[1] + GT_RANGE_TOL:
        raise ValueError(
            f"gt must hold values in [0, 1] (the metrics' peak, clipping and SSIM data range assume it); "
            f"got range [{lo:.4g}, {hi:.4g}]. Normalise the cube first (the loaders' normalise='max' "
            "divides by its maximum)"
        )
    return est64, gt64


def _validate_ratio(ratio: float) -> float:
    """Return ``ratio`` as a float after checking it is a positive finite number."""
    message = f"ratio must be a positive number (the spatial ratio d, e.g. 4); got {ratio!r}"
    try:
        d = float(ratio)
    except (TypeError, ValueError) as err:
        raise ValueError(message) from err
    if not np.isfinite(d) or d <= 0:
        raise ValueError(message)
    return d


# ---------------------------------------------------------------------------- per-band helpers
def _band_mse(est: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-band mean squared error, ``(bands,)``."""
    diff = est - gt
    np.square(diff, out=diff)  # in place: one image-sized temporary instead of two
    return np.mean(diff, axis=(0, 1))


def _mean_over_valid_bands(values: np.ndarray, valid: np.ndarray, metric: str) -> float:
    """Mean of ``values[valid]``; warn when bands were excluded, ``nan`` when none is left."""
    n_excluded = int(values.size - np.count_nonzero(valid))
    if n_excluded:
        warnings.warn(
            f"{metric}: {n_excluded} of {values.size} bands have an all-zero ground truth but a nonzero "
            "estimate, where this relative measure is undefined; they are excluded from the mean over bands",
            RuntimeWarning,
            stacklevel=3,
        )
    if not np.any(valid):
        return float("nan")
    return float(np.mean(values[valid]))


def _psnr_bands(mse: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band capped PSNR (dB) and the mask of bands where it is defined."""
    perfect = mse == 0
    defined = (peak > 0) | perfect
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 10.0 * np.log10(peak**2 / mse)
    values = np.where(perfect, PSNR_CAP_DB, values)
    return np.minimum(values, PSNR_CAP_DB), defined


def _ergas_terms(mse: np.ndarray, band_mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band relative squared error ``MSE_b / mean(GT_b)^2`` and the mask where it is defined."""
    perfect = mse == 0
    defined = (band_mean > 0) | perfect
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_sq = mse / band_mean**2
    return np.where(perfect, 0.0, rel_sq), defined


# ---------------------------------------------------------------------------------- kernels
# Kernels take already validated float64 arrays, so quality_metrics validates once.
def _psnr(est: np.ndarray, gt: np.ndarray) -> float:
    values, defined = _psnr_bands(_band_mse(est, gt), np.max(gt, axis=(0, 1)))
    return _mean_over_valid_bands(values, defined, "psnr")


def _psnr_peak1(est: np.ndarray, gt: np.ndarray) -> float:
    values, _ = _psnr_bands(_band_mse(est, gt), np.ones(gt.shape[2]))
    return float(np.mean(values))


def _ssim(est: np.ndarray, gt: np.ndarray) -> float:
    rows, cols = gt.shape[:2]
    if min(rows, cols) < SSIM_WIN_SIZE:
        raise ValueError(
            f"ssim needs images of at least {SSIM_WIN_SIZE}x{SSIM_WIN_SIZE} pixels (its window size); got "
            f"{rows}x{cols}. Score a larger region"
        )
    per_band = [
        structural_similarity(est[:, :, b], gt[:, :, b], data_range=SSIM_DATA_RANGE, win_size=SSIM_WIN_SIZE)
        for b in range(gt.shape[2])
    ]
    return float(np.mean(per_band))


def _pixel_angle_rad(est: np.ndarray, gt: np.ndarray) -> np.ndarray:
    dot = np.sum(est * gt, axis=2)
    norm_est = np.maximum(np.linalg.norm(est, axis=2), SAM_NORM_EPS)
    norm_gt = np.maximum(np.linalg.norm(gt, axis=2), SAM_NORM_EPS)
    return np.arccos(np.clip(dot / (norm_est * norm_gt), -1.0, 1.0))


def _pixel_rmse(est: np.ndarray, gt: np.ndarray) -> np.ndarray:
    diff = est - gt
    return np.sqrt(np.mean(diff * diff, axis=2))


def _sam_rad(est: np.ndarray, gt: np.ndarray) -> float:
    return float(np.nanmean(_pixel_angle_rad(est, gt)))


def _ergas(est: np.ndarray, gt: np.ndarray, d: float) -> float:
    rel_sq, defined = _ergas_terms(_band_mse(est, gt), np.mean(gt, axis=(0, 1)))
    return (100.0 / d) * _mean_over_valid_bands(np.sqrt(rel_sq), defined, "ergas")


def _ergas_rms(est: np.ndarray, gt: np.ndarray, d: float) -> float:
    rel_sq, defined = _ergas_terms(_band_mse(est, gt), np.mean(gt, axis=(0, 1)))
    return (100.0 / d) * float(np.sqrt(_mean_over_valid_bands(rel_sq, defined, "ergas_rms")))


def _rmse(est: np.ndarray, gt: np.ndarray) -> float:
    return float(np.sqrt(np.mean(_band_mse(est, gt))))


# ---------------------------------------------------------------------------- public metrics
def psnr(est: np.ndarray, gt: np.ndarray) -> float:
    """Paper PSNR in dB: per band ``10 log10(max(GT_b)^2 / MSE_b)``, mean over bands.

    Args:
        est: estimate ``(rows, cols, bands)``, not clipped here.
        gt: ground truth ``(rows, cols, bands)`` in ``[0, 1]``.

    Returns:
        Mean per-band PSNR (dB). Each band is capped at :data:`PSNR_CAP_DB` (a perfect band scores
        exactly the cap). Bands with an all-zero ground truth and a nonzero estimate are excluded
        with a ``RuntimeWarning`` (``nan`` if no band is left); see the module docstring.
    """
    return _psnr(*validate_pair(est, gt))


def observed_psnr(model: np.ndarray, observed: np.ndarray) -> float:
    """:func:`psnr` of a model's reconstruction of an OBSERVED image (a ground-truth-free fit score):
    the same formula with the observation's band maxima as peaks, but no ``[0, 1]`` contract, since
    observations may be slightly negative or above 1 (noise, real reflectance)."""
    a, b = (check_image(x, name, dtype=np.float64) for name, x in (("model", model), ("observed", observed)))
    if a.shape != b.shape:
        raise ValueError(f"model and observed must have the same shape; got {a.shape} and {b.shape}")
    return _psnr(a, b)


def psnr_peak1(est: np.ndarray, gt: np.ndarray) -> float:
    """Standard PSNR in dB with a fixed peak of 1: per band ``10 log10(1 / MSE_b)``, mean over bands.

    Equals ``skimage.metrics.peak_signal_noise_ratio(gt_b, est_b, data_range=1)`` averaged over
    bands, except that each band is capped at :data:`PSNR_CAP_DB` (so perfect bands stay finite).
    """
    return _psnr_peak1(*validate_pair(est, gt))


def ssim(est: np.ndarray, gt: np.ndarray) -> float:
    """Mean over bands of ``skimage.metrics.structural_similarity(est_b, gt_b, data_range=1.0)``.

    Uses scikit-image's default 7x7 uniform window (:data:`SSIM_WIN_SIZE`). Unitless, at most 1.

    Raises:
        ValueError: when ``rows`` or ``cols`` is smaller than the 7-pixel window.
    """
    return _ssim(*validate_pair(est, gt))


def sam(est: np.ndarray, gt: np.ndarray) -> float:
    """Paper spectral angle mapper in DEGREES, nan-mean over pixels.

    Per pixel ``arccos(clip(<x, y> / (max(|x|, 1e-8) max(|y|, 1e-8)), -1, 1))`` with ``x``, ``y`` the
    ``(bands,)`` spectra of estimate and ground truth. A zero spectrum gives 90 degrees.
    """
    return float(np.degrees(_sam_rad(*validate_pair(est, gt))))


def sam_rad(est: np.ndarray, gt: np.ndarray) -> float:
    """Spectral angle mapper in RADIANS (same definition as :func:`sam`)."""
    return _sam_rad(*validate_pair(est, gt))


def ergas(est: np.ndarray, gt: np.ndarray, ratio: float) -> float:
    """Paper ERGAS: mean over bands of ``(100 / d) * sqrt(MSE_b) / mean(GT_b)``.

    Note this is the mean of per-band relative RMSEs, not the usual root-mean-square
    (:func:`ergas_rms`); by Jensen's inequality it is never larger than :func:`ergas_rms`.

    Args:
        est: estimate ``(rows, cols, bands)``.
        gt: ground truth ``(rows, cols, bands)`` in ``[0, 1]``.
        ratio: ``d``, the ratio of the coarse (HSI) to the fine pixel size, e.g. 4; ``100 / d`` is
            the classic ``100 * h / l`` factor with ``h / l`` the fine-to-coarse pixel-size ratio.

    Returns:
        ERGAS (unitless, 0 is perfect). All-zero ground-truth bands: see the module docstring.
    """
    return _ergas(*validate_pair(est, gt), _validate_ratio(ratio))


def ergas_rms(est: np.ndarray, gt: np.ndarray, ratio: float) -> float:
    """Standard ERGAS: ``(100 / d) * sqrt(mean_b(MSE_b / mean(GT_b)^2))``; ``ratio`` as in :func:`ergas`.

    Matches ``torchmetrics.functional.image.error_relative_global_dimensionless_synthesis(...,
    ratio=d)``.
    """
    return _ergas_rms(*validate_pair(est, gt), _validate_ratio(ratio))


def rmse(est: np.ndarray, gt: np.ndarray) -> float:
    """Root mean squared error over all pixels and bands (same units as the data)."""
    return _rmse(*validate_pair(est, gt))


def rsnr(est: np.ndarray, gt: np.ndarray) -> float:
    """Reconstruction SNR in dB, ``10 log10(||GT||^2 / ||GT - est||^2)`` over all pixels and bands (the
    SCOTT authors' R-SNR); capped at :data:`PSNR_CAP_DB` for a perfect estimate."""
    return _rsnr(*validate_pair(est, gt))


def _rsnr(est64: np.ndarray, gt64: np.ndarray) -> float:
    err = float(np.sum((gt64 - est64) ** 2))
    power = float(np.sum(gt64**2))
    if err == 0.0:
        return PSNR_CAP_DB
    if power == 0.0:
        return float("nan")
    return float(min(10.0 * np.log10(power / err), PSNR_CAP_DB))


def _clip(est: np.ndarray) -> np.ndarray:
    return np.clip(est, *CLIP_RANGE)


def _clip_owned(est64: np.ndarray, original: object) -> np.ndarray:
    """Clip ``est64``, in place when validation already copied it (saves an image-sized buffer)."""
    if isinstance(original, np.ndarray) and np.may_share_memory(est64, original):
        return _clip(est64)  # never modify the caller's array
    return np.clip(est64, *CLIP_RANGE, out=est64)


def quality_metrics(est: np.ndarray, gt: np.ndarray, ratio: float) -> dict[str, float]:
    """All quality metrics of one estimate, after clipping it to ``[0, 1]``.

    Args:
        est: estimate ``(rows, cols, bands)``; clipped to ``[0, 1]`` before scoring.
        gt: ground truth ``(rows, cols, bands)`` in ``[0, 1]``.
        ratio: spatial ratio ``d`` used by ERGAS (e.g. 4).

    Returns:
        ``{"psnr", "ssim", "sam", "ergas", "psnr_peak1", "sam_rad", "ergas_rms", "rmse", "rsnr"}`` (see
        :data:`QUALITY_KEYS`) as python floats: PSNRs and R-SNR in dB, SAM in degrees / radians, SSIM and
        ERGAS unitless, RMSE in data units.

    Raises:
        ValueError: on mismatched or non-3-D shapes, NaN/Inf values, a non-positive ratio, or images
            smaller than the 7x7 SSIM window.
    """
    est64, gt64 = validate_pair(est, gt)
    d = _validate_ratio(ratio)
    est64 = _clip_owned(est64, est)
    sam_radians = _sam_rad(est64, gt64)
    return {
        "psnr": _psnr(est64, gt64),
        "ssim": _ssim(est64, gt64),
        "sam": float(np.degrees(sam_radians)),
        "ergas": _ergas(est64, gt64, d),
        "psnr_peak1": _psnr_peak1(est64, gt64),
        "sam_rad": sam_radians,
        "ergas_rms": _ergas_rms(est64, gt64, d),
        "rmse": _rmse(est64, gt64),
        "rsnr": _rsnr(est64, gt64),
    }


# -------------------------------------------------------------------------- per-pixel maps
def pixel_rmse(est: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-pixel RMSE over bands, ``(rows, cols)`` float64 in data units (estimate not clipped)."""
    return _pixel_rmse(*validate_pair(est, gt))


def pixel_sam(est: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-pixel spectral angle in DEGREES, ``(rows, cols)`` float64 (estimate not clipped)."""
    return np.degrees(_pixel_angle_rad(*validate_pair(est, gt)))


def per_pixel_error(est: np.ndarray, gt: np.ndarray, clip: bool = True) -> dict[str, np.ndarray]:
    """Error maps for figures: ``{"rmse": (rows, cols), "sam": (rows, cols) in degrees}``.

    Args:
        est: estimate ``(rows, cols, bands)``; clipped to ``[0, 1]`` first when ``clip`` (the
            default, consistent with :func:`quality_metrics`).
        gt: ground truth ``(rows, cols, bands)``.
        clip: clip the estimate before computing the maps.
    """
    est64, gt64 = validate_pair(est, gt)
    if clip:
        est64 = _clip_owned(est64, est)
    return {"rmse": _pixel_rmse(est64, gt64), "sam": np.degrees(_pixel_angle_rad(est64, gt64))}
