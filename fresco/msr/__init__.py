"""Stage 1 (MSR): coupled block-term unmixing of the unregistered pair -> endmembers, abundances, M-SRI;
and a registration-free estimate of the spectral response when no sensor curve is known."""

from fresco.msr.solver import BTDConfig, BTDResult, CoupledBTD, coupled_btd, registered_btd
from fresco.msr.srf_estimation import MODES as SRF_MODES
from fresco.msr.srf_estimation import SRFEstimate, estimate_srf, fit_srf, srf_error

__all__ = ["SRF_MODES", "BTDConfig", "BTDResult", "CoupledBTD", "SRFEstimate", "coupled_btd", "estimate_srf",
           "fit_srf", "registered_btd", "srf_error"]
