"""Spatial degradation operators (blur + decimation) and white noise: plain numpy, every layer may use them.

Pixel-centre convention (docs/data.md): coarse pixel ``i`` at ratio ``d`` covers fine pixels
``i*d .. i*d + d - 1`` and its centre sits at fine coordinate ``i*d + (d - 1)/2``. ``gaussian`` and
``average`` sample there; ``nearest`` keeps fine pixel ``i*d + d//2`` and ``subsample`` keeps ``i*d``
(:func:`sample_phase`). Degradation is separable, ``degrade(X)[:, :, k] = D_r X[:, :, k] D_c^T`` with
:func:`degradation_matrix` per axis; borders by half-sample symmetric reflection folded into the
matrix, so every row sums to 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import sparse

from fresco.ops.checks import check_image

__all__ = ["DEGRADATION_KINDS", "FWHM2_PER_SIGMA2", "GAUSSIAN_TRUNCATE", "Degradation", "add_noise",
           "apply_separable", "check_ratio", "default_kernel_size", "default_sigma", "degradation_matrix", "degrade",
           "integer_ratio", "noise_sigma", "sample_phase"]

DEGRADATION_KINDS = ("gaussian", "average", "nearest", "subsample")
#: Gaussian taps reach this many sigmas from the coarse pixel centre (the default kernel size).
GAUSSIAN_TRUNCATE = 3.0
#: FWHM^2 = 8 ln 2 sigma^2: the default sigma makes the blur's FWHM equal the ratio d.
FWHM2_PER_SIGMA2 = 8.0 * math.log(2.0)


def default_sigma(ratio: int) -> float:
    """Gaussian blur sigma (fine pixels) whose FWHM equals the ratio: ``sqrt(d^2 / (8 ln 2))``."""
    return math.sqrt(ratio**2 / FWHM2_PER_SIGMA2)


def default_kernel_size(ratio: int, sigma: float) -> int:
    """Number of taps: every fine pixel within ``GAUSSIAN_TRUNCATE * sigma`` of the coarse centre.

    The count has the parity of ``ratio`` (taps symmetric about ``i*d + (d-1)/2``) and is at least
    ``ratio``. For ``d = 2, 3, 4, 8`` with the default sigma: 6, 7, 10, 20.
    """
    reach = GAUSSIAN_TRUNCATE * sigma
    size = 2 * math.floor(reach + 0.5) if ratio % 2 == 0 else 2 * math.floor(reach) + 1
    return max(size, ratio)


def _reflect(index: np.ndarray, n: int) -> np.ndarray:
    """Half-sample symmetric reflection (-1 -> 0, n -> n-1), valid for any distance outside."""
    period = 2 * n
    index = np.mod(index, period)
    return np.where(index >= n, period - 1 - index, index)


def check_ratio(n_fine: int, ratio: int, what: str = "n_fine") -> int:
    if int(ratio) != ratio or ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio!r}")
    ratio = int(ratio)
    if n_fine % ratio:
        raise ValueError(
            f"{what}={n_fine} is not divisible by ratio={ratio}; choose a footprint size that is a multiple "
            f"of the ratio (e.g. {n_fine - n_fine % ratio} or {n_fine + ratio - n_fine % ratio})"
        )
    return ratio


def integer_ratio(fine_shape: tuple[int, ...], coarse_shape: tuple[int, ...], minimum: int = 1) -> int | None:
    """The spatial ratio ``d`` when ``fine_shape[:2]`` is ``d`` times ``coarse_shape[:2]`` on both axes
    (an integer ``d >= minimum``), else None."""
    r0, r1 = fine_shape[0] / coarse_shape[0], fine_shape[1] / coarse_shape[1]
    return int(r0) if r0 == r1 and r0 == int(r0) and r0 >= minimum else None


def degradation_matrix(n_fine: int, ratio: int, kind: str = "gaussian", sigma: float | None = None,
                       kernel_size: int | None = None) -> np.ndarray:
    """1-D spatial degradation operator ``D`` (``n_fine // ratio, n_fine``), float64, rows summing to 1.

    Coarse pixel ``i`` is centred at fine coordinate ``i*d + (d-1)/2``.

    Args:
        n_fine: fine pixels along the axis (divisible by ``ratio``).
        ratio: ``d``.
        kind: ``gaussian`` (blur then decimate), ``average`` (block mean), ``nearest`` (fine pixel
            ``i*d + d//2``, the one nearest the coarse centre, upper one on ties, like torch's
            ``nearest-exact``), ``subsample`` (fine pixel ``i*d``, plain decimation).
        sigma: Gaussian sigma in fine pixels (default :func:`default_sigma`); gaussian only.
        kernel_size: Gaussian taps (default :func:`default_kernel_size`); must have the parity of
            ``ratio``; gaussian only. Taps beyond the border are reflected back in (half-sample).
    """
    if kind not in DEGRADATION_KINDS:
        raise ValueError(f"unknown degradation kind {kind!r}; choose one of {DEGRADATION_KINDS}")
    if n_fine < 1:
        raise ValueError(f"n_fine must be positive, got {n_fine}")
    d = check_ratio(n_fine, ratio)
    n_coarse = n_fine // d
    rows = np.arange(n_coarse)
    mat = np.zeros((n_coarse, n_fine), dtype=np.float64)
    if kind == "average":
        for offset in range(d):
            mat[rows, rows * d + offset] = 1.0 / d
        return mat
    if kind == "nearest":
        mat[rows, rows * d + d // 2] = 1.0
        return mat
    if kind == "subsample":
        mat[rows, rows * d] = 1.0
        return mat
    sig = default_sigma(d) if sigma is None else float(sigma)
    if sig <= 0:
        raise ValueError(f"gaussian sigma must be positive, got {sig}")
    size = default_kernel_size(d, sig) if kernel_size is None else int(kernel_size)
    if size < 1 or (size - d) % 2:
        raise ValueError(
            f"kernel_size={kernel_size} must be positive with the parity of ratio={d} so that the taps sit "
            f"symmetrically about the coarse pixel centre i*d+(d-1)/2 (try {size + 1} or {size - 1})"
        )
    offsets = np.arange(size) - (size - 1) / 2.0  # tap positions relative to the coarse centre
    weights = np.exp(-0.5 * (offsets / sig) ** 2)
    weights /= weights.sum()
    for i in rows:
        centre = i * d + (d - 1) / 2.0
        taps = _reflect(np.rint(centre + offsets).astype(np.int64), n_fine)
        np.add.at(mat[i], taps, weights)
    return mat


def sample_phase(kind: str, ratio: int) -> float:
    """Fine coordinate (within its block of ``ratio`` pixels) of coarse pixel 0 for a degradation
    kind: ``(d-1)/2`` for ``gaussian`` / ``average``, ``d//2`` for ``nearest``, 0 for ``subsample``."""
    if kind not in DEGRADATION_KINDS:
        raise ValueError(f"unknown degradation {kind!r}; choose one of {DEGRADATION_KINDS}")
    return {"nearest": float(ratio // 2), "subsample": 0.0}.get(kind, (ratio - 1) / 2.0)


@dataclass(frozen=True)
class Degradation:
    """How a coarse image was made from the fine one (:func:`degrade`): ``kind``, ``ratio``, the Gaussian's
    ``sigma`` and ``kernel_size`` (None for the other kinds) and the sampling ``phase``
    (:func:`sample_phase`). Build it with :meth:`of`, which fills the defaults the operator uses."""

    kind: str
    ratio: int
    sigma: float | None = None
    kernel_size: int | None = None
    phase: float = 0.0

    @classmethod
    def of(cls, kind: str, ratio: int, sigma: float | None = None, kernel_size: int | None = None) -> Degradation:
        """The degradation :func:`degrade` applies for these arguments, with its defaults filled in."""
        phase = sample_phase(kind, int(ratio))
        if kind != "gaussian":
            return cls(kind, int(ratio), None, None, phase)
        sig = default_sigma(int(ratio)) if sigma is None else float(sigma)
        size = default_kernel_size(int(ratio), sig) if kernel_size is None else int(kernel_size)
        return cls(kind, int(ratio), sig, size, phase)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Degradation:
        return cls(str(data["kind"]), int(data["ratio"]), data.get("sigma"), data.get("kernel_size"),
                   float(data.get("phase", 0.0)))


def apply_separable(img: np.ndarray, rows: Any, cols: Any) -> np.ndarray:
    """``rows @ X[:, :, k] @ cols.T`` for every band of ``img (H, W, K)``, as float32.

    ``rows (H', H)`` and ``cols (W', W)`` are dense or sparse 1-D operators; given sparse, the cost
    grows with pixels x taps rather than pixels x side.
    """
    n_rows, n_cols, n_bands = img.shape
    x = np.asarray(img, dtype=np.float64).reshape(n_rows, n_cols * n_bands)
    tmp = (rows @ x).reshape(-1, n_cols, n_bands)                             # (H', W, K)
    tmp = np.ascontiguousarray(tmp.transpose(1, 0, 2)).reshape(n_cols, -1)    # (W, H'*K)
    out = (cols @ tmp).reshape(cols.shape[0], -1, n_bands).transpose(1, 0, 2)  # (H', W', K)
    return np.ascontiguousarray(out, dtype=np.float32)


def degrade(img: np.ndarray, ratio: int, kind: str = "gaussian", sigma: float | None = None,
            kernel_size: int | None = None) -> np.ndarray:
    """Spatially degrade ``(H, W, K)`` to ``(H/d, W/d, K)`` float32 (``D_r X D_c^T`` per band)."""
    arr = check_image(img, "degrade's image", finite=False)
    check_ratio(arr.shape[0], ratio, "image height")
    check_ratio(arr.shape[1], ratio, "image width")
    d_r = sparse.csr_matrix(degradation_matrix(arr.shape[0], ratio, kind, sigma, kernel_size))
    d_c = d_r if arr.shape[1] == arr.shape[0] else sparse.csr_matrix(
        degradation_matrix(arr.shape[1], ratio, kind, sigma, kernel_size))
    return apply_separable(arr, d_r, d_c)



# ----------------------------------------------------------------------------- noise
def noise_sigma(img: np.ndarray, snr_db: float | None) -> float:
    """Noise standard deviation for ``snr_db`` on ``img``: ``sqrt(mean(img^2) / 10^(snr/10))``."""
    if snr_db is None:
        return 0.0
    power = float(np.mean(np.square(img, dtype=np.float64)))
    return math.sqrt(power / 10.0 ** (float(snr_db) / 10.0))


def add_noise(img: np.ndarray, snr_db: float | None, rng: np.random.Generator | int | None = None,
              clip: bool = False) -> np.ndarray:
    """Additive white Gaussian noise at ``snr_db`` (dB) for the whole image; ``None`` = clean copy.

    SNR = 10 log10(mean signal power / noise variance), one noise level per image (all bands).

    Args:
        img: any-shape array.
        snr_db: target SNR in dB, or ``None`` for no noise.
        rng: generator or seed.
        clip: clip the result to ``[0, 1]``.

    Returns:
        float32 array of ``img``'s shape.
    """
    out = np.asarray(img, dtype=np.float64)
    if snr_db is not None:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        out = out + gen.normal(0.0, noise_sigma(out, snr_db), size=out.shape)
    if clip:
        out = np.clip(out, 0.0, 1.0)
    return out.astype(np.float32)
