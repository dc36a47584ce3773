"""Data: scenes (loaders), sensors (SRF -> ``P``), the unregistered pair simulator, synthetic scenes,
and the :class:`FusionPair` record with its ``.mat`` / ``.npz`` IO.

Typical use::

    from fresco.data import load_indian_pines, make_srf, simulate_pair, MISALIGNMENT_LEVELS
    scene = load_indian_pines()
    srf = make_srf("landsat_box", scene.wavelengths)
    pair = simulate_pair(scene, srf, ratio=4, **MISALIGNMENT_LEVELS["moderate"], seed=0)
"""

from __future__ import annotations

from fresco.data.datasets import DATASETS, Dataset, DatasetNotFoundError
from fresco.data.io import (
    load_pair,
    load_pair_mat,
    load_pair_npz,
    save_pair,
    save_pair_mat,
    save_pair_npz,
)
from fresco.data.pair import FusionPair
from fresco.data.real import hyperion_wavelengths, load_paris_hyperion_ali, load_real_pair
from fresco.data.scenes import (
    Scene,
    load_cube,
    load_indian_pines,
    load_pavia_university,
    load_terrain,
    normalise_cube,
    read_wavelengths,
)
from fresco.data.sensors import (
    LANDSAT_BOX_EDGES,
    QUICKBIRD_BOX_EDGES,
    SpectralResponse,
    box_srf,
    curve_srf,
    ikonos_srf,
    make_srf,
    matrix_srf,
    read_srf_matrix,
    table_srf,
)
from fresco.data.simulate import (
    MISALIGNMENT_LEVELS,
    RigidTransform,
    add_noise,
    degradation_matrix,
    degrade,
    misalignment,
    scene_thumbnail,
    simulate_pair,
)
from fresco.data.srf_estimation import MODES as SRF_MODES
from fresco.data.srf_estimation import SRFEstimate, estimate_srf, fit_srf, srf_error
from fresco.data.synthetic import synthetic_scene

__all__ = [
    "DATASETS",
    "LANDSAT_BOX_EDGES",
    "MISALIGNMENT_LEVELS",
    "QUICKBIRD_BOX_EDGES",
    "SRF_MODES",
    "SRFEstimate",
    "Dataset",
    "DatasetNotFoundError",
    "FusionPair",
    "RigidTransform",
    "Scene",
    "SpectralResponse",
    "add_noise",
    "box_srf",
    "curve_srf",
    "degradation_matrix",
    "degrade",
    "estimate_srf",
    "fit_srf",
    "hyperion_wavelengths",
    "ikonos_srf",
    "load_cube",
    "load_indian_pines",
    "load_pair",
    "load_pair_mat",
    "load_pair_npz",
    "load_paris_hyperion_ali",
    "load_pavia_university",
    "load_real_pair",
    "load_terrain",
    "make_srf",
    "matrix_srf",
    "misalignment",
    "normalise_cube",
    "read_srf_matrix",
    "read_wavelengths",
    "save_pair",
    "save_pair_mat",
    "save_pair_npz",
    "scene_thumbnail",
    "simulate_pair",
    "srf_error",
    "synthetic_scene",
    "table_srf",
]
