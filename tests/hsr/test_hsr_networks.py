"""Shapes of f, g, D; the residual translator starts as bicubic interpolation."""

from __future__ import annotations

import pytest
import torch

from fresco.hsr.networks import Discriminator, InverseTranslator, Translator


@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_shapes(ratio):
    patch = 4 if ratio == 3 else 8  # d*P_H divisible by 2**depth = 4
    f = Translator(ratio, patch, width=4, depth=2)
    g = InverseTranslator(ratio, width=4)
    disc = Discriminator(5, width=4)
    h = torch.rand(3, 1, patch, patch)
    fine = f(h)
    assert fine.shape == (3, 1, ratio * patch, ratio * patch)
    assert g(fine).shape == (3, 1, patch, patch)
    assert disc(fine).shape == (3, 5)


def test_reference_widths_and_divisibility():
    f = Translator(4, 12)  # reference: 64-128-256-512-1024, 4 poolings, 48x48 output
    assert f.down[-1][1][0].out_channels == 1024
    with pytest.raises(ValueError, match="divisible"):
        Translator(4, 10, depth=4)


def test_residual_translator_starts_as_bicubic():
    from fresco.ops.resample import upsample

    f = Translator(4, 8, width=4, depth=2, residual=True, upsample="bicubic").eval()
    h = torch.rand(2, 1, 8, 8)
    expected = upsample(h[:, 0].permute(1, 2, 0).numpy(), 4, "bicubic")
    torch.testing.assert_close(f(h)[:, 0].permute(1, 2, 0), torch.as_tensor(expected), atol=1e-5, rtol=0)
