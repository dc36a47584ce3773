"""Angle-randomised patch sampling (method.md section 4), vectorised on the training device.

Every call draws, for each material ``r`` independently, ``B`` patches of side ``P`` from the map
``maps[r]``; coarse patches come from ``S_H`` and fine patches from ``S_M`` by two separate calls
(unpaired). All patches of one call are produced by ONE batched bilinear warp
(``torch.nn.functional.grid_sample``), so no Python loop runs over patches.

Geometry (pixel ``(row, col)`` centred at integer coordinates, ``align_corners=False``):

* **Interior patch**: the reference crops a square of side ``c = ceil(P*sqrt(2)) + 2`` at a uniform
  random integer position, rotates it by a uniform angle in ``[0, 360)`` about its centre
  (bilinear), flips it at random and centre-crops ``P x P``. Because a ``P x P`` square rotated by
  any angle fits in ``c x c``, no output pixel is blank. Here the same patch is sampled directly:
  output offset ``(y, x)`` from the patch centre (flipped by negating ``y`` and/or ``x``) is read at
  ``centre + R(angle) (y, x)`` with ``R`` the rotation below, ``centre`` the crop's centre.
* **Side patch** (probability ``side_prob``): a ``P x P`` window touching a uniformly chosen image
  border at a uniform position along it, rotated by ``k * 90`` degrees (exact: the grid lands on
  pixel centres) and flipped at random.

Rotation convention: a positive angle turns the patch counter-clockwise as displayed (row 0 on top),
so 90 degrees equals ``torch.rot90(patch, 1, dims=(-2, -1))``: output ``(y, x)`` reads source
``(row, col) = (cos a * y + sin a * x, -sin a * y + cos a * x)``.

Maps smaller than ``c`` on a side cannot give interior patches: every patch is then a side patch
(90-degree rotations only). Maps smaller than ``P`` on a side raise ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["PatchBatch", "interior_crop_side", "sample_patches", "warp_patches"]

#: Border pixels added to the rotated crop beyond ``ceil(P*sqrt(2))`` (the reference's margin).
CROP_MARGIN = 2
#: cos and sin of k * 90 degrees, exact, for side patches.
QUARTER_COS = (1.0, 0.0, -1.0, 0.0)
QUARTER_SIN = (0.0, 1.0, 0.0, -1.0)
#: Number of image borders a side patch may touch (top, bottom, left, right).
N_BORDERS = 4
FULL_TURN_DEG = 360.0


def interior_crop_side(patch_size: int) -> int:
    """Side ``ceil(P*sqrt(2)) + 2`` of the square an interior patch is rotated inside."""
    return math.ceil(patch_size * math.sqrt(2.0)) + CROP_MARGIN


@dataclass
class PatchBatch:
    """Patches of one call and how they were drawn (all tensors on the maps' device).

    patches: ``(R, B, P, P)``; ``patches[r]`` come from ``maps[r]`` only, times ``scale_up``.
    centres: ``(R, B, 2)`` source (row, col) of each patch centre, in pixels.
    angles_deg: ``(R, B)`` rotation in degrees (multiples of 90 for side patches).
    flips: ``(R, B, 2)`` bool, (vertical, horizontal).
    side: ``(R, B)`` bool, True for side patches.
    """

    patches: torch.Tensor
    centres: torch.Tensor
    angles_deg: torch.Tensor
    flips: torch.Tensor
    side: torch.Tensor


def warp_patches(maps: torch.Tensor, centres: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                 flips: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Bilinear patches of side ``P`` from ``maps (R, H, W)``, one batched ``grid_sample``.

    ``centres (R, B, 2)`` source (row, col) of the patch centres; ``cos, sin (R, B)`` the rotation;
    ``flips (R, B, 2)`` bool (vertical, horizontal). Returns ``(R, B, P, P)``.
    """
    n_mat, height, width = maps.shape
    batch = centres.shape[1]
    offsets = torch.arange(patch_size, device=maps.device, dtype=maps.dtype) - (patch_size - 1) / 2.0
    y = offsets.view(1, 1, patch_size, 1).expand(n_mat, batch, patch_size, patch_size)
    x = offsets.view(1, 1, 1, patch_size).expand(n_mat, batch, patch_size, patch_size)
    y = torch.where(flips[..., 0, None, None], -y, y)
    x = torch.where(flips[..., 1, None, None], -x, x)
    c, s = cos[..., None, None], sin[..., None, None]
    rows = centres[..., 0, None, None] + c * y + s * x
    cols = centres[..., 1, None, None] - s * y + c * x
    # align_corners=False: pixel centre i sits at normalised (2i + 1)/n - 1.
    grid = torch.stack(((2 * cols + 1) / width - 1, (2 * rows + 1) / height - 1), dim=-1)
    grid = grid.reshape(n_mat, batch * patch_size, patch_size, 2)
    # Zero padding: a sample outside the map would show as a blank pixel (the tests check none does).
    out = F.grid_sample(maps[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.reshape(n_mat, batch, patch_size, patch_size)


def _uniform_int(high: torch.Tensor | int, shape: tuple[int, ...], generator: torch.Generator,
                 device: torch.device) -> torch.Tensor:
    """Uniform integers in ``[0, high)`` (``high`` may be a broadcastable tensor)."""
    return torch.floor(torch.rand(shape, generator=generator, device=device) * high).long()


def sample_patches(maps: torch.Tensor, patch_size: int, batch_size: int, generator: torch.Generator,
                   side_prob: float = 0.2, scale_up: float = 1.0, rotate: bool = True) -> PatchBatch:
    """Draw ``batch_size`` angle-randomised patches per material from ``maps (R, H, W)``.

    Args:
        maps: abundance maps, one per material, on the training device.
        patch_size: ``P`` (``P_H`` for coarse maps, ``d * P_H`` for fine maps).
        batch_size: ``B`` patches per material.
        generator: a ``torch.Generator`` on ``maps.device``; the draw depends only on its state.
        side_prob: probability of a side patch.
        scale_up: factor applied to every value (reference 2).
        rotate: False draws axis-aligned interior patches (angle 0) with flips only.

    Returns:
        A :class:`PatchBatch`; its ``patches`` are ``(R, B, P, P)``.
    """
    if maps.ndim != 3:
        raise ValueError(f"maps must be (R, H, W); got shape {tuple(maps.shape)}")
    n_mat, height, width = maps.shape
    if min(height, width) < patch_size:
        raise ValueError(f"abundance maps of size {height}x{width} are smaller than the patch side {patch_size}")
    dev, dtype, shape = maps.device, maps.dtype, (n_mat, batch_size)
    crop = interior_crop_side(patch_size)
    interior_possible = min(height, width) >= crop
    # Every random draw below happens for every patch, in a fixed order: the stream consumed per call
    # does not depend on which patches end up interior or side.
    u_side = torch.rand(shape, generator=generator, device=dev)
    u_angle = torch.rand(shape, generator=generator, device=dev, dtype=dtype)
    flips = torch.rand((*shape, 2), generator=generator, device=dev) < 0.5
    crop_row = _uniform_int(height - crop + 1 if interior_possible else 1, shape, generator, dev)
    crop_col = _uniform_int(width - crop + 1 if interior_possible else 1, shape, generator, dev)
    quarter = _uniform_int(len(QUARTER_COS), shape, generator, dev)
    border = _uniform_int(N_BORDERS, shape, generator, dev)
    along_row = _uniform_int(height - patch_size + 1, shape, generator, dev)
    along_col = _uniform_int(width - patch_size + 1, shape, generator, dev)

    side = (u_side < side_prob) | (not interior_possible)
    half_crop, half_patch = (crop - 1) / 2.0, (patch_size - 1) / 2.0
    interior_centre = torch.stack((crop_row + half_crop, crop_col + half_crop), dim=-1).to(dtype)
    # Side windows: border 0 top, 1 bottom, 2 left, 3 right; the other coordinate runs along it.
    top = torch.where(border == 0, 0, torch.where(border == 1, height - patch_size, along_row))
    left = torch.where(border == 2, 0, torch.where(border == 3, width - patch_size, along_col))
    side_centre = torch.stack((top + half_patch, left + half_patch), dim=-1).to(dtype)
    centres = torch.where(side[..., None], side_centre, interior_centre)

    angle = u_angle * FULL_TURN_DEG if rotate else torch.zeros_like(u_angle)
    angle = torch.where(side, quarter.to(dtype) * (FULL_TURN_DEG / len(QUARTER_COS)), angle)
    rad = torch.deg2rad(angle)
    q_cos = torch.tensor(QUARTER_COS, device=dev, dtype=dtype)[quarter]
    q_sin = torch.tensor(QUARTER_SIN, device=dev, dtype=dtype)[quarter]
    cos = torch.where(side, q_cos, torch.cos(rad))
    sin = torch.where(side, q_sin, torch.sin(rad))
    patches = warp_patches(maps, centres, cos, sin, flips, patch_size) * scale_up
    return PatchBatch(patches=patches, centres=centres, angles_deg=angle, flips=flips, side=side)
