"""Registration-free estimate of the MSI spectral response ``P`` (``K_M, K_H``) from an unregistered pair.

When no sensor curve is known, ``P`` must come from the two images themselves. The MSI ``Y_M`` and the
HSI ``Y_H`` see different, only partly overlapping footprints of one scene (shifted, rotated), so their
pixels cannot be paired; only the *distributions* of their pixel spectra are comparable:

    MSI pixel spectra  ~  P x        (x: fine scene spectra over the MSI footprint)
    HSI pixel spectra  ~  B x        (B: blur + decimation over the HSI footprint)

The estimator therefore compares *sets and distributions* of spectra, never pixels:

1. **Fair resolution.** With ``ratio`` given, the MSI is first degraded to the HSI's pixel size
   (``msi_degradation``: Gaussian blur + decimation by default, as the simulator makes the HSI; block
   ``average`` also offered). Coarse pixels average sub-pixel mixtures, so their spread is smaller than
   fine pixels'; comparing like with like removes that bias (measured in ``docs/srf_estimation.md``).
2. **Loss.** Main term: a trimmed symmetric chamfer distance between the MSI pixel spectra and the
   ``P``-projected HSI pixel spectra (each MSI pixel to its nearest projected HSI pixel and back, bands
   whitened by the MSI band standard deviations, the worst ``1 - trim`` of the distances ignored). It asks
   that both footprints contain the same *kinds* of spectra, not in the same proportions, so it survives
   partial overlap far better than moment matching (measured: at 50 % overlap the true ``P`` no longer
   minimises a mean/covariance or sliced-quantile loss, but still nearly minimises the chamfer term).
   A small-weight distribution term smooths the landscape: the spec's first and second moments (mean and
   covariance mismatch) plus sliced 2-Wasserstein distances (quantile functions of ``u . y`` along band
   axes, band differences and a few seeded random directions ``u``). None of it needs pixel pairing;
   all of it is invariant to any spatial motion of one footprint.
3. **Model of a row.** ``mode="flat_top"`` (default): each MSI band is one contiguous band with a centre
   and a width (nm) and soft edges, normalised to sum 1 (a box band in the limit). ``mode="gaussian"``:
   Gaussian rows (centre + FWHM). ``mode="free"``: every entry free (row-wise softmax, so ``>= 0`` and
   summing to 1) with a second-difference smoothness penalty along wavelength, started from the flat-top fit.
4. **Search.** A grid of (centre, width) candidates per band; a start from the best per-band marginal
   match (with ``ordered=True``, jointly under increasing centres, by dynamic programming); a second start
   improved by coordinate-descent sweeps over the chamfer term on the grid; further seeded starts from the
   runners-up; each refined by L-BFGS-B (torch autograd gradients); the lowest loss wins.
   ``wavelength_hint`` (approximate band centres) keeps each band's centre within ``hint_tolerance``.
5. **Radiometry.** ``radiometry="absolute"`` assumes both images are on one reflectance scale (brightness
   levels then pin the bands down best); ``"standardised"`` compares per-band standardised values, so any
   per-band gain/offset between the sensors is allowed (and returned), at some loss of accuracy.

What it cannot identify (see ``docs/srf_estimation.md``): changes of ``P`` that do not change the projected
spectra of this scene (a band's exact edges and width where the scene's spectra are flat, e.g. a NIR band on
the vegetation plateau; a second lobe of a multi-lobed response), the position of a band whose values are
matched equally well elsewhere (e.g. Sentinel-2 B9 at 945 nm without a hint), and, in ``"standardised"``
mode, anything carried only by absolute brightness.

Public API: :func:`estimate_srf` (the matrix), :func:`fit_srf` (matrix + centres, widths, loss),
:func:`srf_error` (error of an estimate against a known ``P``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fresco.ops.checks import check_image
from fresco.ops.degradation import degrade

__all__ = [
    "MODES",
    "SRFEstimate",
    "estimate_srf",
    "fit_srf",
    "srf_error",
]

#: Row models accepted by :func:`estimate_srf` (``mode=``).
MODES = ("flat_top", "gaussian", "free")
#: How the radiometric scales of the two images are related (``radiometry=``).
RADIOMETRY = ("absolute", "standardised")
#: Spatial degradations accepted for bringing the MSI to the HSI's pixel size (``msi_degradation=``).
MSI_DEGRADATIONS = ("gaussian", "average")

#: Number of quantile levels compared per direction.
N_LEVELS = 64
#: Lowest and highest quantile level compared (trimming makes the loss robust to footprint differences
#: and outliers at the tails).
QUANTILE_RANGE = (0.02, 0.98)
#: Seeded random unit directions in MSI band space added to the axes and band differences.
N_RANDOM_DIRECTIONS = 16
#: Weight of the moment (mean + covariance) term relative to the sliced quantile term.
MOMENT_WEIGHT = 1.0
#: Widths (FWHM for Gaussian rows, full width for flat-top rows) searched on the grid, in multiples of
#: the median HSI band spacing.
WIDTH_GRID_SPACINGS = (1.5, 2.5, 4.0, 6.5, 10.0, 16.0, 27.0)
#: Smallest / largest refined width in median band spacings.
WIDTH_BOUNDS_SPACINGS = (1.5, 40.0)
#: Edge softness of a flat-top row (logistic scale) in median band spacings; smaller is closer to a box.
EDGE_SOFTNESS_SPACINGS = 0.35
#: At most this many candidate centres per band on the grid (evenly spread over the HSI range).
MAX_GRID_CENTRES = 120
#: Coordinate-descent sweeps over the bands on the grid.
GRID_SWEEPS = 2
#: Weight of the quadratic penalty on decreasing centres (per band spacing squared) when ``ordered``.
ORDER_PENALTY = 1.0
#: Multi-starts draw each band's start among its this many best marginal candidates.
N_RUNNERS_UP = 4
#: Default half-width (nm, or bands without wavelengths) of the centre window around a wavelength hint.
HINT_TOLERANCE_NM = 40.0
#: Default weight of the free mode's second-difference smoothness penalty.
FREE_SMOOTHNESS = 1e-2
#: Floor added before taking logs when starting the free mode from a parametric fit.
FREE_INIT_FLOOR = 1e-6
#: L-BFGS-B iteration caps.
MAX_ITER_PARAMETRIC = 100
MAX_ITER_FREE = 300
#: Pixels used per image at most (a seeded random subset beyond that); the chamfer term costs
#: ``n_M * n_H`` distances per evaluation.
MAX_PIXELS = 1024
#: Pixels per image used by the grid search.
GRID_PIXELS = 96
#: Elements of the (candidates, n_M, n_H) distance block computed at once on the grid.
GRID_CHUNK_ELEMENTS = 4_000_000
#: Fraction of nearest-neighbour distances kept (the rest, spectra one footprint has and the other lacks,
#: are ignored).
TRIM = 0.8
#: Weight of the distribution terms (sliced quantiles + moments) relative to the chamfer term.
DISTRIBUTION_WEIGHT = 0.01
#: Variances below this (relative to the mean variance) are floored when normalising directions.
VARIANCE_FLOOR = 1e-6
#: Minimum spatial size of an image (pixels) for distribution statistics to mean anything.
MIN_PIXELS = 16
#: Torch threads while fitting (the problems are small; more threads mostly add contention).
TORCH_THREADS = 1
#: FWHM = FWHM_PER_SIGMA * sigma for a Gaussian.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Floor on a row's sum when computing its centroid (guards all-zero rows of a user-given matrix).
ROW_SUM_TOL = 1e-9


@dataclass
class SRFEstimate:
    """Result of :func:`fit_srf`.

    Attributes:
        matrix: ``(K_M, K_H)`` float64, rows >= 0 summing to 1.
        centres: ``(K_M,)`` fitted centres (nm; band index units without wavelengths). For ``free`` mode
            the centroid of each row.
        widths: ``(K_M,)`` fitted widths (full width for flat-top, FWHM for Gaussian; same units); NaN for
            ``free`` mode.
        loss: final value of the matching loss (lower is better; comparable only within one pair).
        mode: the row model used.
        info: extra diagnostics (per-start losses, the MSI resolution used, ...).
    """

    matrix: np.ndarray
    centres: np.ndarray
    widths: np.ndarray
    loss: float
    mode: str
    info: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (``None``: leave it)."""
    import torch

    if n is None:
        yield
        return
    if int(n) < 1:
        raise ValueError(f"num_threads must be >= 1 or None, got {n}")
    prev = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(prev)


