"""The adversarial abundance translation of method.md section 4 as a LightningModule.

Manual optimisation; one *iteration* = fresh angle-randomised patches for every material, a G step
(``f`` and ``g`` together, one Adam) then a D step on the same patches (one Adam). Lightning's
``global_step`` counts optimiser steps (two per iteration), so the budget is this module's own
``iteration`` counter, saved in checkpoints together with the patch generator's state: a resumed
run continues the same random patch stream and ends at the same iteration count.

Losses (``h``, ``m``: coarse and fine patches of one material, values times ``scale_up``; every mean
below is over materials and patches, equal to the spec's ``1/R sum_r E[...]``):

    L_G = w_gan * mean (D_r(f(h)) - 1)^2
        + w_inv * ( mean|g(f(h)) - h| + mean|f(g(m)) - m| )
        + w_scale / scale_up * ( mean (mu(m) - mu(g(m)))^2 + mean (mu(h) - mu(f(h)))^2 )
    L_D = 1/2 * ( mean (D_r(m) - 1)^2 + mean D_r(f(h).detach())^2 )  [+ r1_gamma/2 * mean |grad D_r(m)|^2
                                                                       every r1_every iterations]

Learning rate: ``lr`` for the first ``lr_constant_fraction`` of the adversarial iterations, then
linearly to 0 (set on the optimisers from the iteration counter, so resuming needs no scheduler).

Optional warm start (``warm_start_iterations > 0``, off in the reference): supervised L1 steps on
the optimiser of ``f`` and ``g`` before the adversarial iterations, on pairs ``(D0(x), x)`` where
``x`` are patches of the fine maps ``S_M`` (``warm_start_source="fine"``) or of the coarse maps
``S_H`` themselves (``"coarse"``, zero-shot style: the coarse maps treated as fine and re-degraded),
and ``D0`` an assumed Gaussian blur + decimation by ``d`` (``warm_start_sigma``; default FWHM = d):
``f`` learns ``D0(x) -> x`` and ``g`` learns ``x -> D0(x)``, at ``warm_start_lr`` decayed linearly to 0.
The adversarial iterations then move ``f`` towards the fine patch distributions of every material.
``frozen_bn`` (off; measured worse) trains ``f`` and ``g`` with BatchNorm running statistics after a
warm start.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from fresco.hsr.config import HSRConfig
from fresco.hsr.networks import Discriminator, InverseTranslator, Translator
from fresco.hsr.sampler import sample_patches
from fresco.ops.degradation import degradation_matrix

__all__ = ["HSRModule", "frozen_running_stats", "lr_factor"]

#: Checkpoint keys of this module's own state.
ITERATION_KEY = "hsr_iteration"
RNG_KEY = "hsr_patch_rng_state"


@contextmanager
def running_stats_mode(modules: list[nn.Module], enabled: bool) -> Iterator[None]:
    """When ``enabled``, the BatchNorm layers of ``modules`` normalise with (and keep) their running
    statistics, as at inference; their affine parameters still learn."""
    layers = [m for mod in modules for m in mod.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    flags = [m.training for m in layers]
    if enabled:
        for m in layers:
            m.train(False)
    try:
        yield
    finally:
        for m, flag in zip(layers, flags, strict=True):
            m.train(flag)


@contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """BatchNorm layers keep normalising with batch statistics but do not update their running ones."""
    saved = [(m, m.momentum) for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    tracked = [m.num_batches_tracked.clone() for m, _ in saved]
    for m, _ in saved:
        m.momentum = 0.0
    try:
        yield
    finally:
        for (m, momentum), count in zip(saved, tracked, strict=True):
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


def lr_factor(iteration: int, total: int, constant_fraction: float) -> float:
    """Learning-rate multiplier at adversarial iteration ``iteration`` of ``total``: 1 for the first
    ``constant_fraction``, then linear to 0 at ``total``."""
    hold = constant_fraction * total
    if iteration < hold or total <= hold:
        return 1.0
    return max(0.0, (total - iteration) / (total - hold))


def warm_start_patch_side(config: HSRConfig, ratio: int, coarse_side: int) -> int:
    """Fine patch side for a ``"coarse"`` warm start: the largest multiple of both ``d`` and
    ``2**unet_depth`` not above ``d*P_H`` nor the coarse maps' smaller side."""
    step = math.lcm(ratio, 2**config.unet_depth)
    side = min(ratio * config.patch_size_h, coarse_side) // step * step
    if side < step:
        raise ValueError(f"coarse maps of side {coarse_side} are too small for a 'coarse' warm start "
                         f"(need at least {step} pixels); use warm_start_source='fine'")
    return side


