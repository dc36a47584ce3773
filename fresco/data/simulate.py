"""The semi-real unregistered pair simulator: degradation operators, noise, misalignment.

Conventions (all documented in ``docs/data.md``):

* **Pixel centres.** Fine pixel ``x`` covers ``[x - 1/2, x + 1/2)``; coarse pixel ``i`` at ratio ``d``
  covers fine pixels ``i*d .. i*d + d - 1`` and its centre sits at fine coordinate
  ``i*d + (d - 1)/2`` (the pixel-area convention of ``torch.nn.functional.interpolate(...,
  align_corners=False)``). ``gaussian`` and ``average`` sample there; ``nearest`` keeps fine pixel
  ``i*d + d//2`` and ``subsample`` keeps ``i*d``: :func:`sample_phase` gives each kind's position and
  the simulator records it in ``pair.acquisition.degradation`` so interpolation lines up.
* **Degradation** is separable: ``degrade(X)[:, :, k] = D_r X[:, :, k] D_c^T`` with
  :func:`degradation_matrix` (``n_fine // d, n_fine``) per axis; borders by half-sample symmetric
  reflection folded into the matrix, so every row sums to 1.
* **Geometry.** Scene coordinates are (row, col) in fine pixels, pixel ``(r, c)`` centred at
  ``(r, c)``. The MSI footprint is an integer-aligned window of the scene. The HSI footprint is the
  scene resampled on a grid rotated by ``angle_deg`` about its centre, which sits ``shift_px`` from
  the MSI footprint's centre (:class:`RigidTransform`). A positive angle makes the HSI show the scene
  turned counter-clockwise (as displayed, row 0 on top): ``angle_deg=90`` gives exactly
  ``np.rot90(crop)``.
* **Noise** is white Gaussian at a per-image SNR in dB; noisy observations are clipped to ``[0, 1]``
  by default (``clip=True``), ground truths are always in ``[0, 1]``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fresco.data.pair import Acquisition, FusionPair
from fresco.data.scenes import Scene
from fresco.data.sensors import SpectralResponse
from fresco.ops.degradation import (
    DEGRADATION_KINDS,
    GAUSSIAN_TRUNCATE,
    Degradation,
    add_noise,
    check_ratio,
    default_kernel_size,
    default_sigma,
    degradation_matrix,
    degrade,
    noise_sigma,
    sample_phase,
)
from fresco.ops.warp import RigidTransform, sample_at

__all__ = [
    "DEGRADATION_KINDS",
    "GAUSSIAN_TRUNCATE",
    "MISALIGNMENT_LEVELS",
    "RigidTransform",
    "add_noise",
    "default_kernel_size",
    "default_sigma",
    "degradation_matrix",
    "degrade",
    "misalignment",
    "misalignment_config",
    "noise_sigma",
    "scene_thumbnail",
    "sample_phase",
    "simulate_pair",
]

#: Tolerance for the "footprint inside the scene" test (floating error in rotations).
BOUNDS_TOL = 1e-6
#: Longest side (pixels) of the scene thumbnail kept in ``pair.meta["scene_thumbnail"]``.
THUMBNAIL_MAX_SIDE = 64

#: Named unregistration levels (config group ``misalignment``). Shifts are fractions of the HSI
#: footprint side, (rows, cols); all shift along columns (+x: the HSI lies right of the MSI) so the four
#: levels fit a 96x96 pair (the largest square that does) in the 145x145 Indian Pines scene. Overlap
#: (fraction of the HSI footprint the MSI also sees) with 96x96 footprints: none 1.0, mild 0.870,
#: moderate 0.708, severe 0.500 (80x80: 1.0, 0.871, 0.708, 0.500).
#: :func:`simulate_pair`'s arguments that a ``misalignment`` config sets.
MOTION_KEYS = ("angle_deg", "shift_frac", "scale", "angle_jitter_deg", "shift_jitter_frac", "interp_order")
MISALIGNMENT_LEVELS: dict[str, dict[str, Any]] = {
    "none": {"angle_deg": 0.0, "shift_frac": (0.0, 0.0)},
    "mild": {"angle_deg": 10.0, "shift_frac": (0.0, 0.10)},
    "moderate": {"angle_deg": 30.0, "shift_frac": (0.0, 0.25)},
    "severe": {"angle_deg": 90.0, "shift_frac": (0.0, 0.50)},
}


def misalignment_config(level: str) -> dict[str, Any]:
    """The ``misalignment`` config group's option ``level``: its name, the level's motion and the rest of
    :func:`simulate_pair`'s motion arguments at their defaults (registered with Hydra by
    :mod:`fresco.configs`, so this table and the simulator's signature are the only sources)."""
    motion = misalignment(level)
    defaults = {k: p.default for k, p in inspect.signature(simulate_pair).parameters.items() if k in MOTION_KEYS}
    node = {"name": level, **defaults, **motion}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in node.items()}


