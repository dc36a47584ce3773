"""Stage 2 of FRESCO (HSR): angle-randomised patch sampling, the translator ``f``, its inverse ``g``,
the multi-head discriminator, the adversarial LightningModule and stitching inference (the cpu
profile's consistency steps are plain operators: :mod:`fresco.ops.consistency`).

    model = train_translator(abundances_m, abundances_h, ratio, cpu_config(), seed=0)
    s_sr_h = super_resolve(model, abundances_h, ratio)          # (d*I_H, d*J_H, R)
    h_sri = np.clip(s_sr_h.reshape(-1, R) @ endmembers.T, 0, 1)  # endmembers (K_H, R)

See docs/hsr.md.
"""

from fresco.hsr.config import HSRConfig, cpu_config, paper_config, profile_config
from fresco.hsr.inference import TrainedTranslator, super_resolve
from fresco.hsr.module import HSRModule
from fresco.hsr.sampler import sample_patches
from fresco.hsr.train import train_translator

__all__ = ["HSRConfig", "HSRModule", "TrainedTranslator", "cpu_config", "paper_config",
           "profile_config", "sample_patches", "super_resolve", "train_translator"]