class HSRModule(pl.LightningModule):
    """Stage 2: learns ``f`` (shared by all materials, or one per material when
    ``config.independent``), its inverse ``g`` and the discriminator(s).

    Args:
        abundances_m: ``(R, I_M, J_M)`` fine abundance maps ``S_M`` (float32 tensor).
        abundances_h: ``(R, I_H, J_H)`` coarse abundance maps ``S_H``.
        ratio: spatial ratio ``d``.
        config: :class:`HSRConfig`.
        seed: seeds the patch generator (the weights are initialised from torch's global RNG, which
            :func:`fresco.hsr.train.train_translator` seeds).
    """

    def __init__(self, abundances_m: torch.Tensor, abundances_h: torch.Tensor, ratio: int, config: HSRConfig,
                 seed: int = 0) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.config, self.ratio, self.seed = config, int(ratio), int(seed)
        self.n_materials = int(abundances_m.shape[0])
        self.register_buffer("maps_m", abundances_m.float(), persistent=False)
        self.register_buffer("maps_h", abundances_h.float(), persistent=False)
        c = config

        def translator() -> Translator:
            return Translator(ratio, c.patch_size_h, c.unet_width, c.unet_depth, c.unet_slope, c.residual,
                              c.upsample, c.init_std)

        def inverse() -> InverseTranslator:
            return InverseTranslator(ratio, c.inv_width, c.inv_blocks, c.inv_slope, c.init_std)

        if c.independent:
            self.f = nn.ModuleList(translator() for _ in range(self.n_materials))
            self.g = nn.ModuleList(inverse() for _ in range(self.n_materials))
            self.D = nn.ModuleList(Discriminator(1, c.disc_width, c.disc_slope, c.init_std)
                                   for _ in range(self.n_materials))
        else:
            self.f, self.g = translator(), inverse()
            self.D = Discriminator(self.n_materials, c.disc_width, c.disc_slope, c.init_std)
        self.iteration = 0
        self.history: list[dict[str, float]] = []
        self._generator: torch.Generator | None = None
        self._pending_rng_state: torch.Tensor | None = None
        self._warm_operator: torch.Tensor | None = None

    # ------------------------------------------------------------------ budget
    @property
    def total_iterations(self) -> int:
        """Warm-start plus adversarial iterations."""
        return self.config.warm_start_iterations + self.config.iterations

    @property
    def done(self) -> bool:
        return self.iteration >= self.total_iterations

    # ------------------------------------------------------------------ networks per material
    def apply_per_material(self, nets: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``x (R, B, 1, s, s)`` through the shared net (one batch) or net ``r`` for material ``r``."""
        n_mat, batch = x.shape[:2]
        if isinstance(nets, nn.ModuleList):
            return torch.stack([net(x[r]) for r, net in enumerate(nets)])
        y = nets(x.reshape(n_mat * batch, *x.shape[2:]))
        return y.reshape(n_mat, batch, *y.shape[1:])

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """Scores ``(R, B)``: head (or discriminator) ``r`` on material ``r``'s patches ``x (R, B, 1, s, s)``."""
        if isinstance(self.D, nn.ModuleList):
            return torch.stack([disc(x[r])[:, 0] for r, disc in enumerate(self.D)])
        n_mat, batch = x.shape[:2]
        scores = self.D(x.reshape(n_mat * batch, *x.shape[2:])).reshape(n_mat, batch, n_mat)
        return scores.diagonal(dim1=0, dim2=2).T

    def translator_for(self, material: int) -> Translator:
        return self.f[material] if isinstance(self.f, nn.ModuleList) else self.f

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        gen_params = list(self.f.parameters()) + list(self.g.parameters())
        opt_g = torch.optim.Adam(gen_params, lr=self.config.lr, betas=self.config.betas)
        opt_d = torch.optim.Adam(self.D.parameters(), lr=self.config.lr, betas=self.config.betas)
        return [opt_g, opt_d]

    def patch_generator(self) -> torch.Generator:
        """The patch generator on this module's device, seeded or restored from a checkpoint."""
        if self._generator is None or self._generator.device != self.device:
            gen = torch.Generator(device=self.device)
            gen.manual_seed(self.seed)
            if self._pending_rng_state is not None:
                gen.set_state(self._pending_rng_state.cpu())
                self._pending_rng_state = None
            self._generator = gen
        return self._generator

    def draw(self, maps: torch.Tensor, patch_size: int) -> torch.Tensor:
        """``(R, B, 1, P, P)`` angle-randomised patches of ``maps (R, H, W)``, times ``scale_up``."""
        c = self.config
        batch = sample_patches(maps, patch_size, c.batch_size, self.patch_generator(), c.side_prob, c.scale_up,
                               c.rotate)
        return batch.patches[:, :, None]

    def _set_lr(self, optimizers: list[torch.optim.Optimizer], lr: float) -> None:
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = lr

    def warm_operator(self, fine_side: int) -> torch.Tensor:
        """The assumed degradation ``D0`` as a 1-D matrix ``(fine_side/d, fine_side)``."""
        if self._warm_operator is None or self._warm_operator.shape[1] != fine_side:
            mat = degradation_matrix(fine_side, self.ratio, "gaussian", self.config.warm_start_sigma)
            self._warm_operator = torch.as_tensor(mat, dtype=torch.float32, device=self.device)
        return self._warm_operator

    def warm_start_step(self) -> dict[str, float]:
        c = self.config
        if c.warm_start_source == "fine":
            maps, side = self.maps_m, self.ratio * c.patch_size_h
        else:
            maps = self.maps_h
            side = warm_start_patch_side(c, self.ratio, min(maps.shape[-2:]))
        fine = self.draw(maps, side)
        op = self.warm_operator(side)
        coarse = op @ fine @ op.T
        opt_g, _ = self.optimizers()
        self._set_lr([opt_g], c.warm_start_lr * lr_factor(self.iteration, c.warm_start_iterations, 0.0))
        loss_f = F.l1_loss(self.apply_per_material(self.f, coarse), fine)
        loss_g = F.l1_loss(self.apply_per_material(self.g, fine), coarse)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_f + loss_g)
        opt_g.step()
        return {"warm/f_l1": float(loss_f.detach()), "warm/g_l1": float(loss_g.detach())}

    def adversarial_step(self) -> dict[str, float]:
        c = self.config
        opt_g, opt_d = self.optimizers()
        step = self.iteration - c.warm_start_iterations
        self._set_lr([opt_g, opt_d], c.lr * lr_factor(step, c.iterations, c.lr_constant_fraction))
        h = self.draw(self.maps_h, c.patch_size_h)
        m = self.draw(self.maps_m, self.ratio * c.patch_size_h)

        # G step: f and g together; D's parameters receive gradients but only opt_g steps.
        fake = self.apply_per_material(self.f, h)
        g_m = self.apply_per_material(self.g, m)
        # The cycle passes normalise with their own batch statistics but leave the running
        # statistics to the real inputs (f: coarse patches, g: fine patches), which inference uses.
        with frozen_running_stats(self.g):
            rec_h = self.apply_per_material(self.g, fake)
        with frozen_running_stats(self.f):
            rec_m = self.apply_per_material(self.f, g_m)
        loss_gan = (self.discriminate(fake) - 1).pow(2).mean()
        loss_inv = F.l1_loss(rec_h, h) + F.l1_loss(rec_m, m)

        def mean(x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(-3, -2, -1))

        loss_scale = (mean(m) - mean(g_m)).pow(2).mean() + (mean(h) - mean(fake)).pow(2).mean()
        loss_g = c.w_gan * loss_gan + c.w_inv * loss_inv + c.w_scale / c.scale_up * loss_scale
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()

        # D step on the same patches.
        use_r1 = c.r1_gamma > 0 and step % c.r1_every == 0
        real = m.detach().requires_grad_(use_r1)
        d_real = self.discriminate(real)
        d_fake = self.discriminate(fake.detach())
        loss_d = 0.5 * ((d_real - 1).pow(2).mean() + d_fake.pow(2).mean())
        logs = {"loss/g": float(loss_g.detach()), "loss/gan": float(loss_gan.detach()),
                "loss/inv": float(loss_inv.detach()), "loss/scale": float(loss_scale.detach())}
        if use_r1:
            (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            r1 = grad.pow(2).sum(dim=(-3, -2, -1)).mean()
            loss_d = loss_d + 0.5 * c.r1_gamma * r1
            logs["loss/r1"] = float(r1.detach())
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        logs["loss/d"] = float(loss_d.detach())
        logs["d/real"] = float(d_real.detach().mean())
        logs["d/fake"] = float(d_fake.detach().mean())
        return logs

    def training_step(self, batch: Any, batch_idx: int) -> None:
        if self.done:
            self.trainer.should_stop = True
            return
        if self.iteration < self.config.warm_start_iterations:
            logs = self.warm_start_step()
        else:
            frozen = self.config.frozen_bn and self.config.warm_start_iterations > 0
            with running_stats_mode([self.f, self.g], frozen):
                logs = self.adversarial_step()
        self.iteration += 1
        logs["iteration"] = float(self.iteration)
        self.log_dict({k: v for k, v in logs.items() if k != "iteration"}, prog_bar=False, on_step=True,
                      on_epoch=False, batch_size=self.config.batch_size)
        every = self.config.log_every
        if every and (self.iteration % every == 0 or self.done):
            self.history.append(logs)
        if self.done:
            self.trainer.should_stop = True

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[ITERATION_KEY] = self.iteration
        checkpoint[RNG_KEY] = self.patch_generator().get_state()
        checkpoint["hsr_history"] = self.history

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.iteration = int(checkpoint.get(ITERATION_KEY, 0))
        self.history = list(checkpoint.get("hsr_history", []))
        state = checkpoint.get(RNG_KEY)
        self._pending_rng_state = None if state is None else torch.as_tensor(np.asarray(state), dtype=torch.uint8)
        self._generator = None
