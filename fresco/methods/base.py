"""The interface every fusion method implements.

A method receives a :class:`~fresco.data.pair.FusionPair` WITHOUT ground truth (the CLI passes
``pair.without_truth()``) and returns a :class:`MethodOutput`. It never reads files and never
sees ``sri_m`` / ``sri_h``.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from fresco.data.pair import FusionPair
from fresco.ops.degradation import Degradation

log = logging.getLogger(__name__)

#: The two products a method may return.
PRODUCTS = ("m_sri", "h_sri")


@dataclass
class MethodOutput:
    """What a method returns.

    m_sri: (I_M, J_M, K_H) float32 estimate of the scene over the MSI footprint, or None.
    h_sri: (d*I_H, d*J_H, K_H) float32 estimate of the scene over the HSI footprint, or None.
    time_s: seconds per stage, e.g. {"m_sri": 1.2, "h_sri": 30.0}.
    extras: anything else worth keeping (endmembers, abundances, losses); arrays are saved.
    diagnostics: scalars computed WITHOUT ground truth (e.g. ``fit.psnr``, how well the model
        reproduces the observed images); written to ``metrics.json`` as they are.
    registration: for methods that register the images, the estimated ``(3, 3)`` map from a fine
        HSI-footprint pixel ``(u, v, 1)`` to an MSI pixel ``(row, col, 1)`` (the convention of the
        simulator's ``meta["transform"]["hsi_to_msi"]``); the pipeline scores it against the true one when
        the pair has it (``registration.*_error`` in ``metrics.json``). ``None``: no registration, or it
        failed (say so in ``diagnostics``).

    A method never runs another method: the ones scored beside it are the pipeline's job
    (``method.compare_with``).
    """

    m_sri: np.ndarray | None = None
    h_sri: np.ndarray | None = None
    time_s: dict[str, float] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    diagnostics: dict[str, float] = field(default_factory=dict)
    registration: np.ndarray | None = None

    def check_against(self, pair: FusionPair, method: str) -> None:
        """Raise ``ValueError`` when an estimate has the wrong shape or non-finite values."""
        expected = {"m_sri": pair.m_sri_shape, "h_sri": pair.h_sri_shape}
        for key in PRODUCTS:
            est = getattr(self, key)
            if est is None:
                continue
            if tuple(est.shape) != expected[key]:
                raise ValueError(f"method '{method}' returned {key} of shape {tuple(est.shape)}; "
                                 f"expected {expected[key]} for this pair")
            if not np.all(np.isfinite(est)):
                raise ValueError(f"method '{method}' returned a {key} with NaN or Inf values")
        if self.registration is not None:
            reg = np.asarray(self.registration)
            if reg.shape != (3, 3) or not np.all(np.isfinite(reg)):
                raise ValueError(f"method '{method}' returned a registration that is not a finite (3, 3) map")


class FusionMethod(ABC):
    """Base class: subclasses set ``name`` and implement :meth:`run`."""

    name: str = "method"
    #: Set by the pipeline when the pair has ground truth: ``monitor(product, estimate) -> scores``
    #: (product ``"m_sri"`` or ``"h_sri"``). Methods may call it to LOG progress; they never see the
    #: ground truth itself and must not use the scores for fitting or model selection.
    monitor: Callable[[str, np.ndarray], dict[str, float]] | None = None

    def check(self, pair: FusionPair) -> None:
        """Raise ``ValueError`` when this method cannot run on ``pair`` (too small for its patches, not
        co-registered...). The pipeline calls it before it removes any earlier result or runs anything.
        Default: nothing to check."""
        return None

    @abstractmethod
    def run(self, pair: FusionPair) -> MethodOutput:
        """Fuse one pair (no ground truth in it) into the M-SRI and/or H-SRI."""

    @staticmethod
    @contextmanager
    def timed(times: dict[str, float], stage: str) -> Iterator[None]:
        """Add the wall-clock seconds spent inside the block to ``times[stage]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            times[stage] = times.get(stage, 0.0) + time.perf_counter() - start


def require_co_registered(pair: FusionPair, method: str) -> None:
    """Raise ``ValueError`` unless the MSI grid is ``ratio`` times the HSI grid (one footprint)."""
    d = pair.ratio
    if pair.msi.shape[:2] != (d * pair.hsi.shape[0], d * pair.hsi.shape[1]):
        raise ValueError(
            f"{method} needs co-registered images on the same footprint (MSI grid = ratio x HSI grid); got MSI "
            f"{pair.msi.shape[:2]}, HSI {pair.hsi.shape[:2]}, ratio {d}. Use misalignment=none with equal "
            "footprints (dataset.footprint.msi_shape = hsi_shape)")


def known_or_assumed_degradation(pair: FusionPair, method: str) -> Degradation:
    """The pair's own spatial degradation when it records one (an oracle, which a co-registered upper
    bound may use), else a Gaussian of FWHM ``d``; the log says which."""
    known = pair.acquisition.degradation
    if known is not None:
        log.info("%s: spatial degradation from the pair (%s)", method, known)
        return known
    log.info("%s: the pair does not record its spatial degradation; assuming a Gaussian of FWHM d=%d", method,
             pair.ratio)
    return Degradation.of("gaussian", pair.ratio)
