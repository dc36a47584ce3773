"""Scenes drawn from the linear mixing (LL1 block-term) model itself, for correctness tests.

``X = sum_r S_r (outer) c_r`` with nonnegative endmembers ``c_r`` in ``[0, 1]`` and abundance maps
``S_r`` that are nonnegative and sum to one at every pixel, so ``X`` lies in ``[0, 1]`` without
rescaling and equals the model exactly (up to float32 rounding).

Abundance kinds:
    ``"lowrank"``    every map has rank <= ``rank`` *and* the maps sum to one exactly. Naively
                     normalising ``A_r B_r^T`` by the pixelwise sum destroys the low rank, so the maps
                     are built as ``S_r = sum_l a_{r,l} b_l^T`` with column profiles ``b_l >= 0`` summing
                     to one over ``l`` and row profiles ``a_{., l} >= 0`` summing to one over ``r``:
                     then ``sum_r S_r = sum_l b_l^T = 1`` and ``rank(S_r) <= rank``.
    ``"piecewise"``  Voronoi regions, each with a dominant material, lightly blurred (blurring is a
                     convex combination, so nonnegativity and sum-to-one survive). Not low rank.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from fresco.data.scenes import Scene

__all__ = ["SYNTHETIC_KINDS", "random_endmembers", "synthetic_scene"]

SYNTHETIC_KINDS = ("lowrank", "piecewise")
DEFAULT_RANGE_NM = (400.0, 2500.0)

# Endmembers: sums of Gaussian absorption/reflection features on a baseline.
N_FEATURES = 4
FEATURE_WIDTH_NM = (60.0, 400.0)
ENDMEMBER_FLOOR = 0.05      # darkest reflectance
ENDMEMBER_PEAK = (0.5, 0.95)  # brightest reflectance of each spectrum, drawn uniformly

# Low-rank abundances: smooth random profiles pushed through a softmax.
PROFILE_SMOOTHNESS = 0.12   # Gaussian smoothing sigma as a fraction of the profile length
SOFTMAX_CONTRAST = 4.0      # larger -> purer pixels (more "sufficiently scattered" abundances)

# Piecewise abundances.
REGIONS_PER_MATERIAL = 3
DOMINANT_WEIGHT = (0.6, 1.0)  # weight of a region's main material
REGION_BLUR_PX = 1.0
#: Display bands: nearest red, green, blue centres (nm).
RGB_TARGETS_NM = (650.0, 550.0, 450.0)


def random_endmembers(wavelengths: np.ndarray, n_materials: int, rng: np.random.Generator) -> np.ndarray:
    """``(K, R)`` smooth nonnegative spectra in ``[ENDMEMBER_FLOOR, 0.95]``."""
    wl = np.asarray(wavelengths, dtype=np.float64)
    lo, hi = wl.min(), wl.max()
    out = np.empty((wl.size, n_materials))
    for r in range(n_materials):
        centres = rng.uniform(lo, hi, N_FEATURES)
        widths = rng.uniform(*FEATURE_WIDTH_NM, N_FEATURES)
        amps = rng.uniform(-1.0, 1.0, N_FEATURES)
        slope = rng.uniform(-0.5, 0.5) * (wl - lo) / max(hi - lo, 1.0)
        curve = slope + (amps * np.exp(-0.5 * ((wl[:, None] - centres) / widths) ** 2)).sum(axis=1)
        span = curve.max() - curve.min()
        unit = (curve - curve.min()) / span if span > 0 else np.zeros_like(curve)
        out[:, r] = ENDMEMBER_FLOOR + (rng.uniform(*ENDMEMBER_PEAK) - ENDMEMBER_FLOOR) * unit
    return out


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _smooth_profiles(length: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``(length, count)`` smooth zero-mean unit-variance random functions."""
    noise = rng.standard_normal((length, count))
    smooth = ndimage.gaussian_filter1d(noise, sigma=max(PROFILE_SMOOTHNESS * length, 0.5), axis=0,
                                       mode="reflect")
    smooth -= smooth.mean(axis=0)
    std = smooth.std(axis=0)
    return smooth / np.where(std > 0, std, 1.0)


def _lowrank_abundances(height: int, width: int, n_materials: int, rank: int,
                        rng: np.random.Generator) -> np.ndarray:
    cols = _softmax(SOFTMAX_CONTRAST * _smooth_profiles(width, rank, rng), axis=1)            # (W, L)
    rows = _softmax(SOFTMAX_CONTRAST * _smooth_profiles(height, n_materials * rank, rng)
                    .reshape(height, n_materials, rank), axis=1)                             # (H, R, L)
    return np.einsum("hrl,wl->hwr", rows, cols)