# ----------------------------------------------------------------------------- input checks
def _check_image(img: Any, what: str) -> np.ndarray:
    arr = check_image(img, what, hint=". Reshape a pixel list to (n, 1, bands) if needed", dtype=np.float64)
    if arr.shape[0] * arr.shape[1] < MIN_PIXELS:
        raise ValueError(f"{what} has {arr.shape[0] * arr.shape[1]} pixels; at least {MIN_PIXELS} are needed "
                         "for distribution statistics")
    return arr


def _check_inputs(msi: Any, hsi: Any, wavelengths: Any, ratio: Any, mode: str, msi_degradation: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, int | None]:
    m = _check_image(msi, "msi")
    h = _check_image(hsi, "hsi")
    k_m, k_h = m.shape[2], h.shape[2]
    if k_m < 1 or k_m >= k_h:
        raise ValueError(f"need 1 <= K_M < K_H (MSI bands fewer than HSI bands); got K_M={k_m}, K_H={k_h}. "
                         "Did you swap msi and hsi?")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
    if msi_degradation not in MSI_DEGRADATIONS:
        raise ValueError(f"unknown msi_degradation {msi_degradation!r}; choose one of {MSI_DEGRADATIONS}")
    if wavelengths is None:
        wl, have_wl = np.arange(k_h, dtype=np.float64), False
    else:
        wl = np.asarray(wavelengths, dtype=np.float64).ravel()
        if wl.size != k_h:
            raise ValueError(f"wavelengths has {wl.size} entries but the HSI has K_H={k_h} bands")
        if not np.all(np.isfinite(wl)) or np.unique(wl).size < 2:
            raise ValueError("wavelengths must be finite HSI band centres (nm), not all equal")
        have_wl = True
    d: int | None = None
    if ratio is not None:
        if isinstance(ratio, bool) or not float(ratio).is_integer() or int(ratio) < 1:
            raise ValueError(f"ratio must be a positive integer (HSI pixel size / MSI pixel size); got {ratio!r}")
        d = int(ratio)
        if m.shape[0] < d or m.shape[1] < d:
            raise ValueError(f"msi ({m.shape[0]}x{m.shape[1]} pixels) is smaller than one HSI pixel (ratio {d})")
    return m, h, wl, have_wl, d