def misalignment(level: str) -> dict[str, Any]:
    """Keyword arguments (``angle_deg``, ``shift_frac``) of a named level, for :func:`simulate_pair`."""
    if level not in MISALIGNMENT_LEVELS:
        raise ValueError(f"unknown misalignment level {level!r}; choose one of {list(MISALIGNMENT_LEVELS)}")
    return dict(MISALIGNMENT_LEVELS[level])


# ----------------------------------------------------------------------------- geometry
def _overflow(lo: float, hi: float, limit: float) -> float:
    return max(0.0, -lo, hi - limit)


def _hsi_corner_offsets(transform: RigidTransform, hsi_shape: Sequence[int]) -> np.ndarray:
    """``(4, 2)`` scene offsets (row, col) of the HSI footprint's outer pixel-edge corners from the MSI
    footprint's centre, in the order top-left, top-right, bottom-right, bottom-left of the footprint."""
    h, w = hsi_shape
    u = np.array([-0.5, -0.5, h - 0.5, h - 0.5])
    v = np.array([-0.5, w - 0.5, w - 0.5, -0.5])
    rows, cols = transform.footprint_to_scene(u, v, (h, w), (0.0, 0.0))
    return np.stack([rows, cols], axis=1)


def _hsi_centre_offsets(transform: RigidTransform, hsi_shape: Sequence[int]) -> np.ndarray:
    """``(4, 2)`` scene offsets of the HSI footprint's corner pixel *centres* (what is sampled)."""
    h, w = hsi_shape
    u = np.array([0.0, 0.0, h - 1.0, h - 1.0])
    v = np.array([0.0, w - 1.0, w - 1.0, 0.0])
    rows, cols = transform.footprint_to_scene(u, v, (h, w), (0.0, 0.0))
    return np.stack([rows, cols], axis=1)


def _place_msi(transform: RigidTransform, msi_shape: Sequence[int], hsi_shape: Sequence[int],
               scene_shape: Sequence[int]) -> np.ndarray:
    """Integer scene origin (row, col) of the MSI window such that the bounding box of the sampled
    pixel centres of both footprints is centred in the scene (rounded to whole pixels; of the two
    nearest integer origins, one that keeps both footprints inside the scene is preferred)."""
    i_m, j_m = msi_shape
    half_m = np.array([(i_m - 1) / 2.0, (j_m - 1) / 2.0])
    pts = np.vstack([_hsi_centre_offsets(transform, hsi_shape), -half_m, half_m])  # offsets from MSI centre
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    limit = np.array([scene_shape[0] - 1.0, scene_shape[1] - 1.0])
    span = hi - lo + 1.0
    if np.any(span > limit + 1.0 + BOUNDS_TOL):
        raise ValueError(
            f"the MSI footprint {i_m}x{j_m} and the HSI footprint {hsi_shape[0]}x{hsi_shape[1]} (angle "
            f"{transform.angle_deg:.1f} deg, shift ({transform.shift_px[0]:.1f}, {transform.shift_px[1]:.1f}) px, "
            f"scale {transform.scale:g}) together span {span[0]:.1f} x {span[1]:.1f} px, which overflows the "
            f"{scene_shape[0]}x{scene_shape[1]} scene by {max(span[0] - limit[0] - 1, 0):.1f} px along rows and "
            f"{max(span[1] - limit[1] - 1, 0):.1f} px along cols; reduce msi_shape / hsi_shape (config "
            "`dataset.footprint`), shift_frac or the angle (a 45-degree rotation needs sqrt(2) times the side), "
            "or use a larger scene"
        )
    ideal = (limit - (lo + hi)) / 2.0 - half_m   # MSI origin that centres the bounding box
    origin = np.floor(ideal + 0.5)
    for axis in range(2):
        fits = [o for o in (origin[axis], np.floor(ideal[axis]), np.ceil(ideal[axis]))
                if o + half_m[axis] + lo[axis] >= -BOUNDS_TOL
                and o + half_m[axis] + hi[axis] <= limit[axis] + BOUNDS_TOL]
        if fits:
            origin[axis] = fits[0]
    return origin.astype(int)


