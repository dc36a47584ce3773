"""Figures: the footprints of a simulated pair drawn on the scene, in the run figure and on their own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fresco import results
from fresco.data.sensors import make_srf
from fresco.data.simulate import misalignment, simulate_pair
from fresco.data.synthetic import synthetic_scene
from fresco.figures import draw_footprints, footprint_caption, footprint_figure, has_footprints, run_figure


@pytest.fixture(scope="module")
def severe_pair():
    scene = synthetic_scene(48, 48, n_bands=12, wavelengths=np.linspace(420.0, 900.0, 12), seed=0)
    return simulate_pair(scene, make_srf("quickbird_box", scene.wavelengths), msi_shape=(24, 24),
                         hsi_shape=(24, 24), **misalignment("severe"))


def _png_width(path) -> int:
    import matplotlib.image

    return matplotlib.image.imread(str(path)).shape[1]


def test_draw_footprints_outlines_both_footprints_in_scene_pixels(severe_pair) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    draw_footprints(ax, severe_pair)
    outlines = [p for p in ax.patches if not p.get_fill()]
    assert [p.get_label() for p in outlines] == ["MSI", "HSI"]
    tr = severe_pair.meta["transform"]
    for patch, key in zip(outlines, ("msi_corners", "hsi_corners"), strict=True):
        xy = patch.get_xy()[:4]  # (col, row) vertices
        np.testing.assert_allclose(xy[:, ::-1], tr[key])
    assert len(ax.images) == 1   # the scene thumbnail underneath
    plt.close(fig)
    assert footprint_caption(severe_pair) == "rot 90 deg; shift (0, 12) px; overlap 0.500"


def test_footprint_figure_and_run_figure(severe_pair, tmp_path) -> None:
    assert has_footprints(severe_pair)
    footprint_figure(severe_pair, tmp_path / "fp.png")
    assert (tmp_path / "fp.png").stat().st_size > 1000
    with_fp = run_figure(severe_pair, severe_pair.sri_m, severe_pair.sri_h, tmp_path / "run.png")
    without = run_figure(severe_pair.without_truth(), None, None, tmp_path / "plain.png")
    assert _png_width(with_fp) > _png_width(without)   # one more column: the footprints on the scene
    with pytest.raises(ValueError, match="has no footprint corners"):
        footprint_figure(severe_pair.without_truth(), tmp_path / "none.png")


def test_severe_indian_pines_run_records_partial_overlap_and_draws_footprints(compose_cfg) -> None:
    """Acceptance: `fresco dataset=indian_pines misalignment=severe` (any method)."""
    from fresco.data.io import load_pair_npz
    from fresco.pipeline import run_experiment

    cfg = compose_cfg("dataset=indian_pines", "misalignment=severe", "logger=none",
                      "metrics.perceptual.enabled=false")
    metrics = run_experiment(cfg)
    run_dir = cfg.paths.output_dir
    assert 0.0 < metrics["pair.overlap"] < 1.0 and metrics["pair.overlap"] == pytest.approx(0.5)
    pair = load_pair_npz(f"{run_dir}/{results.PAIR_FILE}")
    assert pair.meta["overlap"] == pytest.approx(0.5) and pair.meta["transform"]["angle_deg"] == 90.0
    assert has_footprints(pair) and pair.meta["scene_thumbnail"]["step"] == 3
    assert pair.msi.shape[:2] == (96, 96) and pair.hsi.shape[:2] == (24, 24)
    assert _png_width(f"{run_dir}/{results.FIGURE_FILE}") > 1300   # 5 columns, the first the footprints
    assert len(json.dumps(pair.meta)) < 60_000                      # the thumbnail keeps pair.npz small
