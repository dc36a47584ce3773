"""Stitching inference: the H-SRI abundances ``S^SR_H`` from the coarse maps (method.md section 4).

For each material ``r``, ``f`` (or ``f_r`` for IAT) runs on every ``P_H x P_H`` window of
``scale_up * S_r^H`` at the given stride (the last row/column of windows is always included, so
every pixel is covered for any size); each output lands at fine offset ``d * (i, j)`` and overlaps
are averaged. Windows go through ``f`` in batches of ``batch_size`` and are accumulated into one
``(d*I_H, d*J_H)`` sum per material, so memory is the output plus one batch, whatever the image size.

With ``residual=True`` the fixed interpolation part of ``f`` is linear, so it is applied once to
the whole map (no window borders) and only the learned residual is stitched.

Maps smaller than ``P_H`` on a side are padded by edge replication to ``P_H`` and the output is
cropped back to ``d`` times the input size.

BatchNorm: ``bn_mode="train"`` normalises with each batch's statistics, as the reference does
(running statistics are left untouched); ``"eval"`` uses the running statistics gathered during
training, which makes a window's output independent of the other windows in its batch. The default
is the model's ``config.inference_bn`` ("train" in the reference profile; "eval" in the CPU profile,
where it measured better, see docs/hsr.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fresco.hsr.config import BN_MODES, HSRConfig

__all__ = ["TrainedTranslator", "batchnorm_mode", "super_resolve", "window_offsets"]


@dataclass
class TrainedTranslator:
    """What :func:`fresco.hsr.train.train_translator` returns.

    module: the :class:`~fresco.hsr.module.HSRModule` (networks ``f``, ``g``, ``D``).
    config: the :class:`HSRConfig` it was trained with; ratio: ``d``; iteration: iterations done.
    history: logged losses every ``log_every`` iterations, plus ``eval/...`` entries from the hook.
    seconds: wall-clock training time of this call.
    """

    module: Any
    config: HSRConfig
    ratio: int
    iteration: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_materials(self) -> int:
        return self.module.n_materials

    def translator_for(self, material: int) -> nn.Module:
        return self.module.translator_for(material)


def window_offsets(size: int, window: int, stride: int) -> list[int]:
    """Start offsets of windows of side ``window`` along an axis of ``size`` (>= window) at
    ``stride``, the last one flush with the end."""
    offsets = list(range(0, size - window + 1, stride))
    if offsets[-1] != size - window:
        offsets.append(size - window)
    return offsets


@contextmanager
def batchnorm_mode(module: nn.Module, mode: str) -> Iterator[None]:
    """Put ``module`` in inference with BatchNorm in ``mode``; restore its flags and BN buffers after."""
    if mode not in BN_MODES:
        raise ValueError(f"bn_mode must be one of {BN_MODES}; got {mode!r}")
    flags = {m: m.training for m in module.modules()}
    buffers = {name: buf.clone() for name, buf in module.named_buffers() if "running" in name or "num_batches" in name}
    module.train(mode == "train")
    try:
        yield
    finally:
        for m, flag in flags.items():
            m.training = flag
        state = dict(module.named_buffers())
        with torch.no_grad():
            for name, buf in buffers.items():
                state[name].copy_(buf)


def super_resolve(model: TrainedTranslator, abundances_h: np.ndarray, ratio: int, *, stride: int | None = None,
                  batch_size: int | None = None, bn_mode: str | None = None,
                  device: str | torch.device | None = None) -> np.ndarray:
    """Super-resolve coarse abundance maps with the learned translator.

    Args:
        model: a :class:`TrainedTranslator`.
        abundances_h: ``(I_H, J_H, R)`` coarse maps ``S_H`` (any size; see the module docstring).
        ratio: ``d``; must equal the model's.
        stride: window stride in coarse pixels (default ``config.stride``; 1 in the reference).
        batch_size: windows per forward pass (default ``config.inference_batch_size``).
        bn_mode: ``"train"`` or ``"eval"`` (default ``config.inference_bn``).
        device: where to run (default: the model's device).

    Returns:
        ``(d*I_H, d*J_H, R)`` float32 ``S^SR_H``, already divided by ``scale_up`` (multiply by the
        endmembers ``C^T`` for the H-SRI).
    """
    cfg = model.config
    if int(ratio) != model.ratio:
        raise ValueError(f"the translator was trained for ratio {model.ratio}, not {ratio}")
    maps = np.asarray(abundances_h, dtype=np.float32)
    if maps.ndim != 3 or maps.shape[2] != model.n_materials:
        raise ValueError(f"abundances_h must be (I_H, J_H, {model.n_materials}); got shape {maps.shape}")
    stride = int(cfg.stride if stride is None else stride)
    batch_size = int(cfg.inference_batch_size if batch_size is None else batch_size)
    mode = bn_mode or cfg.inference_bn
    if stride < 1 or batch_size < 1:
        raise ValueError(f"stride and batch_size must be positive; got {stride}, {batch_size}")
    module = model.module
    dev = torch.device(device) if device is not None else next(module.parameters()).device
    module.to(dev)
    d, p_h = model.ratio, cfg.patch_size_h
    n_rows, n_cols, n_mat = maps.shape
    x = torch.as_tensor(maps, device=dev).permute(2, 0, 1)[:, None] * cfg.scale_up  # (R, 1, I_H, J_H)
    pad_rows, pad_cols = max(0, p_h - n_rows), max(0, p_h - n_cols)
    if pad_rows or pad_cols:
        x = F.pad(x, (0, pad_cols, 0, pad_rows), mode="replicate")
    rows, cols = x.shape[-2:]
    corners = [(i, j) for i in window_offsets(rows, p_h, stride) for j in window_offsets(cols, p_h, stride)]
    p_m = d * p_h
    out = torch.zeros((n_mat, d * rows, d * cols), device=dev)
    count = torch.zeros((d * rows, d * cols), device=dev)
    for i, j in corners:
        count[d * i:d * i + p_m, d * j:d * j + p_m] += 1
    with torch.no_grad(), batchnorm_mode(module, mode):
        for r in range(n_mat):
            net = model.translator_for(r)
            for start in range(0, len(corners), batch_size):
                chunk = corners[start:start + batch_size]
                windows = torch.stack([x[r, :, i:i + p_h, j:j + p_h] for i, j in chunk])
                y = net.unet(net.interpolate(windows)) if cfg.residual else net(windows)
                for (i, j), patch in zip(chunk, y[:, 0], strict=True):
                    out[r, d * i:d * i + p_m, d * j:d * j + p_m] += patch
            if cfg.residual:
                out[r] = out[r] / count + net.interpolate(x[r:r + 1])[0, 0]
            else:
                out[r] = out[r] / count
    out = out[:, :d * n_rows, :d * n_cols] / cfg.scale_up
    return out.permute(1, 2, 0).cpu().numpy().astype(np.float32)
