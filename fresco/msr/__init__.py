"""Stage 1 (MSR): coupled block-term unmixing of the unregistered pair -> endmembers, abundances, M-SRI.
(The registration-free SRF estimate lives with the sensors: :mod:`fresco.data.srf_estimation`.)"""

from fresco.msr.solver import BTDConfig, BTDResult, CoupledBTD, coupled_btd, registered_btd

__all__ = ["BTDConfig", "BTDResult", "CoupledBTD", "coupled_btd", "registered_btd"]
