"""SCOTT (co-registered) and one-block B-SCOTT (registration-free): coupled Tucker, closed form."""

from __future__ import annotations

import numpy as np
import pytest

from fresco.data.pair import Acquisition, FusionPair
from fresco.methods.scott import BSCOTT, SCOTT
from fresco.metrics.quality import psnr
from fresco.ops.degradation import Degradation, degrade


def _tucker_pair(ranks=(6, 6, 3), side=32, bands=30, ratio=4, seed=0):
    """A noise-free co-registered pair whose scene is exactly a Tucker tensor of the given ranks."""
    rng = np.random.default_rng(seed)
    u1, u2 = (rng.random((side, r)) for r in ranks[:2])
    w, core = rng.random((bands, ranks[2])), rng.random(ranks)
    x = np.einsum("abc,ia,jb,kc->ijk", core, u1, u2, w)
    x /= x.max()   # a scale keeps the ranks (an offset would not)
    srf = np.zeros((4, bands))
    for k, cols in enumerate(np.array_split(np.arange(bands), 4)):
        srf[k, cols] = 1.0 / len(cols)
    msi = (x @ srf.T).astype(np.float32)
    hsi = degrade(x, ratio)
    pair = FusionPair(msi=msi, hsi=hsi, srf=srf, ratio=ratio, sri_m=x.astype(np.float32), sri_h=x.astype(np.float32),
                      acquisition=Acquisition(degradation=Degradation.of("gaussian", ratio)))
    return pair


def test_scott_recovers_a_pair_from_its_own_model():
    pair = _tucker_pair()
    out = SCOTT(ranks=[6, 6, 3]).run(pair.without_truth())
    assert psnr(out.m_sri, pair.sri_m) > 60 and psnr(out.h_sri, pair.sri_h) > 60


def test_bscott_recovers_the_msi_footprint_from_its_own_model():
    pair = _tucker_pair()
    out = BSCOTT(ranks=[32, 32, 3]).run(pair.without_truth())   # full spatial ranks: only the spectrum is coupled
    assert out.h_sri is None and psnr(out.m_sri, pair.sri_m) > 60


def test_bad_ranks_are_explained():
    with pytest.raises(ValueError, match="three positive integers"):
        SCOTT(ranks=[40, 40])
    with pytest.raises(ValueError, match="more than this pair supports"):
        BSCOTT(ranks=[40, 40, 6]).run(_tucker_pair().without_truth())