def _coarse_msi(m: np.ndarray, d: int | None, kind: str) -> np.ndarray:
    """The MSI at the HSI's pixel size: crop to a multiple of ``d`` and degrade (``(I_M/d, J_M/d, K_M)``)."""
    if d is None or d == 1:
        return m
    rows, cols = (m.shape[0] // d) * d, (m.shape[1] // d) * d
    return np.asarray(degrade(m[:rows, :cols], d, kind), dtype=np.float64)


def _pixels(img: np.ndarray, rng: np.random.Generator, max_pixels: int) -> np.ndarray:
    x = img.reshape(-1, img.shape[2])
    if x.shape[0] > max_pixels:
        x = x[np.sort(rng.choice(x.shape[0], max_pixels, replace=False))]
    return x


# ----------------------------------------------------------------------------- loss pieces
def _directions(k_m: int, rng: np.random.Generator, n_random: int) -> np.ndarray:
    """``(K_M, n_dir)`` unit directions: band axes, normalised band differences, seeded random ones."""
    cols = [np.eye(k_m)]
    if k_m > 1:
        pairs = [(a, b) for a in range(k_m) for b in range(a + 1, k_m)]
        diff = np.zeros((k_m, len(pairs)))
        for i, (a, b) in enumerate(pairs):
            diff[a, i], diff[b, i] = 1.0 / math.sqrt(2.0), -1.0 / math.sqrt(2.0)
        cols.append(diff)
        if n_random > 0:
            r = rng.standard_normal((k_m, n_random))
            cols.append(r / np.linalg.norm(r, axis=0, keepdims=True))
    return np.concatenate(cols, axis=1)


def _levels(n_levels: int, q_range: tuple[float, float]) -> np.ndarray:
    return np.linspace(q_range[0], q_range[1], n_levels)


def _interp_index(n: int, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear-interpolation indices/weights of quantile ``levels`` in a sorted sample of size ``n``."""
    pos = levels * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, pos - lo


def _quantiles_np(z: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``(n_levels, n_cols)`` quantiles of each column of ``z`` ``(n, n_cols)``."""
    s = np.sort(z, axis=0)
    lo, hi, f = _interp_index(z.shape[0], levels)
    return s[lo] * (1.0 - f)[:, None] + s[hi] * f[:, None]


def _trimmed_mean_np(d: np.ndarray, trim: float, axis: int) -> np.ndarray:
    """Mean of the ``trim`` fraction of smallest values along ``axis`` (at least one value)."""
    n = d.shape[axis]
    keep = max(1, int(round(trim * n)))
    return np.mean(np.partition(d, keep - 1, axis=axis).take(np.arange(keep), axis=axis), axis=axis)


class _Problem:
    """Precomputed statistics of one pair and the loss of a candidate ``P`` (numpy and torch).

    ``loss(P) = chamfer(P) + distribution_weight * (sliced(P) + moment_weight * moments(P))`` where
    ``chamfer`` is the trimmed symmetric nearest-neighbour distance between the MSI pixel spectra and the
    ``P``-projected HSI pixel spectra (bands whitened by the MSI band standard deviations), divided by
    ``K_M``: it compares the *sets* of spectra the two footprints contain, not their proportions.
    """

    def __init__(self, m_pix: np.ndarray, h_pix: np.ndarray, dirs: np.ndarray, levels: np.ndarray,
                 moment_weight: float, distribution_weight: float, trim: float, grid_pixels: int,
                 rng: np.random.Generator, standardise: bool = False) -> None:
        self.standardise = bool(standardise)
        if self.standardise:
            self.m_mean, self.m_sd = m_pix.mean(axis=0), m_pix.std(axis=0)
            m_pix = self.prep_np(m_pix)
        self.h = h_pix                                        # (n_H, K_H)
        self.dirs = dirs                                      # (K_M, n_dir)
        self.levels = levels
        self.moment_weight = float(moment_weight)
        self.distribution_weight = float(distribution_weight)
        self.trim = float(trim)
        self.chamfer_weight = 1.0
        sd = m_pix.std(axis=0)
        self.inv_sd = 1.0 / np.maximum(sd, math.sqrt(VARIANCE_FLOOR) * max(sd.mean(), np.finfo(float).tiny))
        self.m_w = m_pix * self.inv_sd                        # (n_M, K_M) whitened MSI pixels
        proj_m = m_pix @ dirs                                 # (n_M, n_dir)
        self.target_q = _quantiles_np(proj_m, levels)         # (n_levels, n_dir)
        var = proj_m.var(axis=0)
        self.scale = np.maximum(var, VARIANCE_FLOOR * max(var.mean(), np.finfo(float).tiny))
        self.mu_m = m_pix.mean(axis=0)
        self.cov_m = np.cov(m_pix, rowvar=False).reshape(m_pix.shape[1], m_pix.shape[1])
        self.cov_norm = max(float(np.sum(self.cov_m**2)), np.finfo(float).tiny)
        self.mean_norm = max(float(np.trace(self.cov_m)), np.finfo(float).tiny)
        self.idx = _interp_index(h_pix.shape[0], levels)
        # pixel subsets for the grid search (chamfer over all candidates is the costly part)
        self.grid_m = np.sort(rng.permutation(m_pix.shape[0])[:grid_pixels])
        self.grid_h = np.sort(rng.permutation(h_pix.shape[0])[:grid_pixels])
        self._torch: dict[str, Any] | None = None

    # numpy, for the grid: loss of many candidate projections on a subset of directions
    def sliced_np(self, z: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Per-column normalised quantile mismatch; ``z`` ``(n_H, n)`` projections on directions ``cols``."""
        q = _quantiles_np(z, self.levels)
        return np.mean((q - self.target_q[:, cols]) ** 2, axis=0) / self.scale[cols]

    def chamfer_np(self, m_w: np.ndarray, z_w: np.ndarray) -> float:
        d = np.sum((m_w[:, None, :] - z_w[None, :, :]) ** 2, axis=2)
        return float((_trimmed_mean_np(d.min(axis=1), self.trim, 0) + _trimmed_mean_np(d.min(axis=0), self.trim, 0))
                     / (2.0 * m_w.shape[1]))

    def chamfer_band(self, k: int, z_cand: np.ndarray, z_rest: np.ndarray) -> np.ndarray:
        """Grid chamfer for band ``k`` over candidates: ``z_cand`` ``(n_h, n_cand)`` band-``k`` projections,
        ``z_rest`` ``(n_h, K_M)`` current projections (column ``k`` ignored); on the grid pixel subsets."""
        import torch

        k_m = self.m_w.shape[1]
        m_w = torch.as_tensor(self.m_w[self.grid_m])
        zr = torch.as_tensor(z_rest[self.grid_h] * self.inv_sd)
        others = [i for i in range(k_m) if i != k]
        base = torch.sum((m_w[:, None, others] - zr[None, :, others]) ** 2, dim=2)      # (n_m, n_h)
        zc = torch.as_tensor(z_cand[self.grid_h] * self.inv_sd[k]).T                    # (n_cand, n_h)
        keep_m = max(1, int(round(self.trim * base.shape[0])))
        keep_h = max(1, int(round(self.trim * base.shape[1])))
        out = np.empty(zc.shape[0])
        chunk = max(1, GRID_CHUNK_ELEMENTS // max(1, base.numel()))
        with torch.no_grad():
            for s in range(0, zc.shape[0], chunk):
                d = base[None] + (m_w[None, :, k, None] - zc[s:s + chunk, None, :]) ** 2  # (c, n_m, n_h)
                a = torch.topk(d.min(dim=2).values, keep_m, dim=1, largest=False).values.mean(dim=1)
                b = torch.topk(d.min(dim=1).values, keep_h, dim=1, largest=False).values.mean(dim=1)
                out[s:s + chunk] = ((a + b) / (2.0 * k_m)).numpy()
        return out

    def loss_np(self, p: np.ndarray) -> float:
        zp = self.prep_np(self.h @ p.T)
        loss = self.chamfer_weight * self.chamfer_np(self.m_w, zp * self.inv_sd)
        if self.distribution_weight > 0:
            sl = float(np.mean(self.sliced_np(zp @ self.dirs, np.arange(self.dirs.shape[1]))))
            dm = zp.mean(axis=0) - self.mu_m
            dc = np.cov(zp, rowvar=False).reshape(self.cov_m.shape) - self.cov_m
            mom = float(dm @ dm / self.mean_norm + np.sum(dc**2) / self.cov_norm)
            loss += self.distribution_weight * (sl + self.moment_weight * mom)
        return loss

    def prep_np(self, z: np.ndarray) -> np.ndarray:
        """Projected spectra ``(n, m)`` as compared: as they are, or standardised per column."""
        if not self.standardise:
            return z
        return (z - z.mean(axis=0)) / np.maximum(z.std(axis=0), np.finfo(float).tiny)

    def gain_offset(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-band gain and offset mapping ``P``-projected HSI statistics onto the MSI's (``(K_M,)`` each;
        ones and zeros unless ``standardise``)."""
        if not self.standardise:
            return np.ones(p.shape[0]), np.zeros(p.shape[0])
        z = self.h @ p.T
        gain = self.m_sd / np.maximum(z.std(axis=0), np.finfo(float).tiny)
        return gain, self.m_mean - gain * z.mean(axis=0)

    # torch, for the refinement
    def loss_torch(self, p: Any) -> Any:
        import torch

        if self._torch is None:
            t = {k: torch.as_tensor(getattr(self, k)) for k in
                 ("h", "dirs", "target_q", "scale", "mu_m", "cov_m", "m_w", "inv_sd")}
            lo, hi, f = self.idx
            t["lo"], t["hi"], t["f"] = torch.as_tensor(lo), torch.as_tensor(hi), torch.as_tensor(f)[:, None]
            t["m_sq"] = torch.sum(t["m_w"] ** 2, dim=1)
            self._torch = t
        t = self._torch
        zp = t["h"] @ p.T                                                  # (n_H, K_M)
        if self.standardise:
            zp = (zp - zp.mean(dim=0)) / zp.std(dim=0, unbiased=False).clamp_min(np.finfo(float).tiny)
        zw = zp * t["inv_sd"]
        # squared distances via one matmul (torch.cdist's backward is far slower)
        d = (t["m_sq"][:, None] + torch.sum(zw**2, dim=1)[None, :] - 2.0 * t["m_w"] @ zw.T).clamp_min(0.0)
        n_m, n_h = d.shape
        keep_m, keep_h = max(1, int(round(self.trim * n_m))), max(1, int(round(self.trim * n_h)))
        a = torch.topk(d.min(dim=1).values, keep_m, largest=False).values.mean()
        b = torch.topk(d.min(dim=0).values, keep_h, largest=False).values.mean()
        loss = self.chamfer_weight * (a + b) / (2.0 * p.shape[0])
        if self.distribution_weight > 0:
            z = zp @ t["dirs"]
            s, _ = torch.sort(z, dim=0)
            q = s[t["lo"]] * (1.0 - t["f"]) + s[t["hi"]] * t["f"]
            sl = torch.mean(torch.mean((q - t["target_q"]) ** 2, dim=0) / t["scale"])
            dm = zp.mean(dim=0) - t["mu_m"]
            zc = zp - zp.mean(dim=0)
            dc = zc.T @ zc / (zp.shape[0] - 1) - t["cov_m"]
            mom = dm @ dm / self.mean_norm + torch.sum(dc**2) / self.cov_norm
            loss = loss + self.distribution_weight * (sl + self.moment_weight * mom)
        return loss


# ----------------------------------------------------------------------------- row models
def _rows_np(wl: np.ndarray, centres: np.ndarray, widths: np.ndarray, mode: str, soft: float) -> np.ndarray:
    """``(n, K_H)`` normalised rows for ``n`` (centre, width) pairs (log-domain softmax, no 0/0)."""
    c, w = centres[:, None], widths[:, None]
    if mode == "gaussian":
        sig = w / FWHM_PER_SIGMA
        logp = -0.5 * ((wl[None, :] - c) / sig) ** 2
    else:
        a = (wl[None, :] - (c - w / 2.0)) / soft
        b = ((c + w / 2.0) - wl[None, :]) / soft
        logp = -np.logaddexp(0.0, -a) - np.logaddexp(0.0, -b)
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


def _rows_torch(wl: Any, centres: Any, widths: Any, mode: str, soft: float) -> Any:
    import torch

    c, w = centres[:, None], widths[:, None]
    if mode == "gaussian":
        logp = -0.5 * ((wl[None, :] - c) / (w / FWHM_PER_SIGMA)) ** 2
    else:
        a = (wl[None, :] - (c - w / 2.0)) / soft
        b = ((c + w / 2.0) - wl[None, :]) / soft
        logp = torch.nn.functional.logsigmoid(a) + torch.nn.functional.logsigmoid(b)
    return torch.softmax(logp, dim=1)


def _row_centroids(p: np.ndarray, wl: np.ndarray) -> np.ndarray:
    return (p @ wl) / np.maximum(p.sum(axis=1), ROW_SUM_TOL)


# ----------------------------------------------------------------------------- search
@dataclass
class _Grid:
    centres: np.ndarray   # (n_c,)
    widths: np.ndarray    # (n_w,)
    cand_c: np.ndarray    # (n_cand,)
    cand_w: np.ndarray    # (n_cand,)
    z: np.ndarray         # (n_H, n_cand) HSI projected on each candidate row
    allowed: np.ndarray   # (K_M, n_cand) bool: candidate allowed for band k (wavelength hint)


def _make_grid(prob: _Problem, wl: np.ndarray, spacing: float, mode: str, soft: float,
               lo_c: np.ndarray, hi_c: np.ndarray) -> _Grid:
    ordered = np.sort(wl)
    step = max(1, int(math.ceil(wl.size / MAX_GRID_CENTRES)))
    centres = ordered[::step]
    widths = spacing * np.asarray(WIDTH_GRID_SPACINGS)
    cc, ww = np.meshgrid(centres, widths, indexing="ij")
    cand_c, cand_w = cc.ravel(), ww.ravel()
    rows = _rows_np(wl, cand_c, cand_w, mode, soft)
    allowed = (cand_c[None, :] >= lo_c[:, None]) & (cand_c[None, :] <= hi_c[:, None])
    for k in range(allowed.shape[0]):
        if not allowed[k].any():  # hint window narrower than the grid step: allow the nearest grid centre
            gap = np.abs(cand_c - (lo_c[k] + hi_c[k]) / 2.0)
            allowed[k] = gap <= gap.min()
    return _Grid(centres, widths, cand_c, cand_w, prob.prep_np(prob.h @ rows.T), allowed)


def _marginal_scores(prob: _Problem, grid: _Grid) -> np.ndarray:
    """``(K_M, n_cand)`` per-band marginal quantile mismatch of each candidate row."""
    q = _quantiles_np(grid.z, prob.levels)                     # (n_levels, n_cand)
    k_m = prob.dirs.shape[0]
    out = np.empty((k_m, grid.z.shape[1]))
    for k in range(k_m):  # axis k is direction k
        out[k] = np.mean((q - prob.target_q[:, [k]]) ** 2, axis=0) / prob.scale[k]
    return np.where(grid.allowed, out, np.inf)


def _ordered_init(marg: np.ndarray, cand_c: np.ndarray) -> np.ndarray:
    """Per-band candidates ``(K_M,)`` minimising the summed marginal scores ``marg`` ``(K_M, n_cand)`` subject
    to non-decreasing centres along the band order (dynamic programming over candidates sorted by centre)."""
    k_m, _ = marg.shape
    order = np.argsort(cand_c, kind="stable")
    cost = marg[0, order].copy()
    back = np.zeros((k_m, order.size), dtype=np.int64)
    for k in range(1, k_m):
        run_min = np.minimum.accumulate(cost)
        run_arg = np.zeros(order.size, dtype=np.int64)
        for i in range(1, order.size):  # index of the running minimum
            run_arg[i] = i if cost[i] < run_min[i - 1] else run_arg[i - 1]
        back[k] = run_arg
        cost = marg[k, order] + run_min
    idx = np.empty(k_m, dtype=np.int64)
    idx[-1] = int(np.argmin(cost))
    for k in range(k_m - 1, 0, -1):
        idx[k - 1] = back[k, idx[k]]
    return order[idx]


def _coordinate_descent(prob: _Problem, grid: _Grid, choice: np.ndarray, sweeps: int, ordered: bool
                        ) -> np.ndarray:
    """Improve a per-band candidate choice ``(K_M,)`` band by band on the grid loss.

    For band ``k`` every candidate row is scored (the other bands fixed at their current choice) on the
    chamfer term over the grid pixel subsets plus, weighted as in the loss, the sliced term on the band
    axis and the band differences involving ``k``; the best candidate is kept. With ``ordered``, band
    ``k``'s centre stays between its neighbours' centres.
    """
    k_m = choice.size
    choice = choice.copy()
    n_fixed = k_m + k_m * (k_m - 1) // 2  # axes + pair differences (random directions only refine)
    for _ in range(sweeps):
        changed = False
        for k in range(k_m):
            total = prob.chamfer_band(k, grid.z, grid.z[:, choice])
            if prob.distribution_weight > 0:
                sliced = np.zeros(grid.z.shape[1])
                for j in range(n_fixed):
                    u = prob.dirs[:, j]
                    if u[k] == 0.0:
                        continue
                    others = [i for i in range(k_m) if i != k and u[i] != 0.0]
                    zk = grid.z * u[k]
                    if others:
                        zk = zk + (grid.z[:, choice[others]] @ u[others])[:, None]
                    sliced += prob.sliced_np(zk, np.full(zk.shape[1], j))
                total = total + prob.distribution_weight * sliced / n_fixed
            allowed = grid.allowed[k].copy()
            if ordered and k > 0:
                allowed &= grid.cand_c >= grid.cand_c[choice[k - 1]]
            if ordered and k < k_m - 1:
                allowed &= grid.cand_c <= grid.cand_c[choice[k + 1]]
            if not allowed.any():  # neighbours out of order (a random start): keep this band as it is
                continue
            total = np.where(allowed, total, np.inf)
            best = int(np.argmin(total))
            if best != choice[k]:
                choice[k], changed = best, True
        if not changed:
            break
    return choice


def _refine_parametric(prob: _Problem, wl: np.ndarray, spacing: float, mode: str, soft: float,
                       c0: np.ndarray, w0: np.ndarray, lo_c: np.ndarray, hi_c: np.ndarray,
                       max_iter: int, ordered: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """L-BFGS-B on (centre, log width) of every band; centres in band-spacing units for conditioning.
    With ``ordered``, a quadratic penalty keeps the centres non-decreasing along the band order."""
    import torch
    from scipy.optimize import minimize

    k_m = c0.size
    wl_t = torch.as_tensor(wl)
    w_lo, w_hi = (spacing * b for b in WIDTH_BOUNDS_SPACINGS)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        xt = torch.as_tensor(x).requires_grad_(True)
        centres = xt[:k_m] * spacing
        widths = torch.exp(xt[k_m:]) * spacing
        loss = prob.loss_torch(_rows_torch(wl_t, centres, widths, mode, soft))
        if ordered and k_m > 1:
            loss = loss + ORDER_PENALTY * torch.sum(torch.relu(xt[:k_m - 1] - xt[1:k_m]) ** 2)
        loss.backward()
        return float(loss.detach()), xt.grad.numpy().copy()

    x0 = np.concatenate([c0 / spacing, np.log(np.clip(w0, w_lo, w_hi) / spacing)])
    bounds = [(lo / spacing, hi / spacing) for lo, hi in zip(lo_c, hi_c, strict=True)]
    bounds += [(math.log(w_lo / spacing), math.log(w_hi / spacing))] * k_m
    x0 = np.clip(x0, [b[0] for b in bounds], [b[1] for b in bounds])
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": max_iter})
    return res.x[:k_m] * spacing, np.exp(res.x[k_m:]) * spacing, float(res.fun)


def _smoothness_torch(p: Any) -> Any:
    """Second-difference roughness of the rows (columns in wavelength order), relative to their energy."""
    import torch

    d2 = p[:, 2:] - 2.0 * p[:, 1:-1] + p[:, :-2]
    return torch.sum(d2**2) / torch.sum(p**2)


def _refine_free(prob: _Problem, p0: np.ndarray, order: np.ndarray, smoothness: float, max_iter: int
                 ) -> tuple[np.ndarray, float]:
    """L-BFGS-B on row-wise softmax logits (so rows stay >= 0 and sum to 1) + smoothness penalty."""
    import torch
    from scipy.optimize import minimize

    shape = p0.shape
    smooth = p0.shape[1] >= 3 and smoothness > 0
    order_t = torch.as_tensor(order)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        xt = torch.as_tensor(x.reshape(shape)).requires_grad_(True)
        p = torch.softmax(xt, dim=1)
        loss = prob.loss_torch(p)
        if smooth:
            loss = loss + smoothness * _smoothness_torch(p[:, order_t])
        loss.backward()
        return float(loss.detach()), xt.grad.numpy().ravel().copy()

    x0 = np.log(p0 + FREE_INIT_FLOOR).ravel()
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    logits = res.x.reshape(shape)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True), float(prob.loss_np(p / p.sum(axis=1, keepdims=True)))


def _hint_bounds(hint: Any, k_m: int, wl: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    w_min, w_max = float(wl.min()), float(wl.max())
    lo_all, hi_all = np.full(k_m, w_min), np.full(k_m, w_max)
    if hint is None:
        return lo_all, hi_all
    h = np.asarray(hint, dtype=np.float64).ravel()
    if h.size != k_m:
        raise ValueError(f"wavelength_hint has {h.size} entries but the MSI has K_M={k_m} bands; give one "
                         "approximate centre per MSI band (NaN for bands without a hint)")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"hint_tolerance must be a positive number, got {tol}")
    known = np.isfinite(h)
    if np.any(known & ((h < w_min - tol) | (h > w_max + tol))):
        raise ValueError(f"wavelength_hint {h[known].tolist()} lies outside the HSI range [{w_min:g}, {w_max:g}] "
                         "(same units as wavelengths; band indices when wavelengths is None)")
    lo = np.where(known, np.clip(h - tol, w_min, w_max), lo_all)
    hi = np.where(known, np.clip(h + tol, w_min, w_max), hi_all)
    return lo, hi


def fit_srf(msi: np.ndarray, hsi: np.ndarray, wavelengths: np.ndarray | None = None, ratio: int | None = None, *,
            mode: str = "flat_top", wavelength_hint: np.ndarray | None = None, ordered: bool = True,
            radiometry: str = "absolute", hint_tolerance: float = HINT_TOLERANCE_NM,
            msi_degradation: str = "gaussian", n_starts: int = 2,
            seed: int = 0, trim: float = TRIM, distribution_weight: float = DISTRIBUTION_WEIGHT,
            moment_weight: float = MOMENT_WEIGHT, smoothness: float = FREE_SMOOTHNESS,
            n_levels: int = N_LEVELS, n_random_directions: int = N_RANDOM_DIRECTIONS,
            max_pixels: int = MAX_PIXELS, num_threads: int | None = TORCH_THREADS) -> SRFEstimate:
    """Estimate ``P`` from an unregistered MSI/HSI pair by distribution matching; see :func:`estimate_srf`.

    Returns:
        :class:`SRFEstimate` with the matrix ``(K_M, K_H)``, fitted centres/widths ``(K_M,)`` and the loss;
        ``info`` holds ``start_losses`` (one per start), ``gain`` / ``offset`` ``(K_M,)`` (MSI ~ gain * P y_H +
        offset; 1 / 0 unless ``radiometry="standardised"``), ``msi_pixels_shape`` (the MSI size compared,
        after degradation) and ``hsi_pixels``.
    """
    m, h, wl, have_wl, d = _check_inputs(msi, hsi, wavelengths, ratio, mode, msi_degradation)
    if radiometry not in RADIOMETRY:
        raise ValueError(f"unknown radiometry {radiometry!r}; choose one of {RADIOMETRY}")
    if int(n_starts) < 1:
        raise ValueError(f"n_starts must be >= 1, got {n_starts}")
    if int(n_levels) < 2:
        raise ValueError(f"n_levels must be >= 2, got {n_levels}")
    if min(moment_weight, distribution_weight, smoothness) < 0:
        raise ValueError(f"moment_weight, distribution_weight and smoothness must be >= 0, got {moment_weight}, "
                         f"{distribution_weight}, {smoothness}")
    if not 0.0 < trim <= 1.0:
        raise ValueError(f"trim (fraction of nearest-neighbour distances kept) must be in (0, 1], got {trim}")
    k_m = m.shape[2]
    with _torch_threads(num_threads):
        rng = np.random.default_rng(seed)
        m_c = _coarse_msi(m, d, msi_degradation)
        if m_c.shape[0] * m_c.shape[1] < MIN_PIXELS:
            raise ValueError(f"the MSI at the HSI's pixel size (ratio {d}) has only {m_c.shape[0]}x{m_c.shape[1]} "
                             f"pixels; at least {MIN_PIXELS} are needed. Use a larger MSI or ratio=None")
        m_pix, h_pix = _pixels(m_c, rng, max_pixels), _pixels(h, rng, max_pixels)
        dirs = _directions(k_m, rng, n_random_directions)
        prob = _Problem(m_pix, h_pix, dirs, _levels(int(n_levels), QUANTILE_RANGE), moment_weight,
                        distribution_weight, trim, GRID_PIXELS, rng, radiometry == "standardised")

        spacing = float(np.median(np.diff(np.unique(wl))))
        soft = EDGE_SOFTNESS_SPACINGS * spacing
        row_mode = "gaussian" if mode == "gaussian" else "flat_top"
        lo_c, hi_c = _hint_bounds(wavelength_hint, k_m, wl, float(hint_tolerance))
        if ordered and wavelength_hint is not None:
            known = np.asarray(wavelength_hint, dtype=np.float64).ravel()
            known = known[np.isfinite(known)]
            if np.any(np.diff(known) < 0):
                raise ValueError(f"wavelength_hint {known.tolist()} is not in increasing order but ordered=True "
                                 "assumes the MSI bands are listed by wavelength; pass ordered=False")
        grid = _make_grid(prob, wl, spacing, row_mode, soft, lo_c, hi_c)
        marg = _marginal_scores(prob, grid)
        runners = np.argsort(marg, axis=1)[:, :N_RUNNERS_UP]

        best: tuple[float, np.ndarray, np.ndarray] | None = None
        start_losses = []
        seen: set[tuple[int, ...]] = set()
        for start in range(int(n_starts)):
            if start <= 1:  # the best marginal match per band (ordered: jointly, by dynamic programming)
                choice = _ordered_init(marg, grid.cand_c) if ordered else np.argmin(marg, axis=1)
            else:           # seeded runners-up
                choice = runners[np.arange(k_m), rng.integers(0, runners.shape[1], k_m)]
                if ordered:
                    choice = choice[np.argsort(grid.cand_c[choice], kind="stable")]
            if start >= 1:
                choice = _coordinate_descent(prob, grid, choice, GRID_SWEEPS, ordered)
            key = tuple(int(c) for c in choice)
            if key in seen:  # same grid point as an earlier start: refining again gives the same answer
                continue
            seen.add(key)
            c, w, loss = _refine_parametric(prob, wl, spacing, row_mode, soft, grid.cand_c[choice],
                                            grid.cand_w[choice], lo_c, hi_c, MAX_ITER_PARAMETRIC, ordered)
            start_losses.append(loss)
            if best is None or loss < best[0]:
                best = (loss, c, w)
        assert best is not None
        loss, centres, widths = best
        p = _rows_np(wl, centres, widths, row_mode, soft)
        if mode == "free":
            p, loss = _refine_free(prob, p, np.argsort(wl, kind="stable"), float(smoothness), MAX_ITER_FREE)
            centres, widths = _row_centroids(p, wl), np.full(k_m, np.nan)
        gain, offset = prob.gain_offset(p)
        info = {"start_losses": start_losses, "gain": gain, "offset": offset,
                "msi_pixels_shape": tuple(m_c.shape), "hsi_pixels": int(h_pix.shape[0]),
                "have_wavelengths": have_wl, "ratio": d, "msi_degradation": msi_degradation if d else None}
        return SRFEstimate(matrix=p, centres=centres, widths=widths, loss=float(loss), mode=mode, info=info)


def estimate_srf(msi: np.ndarray, hsi: np.ndarray, wavelengths: np.ndarray | None = None, ratio: int | None = None,
                 *, mode: str = "flat_top", wavelength_hint: np.ndarray | None = None, ordered: bool = True,
                 radiometry: str = "absolute", hint_tolerance: float = HINT_TOLERANCE_NM,
                 msi_degradation: str = "gaussian", n_starts: int = 2, seed: int = 0, trim: float = TRIM,
                 distribution_weight: float = DISTRIBUTION_WEIGHT, moment_weight: float = MOMENT_WEIGHT,
                 smoothness: float = FREE_SMOOTHNESS, n_levels: int = N_LEVELS,
                 n_random_directions: int = N_RANDOM_DIRECTIONS, max_pixels: int = MAX_PIXELS,
                 num_threads: int | None = TORCH_THREADS) -> np.ndarray:
    """Registration-free estimate of the MSI spectral response ``P`` from an unregistered pair.

    Matches the distribution of MSI pixel spectra with that of ``P``-projected HSI pixel spectra (sliced
    quantile functions + mean/covariance), so the footprints may differ by any shift/rotation and need
    only show the same kind of scene (see the module docstring and ``docs/srf_estimation.md``).

    Args:
        msi: ``(I_M, J_M, K_M)`` MSI, same radiometric scale as the HSI (e.g. reflectance in [0, 1]).
        hsi: ``(I_H, J_H, K_H)`` HSI, ``K_H > K_M``.
        wavelengths: ``(K_H,)`` HSI band centres in nm (need not be sorted: AVIRIS spectrometers
            overlap). ``None``: band indices are
            used as the spectral coordinate (centres, widths and ``hint_tolerance`` then in bands).
        ratio: HSI pixel size / MSI pixel size ``d``. Given, the MSI is cropped to a multiple of ``d`` and
            degraded to the HSI's pixel size before comparing statistics (recommended). ``None``: the
            fine MSI is compared as it is (co-registered same-resolution pairs, or ``d`` unknown).
        mode: ``"flat_top"`` (contiguous band, centre + width), ``"gaussian"`` (centre + FWHM) or
            ``"free"`` (any nonnegative smooth row, started from the flat-top fit).
        wavelength_hint: ``(K_M,)`` approximate MSI band centres (nm; NaN = no hint for that band). Each
            band's centre is then kept within ``hint_tolerance`` of its hint.
        ordered: MSI bands are listed by increasing centre wavelength (true of Landsat, Sentinel-2 in its
            usual order B1..B8, B8A, B9, B11, B12, QuickBird, ALI); keeps fitted centres in that order,
            which removes most of the no-hint ambiguity. Set ``False`` for bands in arbitrary order.
        radiometry: ``"absolute"`` (both images on one reflectance scale: brightness levels are compared,
            which is what pins the bands best) or ``"standardised"`` (each MSI band and each projected band
            standardised to zero mean / unit variance first: for sensors with different calibration,
            atmosphere or units; weaker, and the fitted gain/offset per band is returned in ``fit_srf``'s
            ``info``).
        hint_tolerance: half-width of the allowed centre window around a hint (nm, or bands).
        msi_degradation: how the MSI is brought to the HSI's pixel size: ``"gaussian"`` (blur with FWHM =
            ``d`` then decimation, the simulator's default HSI model) or ``"average"`` (block mean).
        n_starts: grid starts refined by L-BFGS-B (the first from each band's best marginal match, the
            others drawn, seeded, among the runners-up); the lowest loss wins.
        seed: seeds pixel subsampling, random directions and the multi-starts (same seed, same answer).
        moment_weight: weight of the mean + covariance mismatch relative to the sliced quantile loss.
        smoothness: weight of the second-difference penalty in ``"free"`` mode.
        n_levels: quantile levels per direction.
        n_random_directions: random directions added to the band axes and band differences.
        max_pixels: pixels per image used at most (seeded random subset beyond that).
        num_threads: torch threads used while fitting (restored afterwards); ``None`` keeps the current
            setting. One thread is fastest for these small problems, and much faster on a shared machine.

    Returns:
        ``(K_M, K_H)`` float64, rows >= 0 summing to 1.

    Raises:
        ValueError: non-3-D or non-finite images, ``K_M >= K_H``, wrong ``wavelengths``/``wavelength_hint``
            length, non-finite wavelengths, a bad ``ratio``/``mode``/``msi_degradation``.
    """
    return fit_srf(msi, hsi, wavelengths, ratio, mode=mode, wavelength_hint=wavelength_hint, ordered=ordered,
                   radiometry=radiometry,
                   hint_tolerance=hint_tolerance, msi_degradation=msi_degradation, n_starts=n_starts, seed=seed,
                   trim=trim, distribution_weight=distribution_weight, moment_weight=moment_weight,
                   smoothness=smoothness, n_levels=n_levels,
                   n_random_directions=n_random_directions, max_pixels=max_pixels,
                   num_threads=num_threads).matrix


# ----------------------------------------------------------------------------- evaluation
def _check_srf(p: Any, what: str) -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{what} must be a 2-D (K_M, K_H) matrix; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} contains NaN or Inf values")
    return a


def srf_error(p_est: np.ndarray, p_true: np.ndarray, wavelengths: np.ndarray | None = None,
              hsi: np.ndarray | None = None) -> dict[str, Any]:
    """Error of an estimated spectral response against the true one.

    Args:
        p_est, p_true: ``(K_M, K_H)`` matrices (rows = MSI bands, same order).
        wavelengths: ``(K_H,)`` HSI band centres (nm); without them centre shifts are in band indices.
        hsi: optional ``(..., K_H)`` spectra (e.g. the HSI or a ground-truth cube) to measure what matters
            downstream: how differently the two matrices project real spectra.

    Returns:
        dict with ``rel_fro`` (``||P_est - P_true||_F / ||P_true||_F``), ``centre_shift`` ``(K_M,)`` signed
        row-centroid shifts and ``max_centre_shift`` (nm or bands, ``centre_units`` says which),
        ``angle_deg`` ``(K_M,)`` spectral angle between matching rows and ``mean_angle_deg`` /
        ``max_angle_deg``; with ``hsi``: ``rel_projection`` (``||Y (P_est - P_true)^T||_F / ||Y P_true^T||_F``).
    """
    pe, pt = _check_srf(p_est, "p_est"), _check_srf(p_true, "p_true")
    if pe.shape != pt.shape:
        raise ValueError(f"p_est {pe.shape} and p_true {pt.shape} must have the same (K_M, K_H) shape")
    k_h = pt.shape[1]
    if wavelengths is None:
        wl, units = np.arange(k_h, dtype=np.float64), "bands"
    else:
        wl, units = np.asarray(wavelengths, dtype=np.float64).ravel(), "nm"
        if wl.size != k_h:
            raise ValueError(f"wavelengths has {wl.size} entries for K_H={k_h} bands")
    shift = _row_centroids(pe, wl) - _row_centroids(pt, wl)
    norms = np.linalg.norm(pe, axis=1) * np.linalg.norm(pt, axis=1)
    cos = np.sum(pe * pt, axis=1) / np.maximum(norms, np.finfo(float).tiny)
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    out: dict[str, Any] = {
        "rel_fro": float(np.linalg.norm(pe - pt) / max(np.linalg.norm(pt), np.finfo(float).tiny)),
        "centre_shift": shift, "max_centre_shift": float(np.max(np.abs(shift))), "centre_units": units,
        "angle_deg": angle, "mean_angle_deg": float(angle.mean()), "max_angle_deg": float(angle.max()),
    }
    if hsi is not None:
        y = np.asarray(hsi, dtype=np.float64)
        if y.shape[-1] != k_h:
            raise ValueError(f"hsi has {y.shape[-1]} bands but P has K_H={k_h}")
        y = y.reshape(-1, k_h)
        den = max(float(np.linalg.norm(y @ pt.T)), np.finfo(float).tiny)
        out["rel_projection"] = float(np.linalg.norm(y @ (pe - pt).T) / den)
    return out
