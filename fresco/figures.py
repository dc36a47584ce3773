"""Figures: RGB composites of the inputs, ground truth and estimates, per-pixel error maps, and the
two footprints drawn on the scene (simulated pairs)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from fresco.data.pair import FusionPair
from fresco.fileio import atomic_write
from fresco.metrics.quality import pixel_rmse

#: Percentiles of the contrast stretch applied to each composite channel.
STRETCH_PERCENTILES = (2.0, 98.0)
#: Outline colours of the footprints.
MSI_COLOUR = "cyan"
HSI_COLOUR = "orange"


def has_footprints(pair: FusionPair) -> bool:
    """Whether ``pair.meta`` holds the footprint corners the simulator records (simulated pairs)."""
    tr = pair.meta.get("transform") or {}
    return "msi_corners" in tr and "hsi_corners" in tr


def draw_footprints(ax: Any, pair: FusionPair) -> None:
    """Draw the scene (its thumbnail from ``meta["scene_thumbnail"]``, else a grey frame of the scene's
    size) with the MSI footprint (cyan) and the HSI footprint (orange; a dot marks its first row/col
    corner, so the rotation shows) outlined in scene pixel coordinates."""
    from matplotlib.patches import Polygon

    tr = pair.meta["transform"]
    n_rows, n_cols = (pair.meta.get("scene_shape") or [None, None])[:2]
    thumb = pair.meta.get("scene_thumbnail")
    if thumb:
        rgb = np.asarray(thumb["rgb"], dtype=np.uint8)
        step = int(thumb["step"])
        n_rows = n_rows or rgb.shape[0] * step
        n_cols = n_cols or rgb.shape[1] * step
        # Thumbnail pixel (i, j) is scene pixel (i step, j step): it covers [i step - 1/2, (i + 1) step - 1/2).
        ax.imshow(rgb, extent=(-0.5, rgb.shape[1] * step - 0.5, rgb.shape[0] * step - 0.5, -0.5),
                  interpolation="nearest")
    corners = {k: np.asarray(tr[k], dtype=np.float64) for k in ("msi_corners", "hsi_corners")}
    if n_rows is None:
        pts = np.vstack(list(corners.values()))
        n_rows, n_cols = int(np.ceil(pts[:, 0].max() + 0.5)), int(np.ceil(pts[:, 1].max() + 0.5))
    if not thumb:
        ax.add_patch(Polygon([(-0.5, -0.5), (n_cols - 0.5, -0.5), (n_cols - 0.5, n_rows - 0.5), (-0.5, n_rows - 0.5)],
                             closed=True, facecolor="0.85", edgecolor="0.4"))
    for key, colour, label in (("msi_corners", MSI_COLOUR, "MSI"), ("hsi_corners", HSI_COLOUR, "HSI")):
        rc = corners[key]
        ax.add_patch(Polygon(rc[:, ::-1], closed=True, fill=False, edgecolor=colour, linewidth=1.8, label=label))
    first = corners["hsi_corners"][0]
    ax.plot([first[1]], [first[0]], "o", color=HSI_COLOUR, markersize=4)
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7, framealpha=0.7)
    ax.set_xticks([])
    ax.set_yticks([])


def footprint_caption(pair: FusionPair) -> str:
    """One-line description of the motion and overlap, e.g. ``"rot 90 deg; shift (0, 48) px; overlap 0.500"``."""
    tr = pair.meta.get("transform") or {}
    parts = []
    if "angle_deg" in tr:
        parts.append(f"rot {float(tr['angle_deg']):g} deg")
    if "shift_px" in tr:
        parts.append("shift ({:g}, {:g}) px".format(*(round(float(v), 1) for v in tr["shift_px"])))
    if pair.meta.get("overlap") is not None:
        parts.append(f"overlap {float(pair.meta['overlap']):.3f}")
    return "; ".join(parts)


def footprint_figure(pair: FusionPair, path: str | Path, title: str = "") -> Path:
    """Write a PNG of both footprints on the scene (see :func:`draw_footprints`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not has_footprints(pair):
        raise ValueError(f"pair '{pair.name}' has no footprint corners in meta['transform'] (only simulated pairs "
                         "record them); nothing to draw")
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    draw_footprints(ax, pair)
    ax.set_title(title or footprint_caption(pair), fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def msi_display_bands(pair: FusionPair, rgb: tuple[int, int, int]) -> list[int]:
    """For each HSI display band, the MSI band whose SRF row weighs it most."""
    return [int(np.argmax(pair.srf[:, b])) for b in rgb]


def stretch(rgb: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Per-channel percentile stretch to [0, 1]; the limits come from ``reference`` when given, so
    an estimate and its ground truth are displayed on the same scale."""
    ref = rgb if reference is None else reference
    lo, hi = np.percentile(ref.reshape(-1, ref.shape[-1]), STRETCH_PERCENTILES, axis=0)
    return np.clip((rgb - lo) / np.maximum(hi - lo, 1e-12), 0.0, 1.0)


def run_figure(pair: FusionPair, m_sri: np.ndarray | None, h_sri: np.ndarray | None, path: str | Path,
               title: str = "") -> Path:
    """Write a 2 x 4 panel PNG: for M-SRI and H-SRI, the input, ground truth, estimate and the
    per-pixel RMSE of the estimate. Missing pieces are drawn as labelled empty panels. A simulated pair
    (footprint corners in ``meta["transform"]``) gets a first column more: both footprints on the scene
    (:func:`draw_footprints`) above a caption with the motion and overlap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rgb = list(pair.display_bands())
    rows = [
        ("M-SRI", pair.msi[..., msi_display_bands(pair, tuple(rgb))], pair.sri_m, m_sri, "MSI"),
        ("H-SRI", np.repeat(np.repeat(pair.hsi, pair.ratio, 0), pair.ratio, 1)[..., rgb], pair.sri_h,
         h_sri, "HSI (nearest)"),
    ]
    footprints = has_footprints(pair)
    n_cols = 5 if footprints else 4
    fig, axes = plt.subplots(2, n_cols, figsize=(3.25 * n_cols, 6.6), squeeze=False)
    if footprints:
        draw_footprints(axes[0, 0], pair)
        axes[0, 0].set_title("footprints on the scene", fontsize=9)
        axes[1, 0].axis("off")
        axes[1, 0].text(0.5, 0.5, footprint_caption(pair).replace("; ", "\n"), ha="center", va="center",
                        transform=axes[1, 0].transAxes, fontsize=9)
        axes = axes[:, 1:]
    for (label, inp, gt, est, inp_name), ax in zip(rows, axes, strict=True):
        ref = gt[..., rgb] if gt is not None else None
        same_bands = inp.shape[-1] == len(rgb) and label == "H-SRI"
        panels = [(f"input: {inp_name}", stretch(inp, ref if same_bands else None)),
                  (f"ground truth {label}", None if gt is None else stretch(gt[..., rgb])),
                  (f"estimate {label}", None if est is None else stretch(np.clip(est[..., rgb], 0, 1), ref))]
        for a, (name, img) in zip(ax[:3], panels, strict=True):
            a.set_title(name, fontsize=9)
            a.axis("off")
            if img is None:
                a.text(0.5, 0.5, "not available", ha="center", va="center", transform=a.transAxes)
            else:
                a.imshow(img, interpolation="nearest")
        a = ax[3]
        a.axis("off")
        a.set_title(f"per-pixel RMSE {label}", fontsize=9)
        if gt is None or est is None:
            a.text(0.5, 0.5, "not available", ha="center", va="center", transform=a.transAxes)
        else:
            im = a.imshow(pixel_rmse(np.clip(est, 0, 1), gt), cmap="magma", interpolation="nearest")
            fig.colorbar(im, ax=a, fraction=0.046, pad=0.04)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write(path, lambda f: f.write(buf.getvalue()))
