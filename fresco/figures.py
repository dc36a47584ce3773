"""Figures: RGB composites of the inputs, ground truth and estimates, and per-pixel error maps."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from fresco.data.pair import FusionPair
from fresco.fileio import atomic_write
from fresco.metrics.quality import pixel_rmse

#: Percentiles of the contrast stretch applied to each composite channel.
STRETCH_PERCENTILES = (2.0, 98.0)


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
    per-pixel RMSE of the estimate. Missing pieces are drawn as labelled empty panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rgb = list(pair.display_bands())
    rows = [
        ("M-SRI", pair.msi[..., msi_display_bands(pair, tuple(rgb))], pair.sri_m, m_sri, "MSI"),
        ("H-SRI", np.repeat(np.repeat(pair.hsi, pair.ratio, 0), pair.ratio, 1)[..., rgb], pair.sri_h,
         h_sri, "HSI (nearest)"),
    ]
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.6), squeeze=False)
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
