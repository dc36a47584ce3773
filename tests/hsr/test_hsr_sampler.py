"""The angle-randomised patch sampler: geometry, sources, uniform angles, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from fresco.hsr.sampler import interior_crop_side, sample_patches, warp_patches


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_quarter_rotation_equals_rot90():
    maps = torch.rand(2, 20, 20, generator=gen(1))
    patch, top, left = 6, 5, 7
    centre = torch.tensor([[[top + 2.5, left + 2.5]]]).expand(2, 1, 2)
    no_flip = torch.zeros(2, 1, 2, dtype=torch.bool)
    crop = maps[:, top:top + patch, left:left + patch]
    for k, (cos, sin) in enumerate(((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))):
        out = warp_patches(maps, centre, torch.full((2, 1), cos), torch.full((2, 1), sin), no_flip, patch)
        torch.testing.assert_close(out[:, 0], torch.rot90(crop, k, dims=(-2, -1)), atol=1e-5, rtol=0)


def test_side_patches_are_border_windows_turned_by_quarters():
    maps = torch.rand(3, 16, 18, generator=gen(2))
    batch = sample_patches(maps, 5, 40, gen(3), side_prob=1.0)
    assert batch.side.all()
    for r in range(3):
        for b in range(40):
            row, col = (batch.centres[r, b] - 2.0).round().long().tolist()
            assert row in (0, 16 - 5) or col in (0, 18 - 5)  # touches a border
            window = maps[r, row:row + 5, col:col + 5]
            k = int(round(float(batch.angles_deg[r, b]) / 90.0)) % 4
            expected = torch.rot90(window, k, dims=(0, 1))
            if batch.flips[r, b, 0]:
                expected = expected.flip(0)
            if batch.flips[r, b, 1]:
                expected = expected.flip(1)
            torch.testing.assert_close(batch.patches[r, b], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("patch", [4, 5, 12])
def test_interior_patches_have_no_blank_pixels(patch):
    side = interior_crop_side(patch) + 3
    maps = torch.ones(2, side, side + 4)
    batch = sample_patches(maps, patch, 500, gen(4), side_prob=0.0, scale_up=2.0)
    assert not batch.side.any()
    # The warp pads with zeros: any sample outside the map would lower a pixel below 2.
    torch.testing.assert_close(batch.patches, torch.full_like(batch.patches, 2.0), atol=1e-5, rtol=0)


def test_patches_come_only_from_their_own_maps():
    """Fine patches only from S_M, coarse only from S_H, material r only from map r."""
    from fresco.hsr.config import HSRConfig
    from fresco.hsr.module import HSRModule

    n_mat, ratio = 3, 2
    fine = torch.stack([torch.full((24, 24), 1.0 + r) for r in range(n_mat)])
    coarse = torch.stack([torch.full((12, 12), 10.0 + r) for r in range(n_mat)])
    cfg = HSRConfig(iterations=1, batch_size=4, patch_size_h=4, unet_width=4, unet_depth=2, inv_width=4, disc_width=4)
    module = HSRModule(fine, coarse, ratio, cfg)
    h = module.draw(module.maps_h, cfg.patch_size_h)
    m = module.draw(module.maps_m, ratio * cfg.patch_size_h)
    assert h.shape == (n_mat, 4, 1, 4, 4) and m.shape == (n_mat, 4, 1, 8, 8)
    for r in range(n_mat):
        torch.testing.assert_close(h[r], torch.full_like(h[r], cfg.scale_up * (10.0 + r)))
        torch.testing.assert_close(m[r], torch.full_like(m[r], cfg.scale_up * (1.0 + r)))


def test_angles_are_uniform_and_quarters_balanced():
    maps = torch.rand(2, 40, 40, generator=gen(5))
    batch = sample_patches(maps, 8, 3000, gen(6), side_prob=0.2)
    interior = batch.angles_deg[~batch.side].numpy()
    assert interior.min() >= 0 and interior.max() < 360
    assert stats.kstest(interior / 360.0, "uniform").pvalue > 1e-3
    quarters = np.round(batch.angles_deg[batch.side].numpy() / 90.0).astype(int)
    counts = np.bincount(quarters, minlength=4)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert abs(float(batch.side.float().mean()) - 0.2) < 0.02
    assert abs(float(batch.flips.float().mean()) - 0.5) < 0.02


def test_reproducible_from_seed():
    maps = torch.rand(2, 30, 30, generator=gen(7))
    a = sample_patches(maps, 8, 16, gen(11)).patches
    b = sample_patches(maps, 8, 16, gen(11)).patches
    c = sample_patches(maps, 8, 16, gen(12)).patches
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_small_maps_fall_back_to_side_patches_and_too_small_raise():
    maps = torch.rand(1, 9, 9, generator=gen(8))  # interior crop for P=8 needs 14
    assert sample_patches(maps, 8, 10, gen(0), side_prob=0.0).side.all()
    with pytest.raises(ValueError, match="smaller than the patch side"):
        sample_patches(maps, 10, 2, gen(0))
