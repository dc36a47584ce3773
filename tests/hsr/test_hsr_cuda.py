"""Stage 2 on a CUDA device: the same numbers as on the CPU where they must agree, and a short training
run end to end. Skipped without CUDA (CI has none; run them when a GPU is lent:
``bash experiments/gpu_session.sh``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from test_hsr_train import Crash, tiny_config  # tests/hsr is on sys.path (rootdir-relative test modules)

from fresco.hsr import HSRModule, TrainedTranslator, super_resolve, train_translator
from fresco.hsr.sampler import sample_patches, warp_patches

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

RATIO = 2


def test_warp_matches_cpu():
    gen = torch.Generator().manual_seed(0)
    maps = torch.rand(3, 20, 20, generator=gen)
    centres = 6 + 8 * torch.rand(3, 5, 2, generator=gen)
    angles = 2 * torch.pi * torch.rand(3, 5, generator=gen)
    flips = torch.rand(3, 5, 2, generator=gen) < 0.5
    args = (centres, angles.cos(), angles.sin(), flips)
    cpu = warp_patches(maps, *args, 7)
    gpu = warp_patches(maps.cuda(), *(a.cuda() for a in args), 7)
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), atol=1e-5)


def test_sampler_on_cuda_is_reproducible_and_per_material():
    maps = torch.stack([torch.full((30, 30), float(r)) for r in range(3)]).cuda()
    draw = [sample_patches(maps, 8, 16, torch.Generator(device="cuda").manual_seed(5), 0.2, 1.0, True)
            for _ in range(2)]
    assert draw[0].patches.device.type == "cuda"
    assert torch.equal(draw[0].patches, draw[1].patches)
    for r in range(3):  # constant maps: every pixel of material r's patches is r (no blank corners)
        assert torch.allclose(draw[0].patches[r], torch.full_like(draw[0].patches[r], float(r)))


@pytest.mark.parametrize("bn", ["train", "eval"])
def test_super_resolve_matches_cpu(bn):
    cfg = tiny_config(inference_bn=bn, residual=True, upsample="bicubic")
    torch.manual_seed(0)
    module = HSRModule(torch.rand(2, 16, 16), torch.rand(2, 8, 8), RATIO, cfg)
    for p in module.parameters():  # move away from the zero-initialised residual so the U-Net matters
        p.data.add_(0.05 * torch.randn_like(p))
    maps = np.random.default_rng(0).random((9, 11, 2)).astype(np.float32)
    cpu = super_resolve(TrainedTranslator(module, cfg, RATIO, 0), maps, RATIO, stride=2)
    gpu_module = copy.deepcopy(module).cuda()
    gpu = super_resolve(TrainedTranslator(gpu_module, cfg, RATIO, 0), maps, RATIO, stride=2)
    np.testing.assert_allclose(gpu, cpu, atol=1e-4)


@pytest.mark.parametrize("independent", [False, True])
def test_trains_on_cuda_and_resumes(tmp_path, independent):
    rng = np.random.default_rng(0)
    maps = rng.random((16, 16, 2)).astype(np.float32), rng.random((10, 10, 2)).astype(np.float32)
    cfg = tiny_config(independent=independent, warm_start_iterations=2, r1_gamma=2.0, r1_every=1)
    gpu = {"accelerator": "gpu", "devices": 1, "enable_progress_bar": False}
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_translator(*maps, RATIO, cfg, seed=0, checkpoint_dir=str(tmp_path),
                         trainer_kwargs={**gpu, "callbacks": [Crash(3)]})
    assert torch.load(tmp_path / "last.ckpt", weights_only=False)["hsr_iteration"] == 2
    model = train_translator(*maps, RATIO, cfg, seed=0, trainer_kwargs=gpu, checkpoint_dir=str(tmp_path))
    assert model.iteration == 6 and next(model.module.parameters()).device.type == "cuda"
    losses = [h[k] for h in model.history for k in ("loss/g", "loss/d", "loss/r1") if k in h]
    assert losses and np.isfinite(losses).all()
    out = super_resolve(model, maps[1], RATIO)
    assert out.shape == (20, 20, 2) and np.isfinite(out).all()