def _piecewise_abundances(height: int, width: int, n_materials: int, rng: np.random.Generator) -> np.ndarray:
    n_regions = REGIONS_PER_MATERIAL * n_materials
    seeds = rng.uniform([0, 0], [height, width], size=(n_regions, 2))
    yy, xx = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    dist = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    label = dist.argmin(axis=2)
    # Every material dominates at least one region (cycle), the rest is a random mixture.
    vectors = rng.dirichlet(np.ones(n_materials), size=n_regions)
    dominant = np.arange(n_regions) % n_materials
    weight = rng.uniform(*DOMINANT_WEIGHT, n_regions)
    vectors *= (1.0 - weight)[:, None]
    vectors[np.arange(n_regions), dominant] += weight
    abund = vectors[label]
    abund = ndimage.gaussian_filter(abund, sigma=(REGION_BLUR_PX, REGION_BLUR_PX, 0), mode="reflect")
    return abund / abund.sum(axis=2, keepdims=True)  # remove float drift only


def synthetic_scene(height: int = 64, width: int = 64, n_bands: int = 60, n_materials: int = 4,
                    rank: int = 3, wavelengths: np.ndarray | None = None, seed: int = 0,
                    kind: str = "lowrank", endmembers: np.ndarray | None = None) -> Scene:
    """A scene that satisfies the mixing model exactly.

    Args:
        height, width: spatial size (fine pixels).
        n_bands: ``K`` (ignored when ``wavelengths`` or ``endmembers`` fix it).
        n_materials: ``R`` (ignored when ``endmembers`` is given).
        rank: ``L``, the rank bound of every abundance map (``kind="lowrank"``).
        wavelengths: ``(K,)`` nm; default evenly spaced over 400-2500 nm.
        seed: random seed.
        kind: ``"lowrank"`` or ``"piecewise"`` (see the module docstring).
        endmembers: optional ``(K, R)`` library spectra in ``[0, 1]`` to use instead of random ones.

    Returns:
        Scene with ``meta["endmembers"]`` ``(K, R)`` float64, ``meta["abundances"]`` ``(H, W, R)``
        float64 (nonnegative, summing to 1), ``meta["kind"]``, ``meta["rank"]``, ``meta["seed"]``;
        ``cube = abundances @ endmembers.T`` as float32.
    """
    if kind not in SYNTHETIC_KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}; choose one of {SYNTHETIC_KINDS}")
    rng = np.random.default_rng(seed)
    if endmembers is not None:
        em = np.asarray(endmembers, dtype=np.float64)
        if em.ndim != 2 or np.any(em < 0) or np.any(em > 1) or not np.all(np.isfinite(em)):
            raise ValueError(f"endmembers must be a finite (K, R) array in [0, 1]; got shape {em.shape}")
        n_bands, n_materials = em.shape
    if wavelengths is None:
        wl = np.linspace(*DEFAULT_RANGE_NM, n_bands)
    else:
        wl = np.asarray(wavelengths, dtype=np.float64).ravel()
        if endmembers is not None and wl.size != n_bands:
            raise ValueError(f"{wl.size} wavelengths for endmembers with {n_bands} bands")
        n_bands = wl.size
    if n_materials < 1 or rank < 1:
        raise ValueError(f"n_materials and rank must be >= 1, got {n_materials}, {rank}")
    if kind == "lowrank" and rank > min(height, width):
        raise ValueError(f"rank={rank} exceeds min(height, width)={min(height, width)}")
    em = random_endmembers(wl, n_materials, rng) if endmembers is None else em
    if kind == "lowrank":
        abund = _lowrank_abundances(height, width, n_materials, rank, rng)
    else:
        abund = _piecewise_abundances(height, width, n_materials, rng)
    cube = np.clip(abund @ em.T, 0.0, 1.0)  # clip only guards against 1 + 1e-16 rounding
    meta: dict[str, Any] = {"endmembers": em, "abundances": abund, "kind": kind, "rank": int(rank),
                            "seed": int(seed), "n_materials": int(n_materials)}
    return Scene(cube=cube.astype(np.float32), wavelengths=wl, name=f"synthetic_{kind}_s{seed}",
                 rgb_bands=_rgb_for(wl), meta=meta)


def _rgb_for(wl: np.ndarray) -> tuple[int, int, int] | None:
    """Bands nearest 650/550/450 nm when the range covers them."""
    targets = RGB_TARGETS_NM
    if wl.min() > max(targets) or wl.max() < min(targets) or wl.size < 3:
        return None
    picks = tuple(int(np.argmin(np.abs(wl - t))) for t in targets)
    return picks if len(set(picks)) == 3 else None
