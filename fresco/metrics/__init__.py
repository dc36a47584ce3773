"""Metrics: full-reference quality (PSNR, SSIM, SAM, ERGAS, ...) and perceptual (LPIPS, FID).

Metrics never run methods: they take an estimate and its ground truth, both ``(rows, cols, bands)``
in ``[0, 1]``, and return numbers. :func:`score` is the one call the CLI makes per estimate.
Definitions, edge cases and where to put pretrained weights: ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fresco.metrics.perceptual import (
    ALEXNET_WEIGHTS_FILE,
    INCEPTION_WEIGHTS_FILE,
    PerceptualMetrics,
    feature_statistics,
    find_weights,
    frechet_distance,
    weights_search_dirs,
)
from fresco.metrics.quality import (
    PSNR_CAP_DB,
    QUALITY_KEYS,
    ergas,
    ergas_rms,
    per_pixel_error,
    pixel_rmse,
    pixel_sam,
    psnr,
    psnr_peak1,
    quality_metrics,
    rmse,
    rsnr,
    sam,
    sam_rad,
    ssim,
    validate_pair,
)
from fresco.metrics.registration import registration_error

__all__ = [
    "ALEXNET_WEIGHTS_FILE",
    "INCEPTION_WEIGHTS_FILE",
    "HEADLINE_KEYS",
    "PERCEPTUAL_KEYS",
    "PSNR_CAP_DB",
    "QUALITY_KEYS",
    "SCORE_KEYS",
    "PerceptualMetrics",
    "ergas",
    "ergas_rms",
    "feature_statistics",
    "find_weights",
    "frechet_distance",
    "per_pixel_error",
    "pixel_rmse",
    "pixel_sam",
    "psnr",
    "psnr_peak1",
    "quality_metrics",
    "registration_error",
    "rmse",
    "rsnr",
    "sam",
    "sam_rad",
    "score",
    "ssim",
    "validate_pair",
    "weights_search_dirs",
]

#: Keys :func:`score` adds to :data:`QUALITY_KEYS`.
PERCEPTUAL_KEYS = ("lpips", "fid")
#: All keys of :func:`score`, in table order.
SCORE_KEYS = QUALITY_KEYS + PERCEPTUAL_KEYS
#: The headline metrics, in this order: the console table's rows and the report's default columns.
HEADLINE_KEYS = ("psnr", "ssim", "sam", "ergas", *PERCEPTUAL_KEYS)


def score(
    est: np.ndarray,
    gt: np.ndarray,
    ratio: float,
    rgb_bands: Sequence[int] | None = None,
    perceptual: PerceptualMetrics | None = None,
) -> dict[str, float | None]:
    """Every metric of one estimate against its ground truth.

    Args:
        est: estimate ``(rows, cols, bands)``; clipped to ``[0, 1]`` before scoring.
        gt: ground truth ``(rows, cols, bands)`` in ``[0, 1]``, same shape.
        ratio: spatial ratio ``d`` used by ERGAS (e.g. 4).
        rgb_bands: 3 display-band indices for LPIPS/FID.
        perceptual: a configured :class:`PerceptualMetrics`; ``None`` skips LPIPS/FID.

    Returns:
        The :func:`quality_metrics` keys (floats) plus ``"lpips"`` and ``"fid"`` (float, or ``None``
        when ``perceptual`` is ``None``, ``rgb_bands`` is ``None``, or the metric is unavailable;
        see ``PerceptualMetrics.availability`` and ``last_reasons``). Keys follow :data:`SCORE_KEYS`.
    """
    scores: dict[str, float | None] = dict(quality_metrics(est, gt, ratio))
    perceptual_scores: dict[str, float | None] = dict.fromkeys(PERCEPTUAL_KEYS)
    if perceptual is not None and rgb_bands is not None:
        perceptual_scores.update(perceptual.compute(est, gt, rgb_bands))
    scores.update(perceptual_scores)
    return scores