def scene_thumbnail(scene: Scene, max_side: int = THUMBNAIL_MAX_SIDE) -> dict[str, Any]:
    """A small RGB picture of the whole scene for footprint figures: ``{"rgb": (h, w, 3) uint8 as nested
    lists, "step": s}``; pixel ``(i, j)`` of the picture is scene pixel ``(i s, j s)`` (percentile-stretched
    display bands, nearest-neighbour subsampling). Small enough to keep in ``pair.meta`` (JSON)."""
    cube = scene.cube
    bands = list(scene.rgb_bands) if scene.rgb_bands is not None else [
        int(np.argmin(np.abs(scene.wavelengths - nm))) for nm in (640.0, 550.0, 460.0)]
    step = max(1, math.ceil(max(cube.shape[:2]) / max_side))
    rgb = cube[::step, ::step][..., bands].astype(np.float64)
    lo, hi = np.percentile(rgb.reshape(-1, 3), (2.0, 98.0), axis=0)
    rgb = np.clip((rgb - lo) / np.maximum(hi - lo, 1e-12), 0.0, 1.0)
    return {"rgb": np.round(rgb * 255).astype(np.uint8).tolist(), "step": int(step)}


# ----------------------------------------------------------------------------- simulator
def simulate_pair(
    scene: Scene,
    srf: SpectralResponse | np.ndarray,
    ratio: int = 4,
    msi_shape: tuple[int, int] = (80, 80),
    hsi_shape: tuple[int, int] = (80, 80),
    degradation: str = "gaussian",
    sigma: float | None = None,
    kernel_size: int | None = None,
    angle_deg: float = 0.0,
    shift_frac: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    angle_jitter_deg: float = 0.0,
    shift_jitter_frac: float = 0.0,
    snr_db_hsi: float | None = None,
    snr_db_msi: float | None = None,
    interp_order: int = 3,
    seed: int = 0,
    name: str | None = None,
    clip: bool = True,
    thumbnail: bool = True,
) -> FusionPair:
    """Simulate one unregistered HSI/MSI pair (with ground truth) from a scene.

    Args:
        scene: ground truth ``(H, W, K_H)`` in ``[0, 1]``.
        srf: ``P`` ``(K_M, K_H)`` (or a :class:`SpectralResponse`).
        ratio: spatial ratio ``d``.
        msi_shape: MSI footprint ``(I_M, J_M)`` in fine pixels.
        hsi_shape: HSI footprint in fine pixels ``(d*I_H, d*J_H)``; divisible by ``ratio``.
        degradation, sigma, kernel_size: see :func:`degradation_matrix`.
        angle_deg: rotation of the HSI footprint (see :class:`RigidTransform`).
        shift_frac: ``(dy, dx)`` HSI-centre minus MSI-centre, as fractions of the HSI footprint side.
        scale: HSI fine pixel size in scene pixels.
        angle_jitter_deg, shift_jitter_frac: half-widths of seeded uniform perturbations of the angle
            (deg) and of each shift fraction, so different seeds give different pairs.
        snr_db_hsi, snr_db_msi: per-image SNR (dB) of white Gaussian noise; ``None`` = clean.
        interp_order: spline order for resampling the HSI footprint (grid-aligned footprints are
            copied exactly whatever the order).
        seed: seeds the jitter and the two noise draws (independent streams).
        name: pair name (default built from the settings).
        clip: clip the noisy MSI/HSI to ``[0, 1]`` (ground truths are always in ``[0, 1]``).
        thumbnail: keep a small RGB picture of the scene in ``meta["scene_thumbnail"]`` (see
            :func:`scene_thumbnail`) so figures can draw both footprints on the scene.

    Returns:
        FusionPair with ``sri_m``, ``sri_h``, ``mask_m``, ``mask_h`` and ``meta`` keys ``transform``,
        ``overlap`` (= ``mask_h.mean()``), ``overlap_m`` (= ``mask_m.mean()``), ``degradation``,
        ``noise``, ``srf_band_names``, ``srf_sensor``, ``scene``, ``seed``, ``interp_order``,
        ``scene_thumbnail``. ``meta["transform"]`` holds the motion, the MSI origin, both centres, the
        affine maps ``hsi_to_scene`` / ``hsi_to_msi`` and the footprints' corners ``msi_corners`` /
        ``hsi_corners`` (scene pixels).

    Raises:
        ValueError: if a footprint does not fit inside the scene (says by how much and what to reduce).
    """
    cube = scene.cube
    n_rows, n_cols, n_bands = cube.shape
    p = np.asarray(srf.matrix if isinstance(srf, SpectralResponse) else srf, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != n_bands:
        raise ValueError(f"srf must be (K_M, K_H) with K_H = {n_bands} scene bands; got shape {p.shape}")
    i_m, j_m = (int(v) for v in msi_shape)
    h_h, w_h = (int(v) for v in hsi_shape)
    d = check_ratio(h_h, ratio, "hsi_shape[0]")
    check_ratio(w_h, ratio, "hsi_shape[1]")
    if degradation not in DEGRADATION_KINDS:
        raise ValueError(f"unknown degradation {degradation!r}; choose one of {DEGRADATION_KINDS}")
    if i_m < 1 or j_m < 1:
        raise ValueError(f"msi_shape must be positive, got {msi_shape}")

    jitter_rng, hsi_rng, msi_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    angle = float(angle_deg) + (jitter_rng.uniform(-angle_jitter_deg, angle_jitter_deg)
                                if angle_jitter_deg else 0.0)
    frac = np.asarray(shift_frac, dtype=np.float64).copy()
    if shift_jitter_frac:
        frac += jitter_rng.uniform(-shift_jitter_frac, shift_jitter_frac, size=2)
    shift = (float(frac[0] * h_h * scale), float(frac[1] * w_h * scale))
    transform = RigidTransform(angle, shift, scale)

    # Place the pair so that the bounding box of both footprints is centred in the scene (the MSI
    # window snapped to whole pixels): this fits the largest footprints for a given motion.
    msi_origin = _place_msi(transform, (i_m, j_m), (h_h, w_h), (n_rows, n_cols))
    msi_centre = msi_origin + np.array([(i_m - 1) / 2.0, (j_m - 1) / 2.0])
    over_m = (_overflow(msi_origin[0], msi_origin[0] + i_m - 1, n_rows - 1),
              _overflow(msi_origin[1], msi_origin[1] + j_m - 1, n_cols - 1))
    if max(over_m) > 0:
        raise ValueError(
            f"the MSI footprint {i_m}x{j_m} (placed so that both footprints are centred in the scene) "
            f"overflows the {n_rows}x{n_cols} scene by {over_m[0]:.1f} px along rows and "
            f"{over_m[1]:.1f} px along cols; reduce msi_shape or shift_frac, or use a larger scene"
        )

    uu, vv = np.meshgrid(np.arange(h_h, dtype=np.float64), np.arange(w_h, dtype=np.float64), indexing="ij")
    s_rows, s_cols = transform.footprint_to_scene(uu, vv, (h_h, w_h), msi_centre)
    over_h = (_overflow(s_rows.min(), s_rows.max(), n_rows - 1),
              _overflow(s_cols.min(), s_cols.max(), n_cols - 1))
    if max(over_h) > BOUNDS_TOL:
        raise ValueError(
            f"the HSI footprint {h_h}x{w_h} (angle {angle:.1f} deg, shift ({shift[0]:.1f}, "
            f"{shift[1]:.1f}) px, scale {scale:g}) overflows the {n_rows}x{n_cols} scene by "
            f"{over_h[0]:.1f} px along rows and "
            f"{over_h[1]:.1f} px along cols, which would leave blank corners; reduce hsi_shape, shift_frac "
            "or the angle (a 45-degree rotation needs sqrt(2) times the side), or use a larger scene"
        )

    sri_m = np.ascontiguousarray(cube[msi_origin[0]:msi_origin[0] + i_m, msi_origin[1]:msi_origin[1] + j_m],
                                 dtype=np.float32)
    sri_h = np.clip(sample_at(cube, s_rows, s_cols, interp_order), 0.0, 1.0).astype(np.float32)

    # Masks: a pixel counts as overlapping when its scene point lies inside the other footprint's area.
    lo_m = msi_origin - 0.5
    mask_h = ((s_rows >= lo_m[0]) & (s_rows < lo_m[0] + i_m) & (s_cols >= lo_m[1]) & (s_cols < lo_m[1] + j_m))
    mi, mj = np.meshgrid(np.arange(i_m, dtype=np.float64) + msi_origin[0],
                         np.arange(j_m, dtype=np.float64) + msi_origin[1], indexing="ij")
    fu, fv = transform.scene_to_footprint(mi, mj, (h_h, w_h), msi_centre)
    mask_m = (fu >= -0.5) & (fu < h_h - 0.5) & (fv >= -0.5) & (fv < w_h - 0.5)

    msi_clean = np.tensordot(sri_m.astype(np.float64), p, axes=(2, 1))   # SRI_M x_3 P
    hsi_clean = degrade(sri_h, d, degradation, sigma, kernel_size)
    sig_m, sig_h = noise_sigma(msi_clean, snr_db_msi), noise_sigma(hsi_clean, snr_db_hsi)
    msi = add_noise(msi_clean, snr_db_msi, msi_rng, clip=clip and snr_db_msi is not None)
    hsi = add_noise(hsi_clean, snr_db_hsi, hsi_rng, clip=clip and snr_db_hsi is not None)

    acquisition = Acquisition(degradation=Degradation.of(degradation, d, sigma, kernel_size),
                              msi_sensor=srf.sensor if isinstance(srf, SpectralResponse) else None)
    hsi_to_scene = transform.affine((h_h, w_h), msi_centre)
    msi_to_scene = np.eye(3)
    msi_to_scene[:2, 2] = msi_origin
    meta: dict[str, Any] = {
        "scene": scene.name,
        "scene_shape": [n_rows, n_cols, n_bands],
        "seed": int(seed),
        "interp_order": int(interp_order),
        "transform": {
            **transform.to_dict(),
            "shift_frac": frac.tolist(),
            "msi_origin": msi_origin.tolist(),
            "msi_centre": msi_centre.tolist(),
            "hsi_centre": (msi_centre + np.asarray(shift)).tolist(),
            "hsi_shape": [h_h, w_h],
            "msi_shape": [i_m, j_m],
            # (u, v, 1) fine HSI-footprint pixel -> (row, col, 1) scene / MSI pixel coordinates.
            "hsi_to_scene": hsi_to_scene.tolist(),
            "hsi_to_msi": (np.linalg.inv(msi_to_scene) @ hsi_to_scene).tolist(),
            # Outer pixel-edge corners (row, col) in scene pixels, for drawing the footprints:
            # MSI top-left, top-right, bottom-right, bottom-left; HSI the same corners of its own grid.
            "msi_corners": (msi_origin + np.array([[0, 0], [0, j_m], [i_m, j_m], [i_m, 0]]) - 0.5).tolist(),
            "hsi_corners": (_hsi_corner_offsets(transform, (h_h, w_h)) + msi_centre).tolist(),
        },
        "scene_thumbnail": scene_thumbnail(scene) if thumbnail else None,
        "overlap": float(mask_h.mean()),
        "overlap_m": float(mask_m.mean()),
        "noise": {"snr_db_hsi": snr_db_hsi, "snr_db_msi": snr_db_msi, "sigma_hsi": sig_h, "sigma_msi": sig_m,
                  "clip": bool(clip)},
        "srf_band_names": list(srf.band_names) if isinstance(srf, SpectralResponse)
        else [f"b{k}" for k in range(p.shape[0])],
        "srf_sensor": srf.sensor if isinstance(srf, SpectralResponse) else "user",
    }
    pair_name = name or f"{scene.name}_x{d}_{degradation}_rot{angle:g}_seed{seed}"
    return FusionPair(msi=msi, hsi=hsi, srf=p, ratio=d, wavelengths=scene.wavelengths.copy(),
                      sri_m=sri_m, sri_h=sri_h, mask_m=mask_m, mask_h=mask_h, rgb_bands=scene.rgb_bands,
                      name=pair_name, acquisition=acquisition, meta=meta)
