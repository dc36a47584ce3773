"""Stage 2 (HSR) speed and memory: training iterations per second for both profiles, and stitching
inference time against the HSI size.

    python benchmarks/bench_hsr.py                  # CPU, 2 threads
    python benchmarks/bench_hsr.py --device cuda    # a GPU (more iterations timed, larger HSIs)

Each measurement runs in a fresh process (so peak memory is that measurement's own). On the CPU, peak
memory is the process's maximum resident memory minus its resident memory after imports; on a GPU,
torch's peak allocated device memory. Training times the module's iteration (sampling, G step, D
step) without Lightning's loop; the first iteration is a warm-up; GPU timings synchronise first.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time

import numpy as np
from rich.console import Console
from rich.table import Table

MATERIALS = 6
RATIO = 4
FINE_SIDE = 96
THREADS = 2
TRAIN_ITERATIONS = {"cpu": 5, "paper": 2}
CUDA_TRAIN_ITERATIONS = 50
INFERENCE_COARSE_SIDES = (24, 48, 96)
CUDA_INFERENCE_COARSE_SIDES = (24, 48, 96, 192)
INFERENCE_STRIDES = (1, 2)
CONSISTENCY_BANDS = 200
CONSISTENCY_STEPS = 5


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _maps(side: int, rng: np.random.Generator) -> np.ndarray:
    raw = rng.random((side, side, MATERIALS)).astype(np.float32)
    return raw / raw.sum(axis=2, keepdims=True)


class _Meter:
    """Peak memory (MiB) since :meth:`start` and wall time of a call on ``device`` (a GPU is synchronised
    before and after, so its queued kernels are counted)."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch, self.cuda = torch, device == "cuda"

    def _sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def start(self) -> None:
        self._sync()
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()
            self.base = self.torch.cuda.memory_allocated() / 2**20
        else:
            self.base = _rss_mib()

    def time(self, fn) -> float:
        self._sync()
        start = time.perf_counter()
        fn()
        self._sync()
        return time.perf_counter() - start

    def peak_mib(self) -> float:
        if self.cuda:
            return self.torch.cuda.max_memory_allocated() / 2**20 - self.base
        return _peak_mib() - self.base


def _train_job(profile: str, device: str, queue: mp.Queue) -> None:
    import torch

    from fresco.hsr import HSRModule, profile_config

    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    cfg = profile_config(profile)
    steps = CUDA_TRAIN_ITERATIONS if device == "cuda" else TRAIN_ITERATIONS[profile]
    fine = torch.as_tensor(_maps(FINE_SIDE, rng)).permute(2, 0, 1)
    coarse = torch.as_tensor(_maps(FINE_SIDE // RATIO, rng)).permute(2, 0, 1)
    module = HSRModule(fine, coarse, RATIO, cfg).to(device)
    optimisers = module.configure_optimizers()
    module.optimizers = lambda: optimisers
    module.manual_backward = lambda loss: loss.backward()
    meter = _Meter(device)
    meter.start()

    def repeat(step):
        step()  # warm-up
        return meter.time(lambda: [step() for _ in range(steps)]) / steps

    seconds = repeat(module.adversarial_step)
    warm_seconds = repeat(module.warm_start_step) if cfg.warm_start_iterations else 0.0
    params = sum(p.numel() for p in module.parameters())
    queue.put((seconds, warm_seconds, meter.peak_mib(), params))


def _inference_job(coarse_side: int, stride: int, device: str, profile: str, queue: mp.Queue) -> None:
    import torch

    from fresco.hsr import HSRModule, TrainedTranslator, profile_config, super_resolve

    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    cfg = profile_config(profile)
    fine = torch.as_tensor(_maps(FINE_SIDE, rng)).permute(2, 0, 1)
    maps_h = _maps(coarse_side, rng)
    module = HSRModule(fine, torch.as_tensor(maps_h).permute(2, 0, 1), RATIO, cfg).to(device)
    model = TrainedTranslator(module, cfg, RATIO, 0)
    super_resolve(model, maps_h[:cfg.patch_size_h, :cfg.patch_size_h], RATIO)  # warm-up (kernels, allocator)
    meter = _Meter(device)
    meter.start()
    seconds = meter.time(lambda: super_resolve(model, maps_h, RATIO, stride=stride))
    queue.put((seconds, meter.peak_mib()))


def _consistency_job(coarse_side: int, queue: mp.Queue) -> None:
    """preserve_total + the cpu profile's back-projection on an H-SRI of ``d*coarse_side`` pixels, 200 bands."""
    from fresco.ops.consistency import back_project, preserve_total

    rng = np.random.default_rng(0)
    maps_h = _maps(coarse_side, rng)
    fine = np.repeat(np.repeat(maps_h, RATIO, 0), RATIO, 1)
    ends = rng.random((CONSISTENCY_BANDS, MATERIALS)).astype(np.float32)
    hsi = maps_h @ ends.T
    base = _rss_mib()
    start = time.perf_counter()
    image = preserve_total(fine, maps_h, RATIO) @ ends.T
    back_project(image, hsi, RATIO, CONSISTENCY_STEPS)
    queue.put((time.perf_counter() - start, _peak_mib() - base))


def _run(target, *args):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    device = parser.parse_args().device
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("bench_hsr: --device cuda but torch sees no CUDA device; run without --device")
        where = torch.cuda.get_device_name(0)
    else:
        where = f"the CPU ({THREADS} threads)"
    console = Console()
    train = Table(title=f"stage-2 training on {where} (R={MATERIALS}, d={RATIO}, "
                        f"fine maps {FINE_SIDE}x{FINE_SIDE})")
    for col in ("profile", "parameters", "s / iteration", "iterations / s", "s / warm-start iteration",
                "peak mem (MiB)", "profile's schedule (min)"):
        train.add_column(col, justify="right")
    from fresco.hsr import profile_config

    for profile in ("cpu", "paper"):
        seconds, warm_seconds, peak, params = _run(_train_job, profile, device)
        cfg = profile_config(profile)
        total = (cfg.iterations * seconds + cfg.warm_start_iterations * warm_seconds) / 60
        train.add_row(profile, f"{params:,}", f"{seconds:.3g}", f"{1 / seconds:.3g}",
                      f"{warm_seconds:.3g}" if cfg.warm_start_iterations else "-", f"{peak:.0f}", f"{total:.1f}")
    console.print(train)

    net_profile = "paper" if device == "cuda" else "cpu"
    infer = Table(title=f"stitching inference on {where}, {net_profile}-profile networks, R={MATERIALS} materials "
                        "(time grows with windows)")
    for col in ("HSI side (coarse px)", "stride", "windows", "time (s)", "peak mem (MiB)", "time / previous side"):
        infer.add_column(col, justify="right")
    patch = profile_config(net_profile).patch_size_h
    sides = CUDA_INFERENCE_COARSE_SIDES if device == "cuda" else INFERENCE_COARSE_SIDES
    for stride in INFERENCE_STRIDES:
        previous = None
        for side in sides:
            seconds, peak = _run(_inference_job, side, stride, device, net_profile)
            windows = MATERIALS * len(range(0, side - patch + 1, stride)) ** 2
            growth = "" if previous is None else f"x{seconds / previous:.1f}"
            infer.add_row(str(side), str(stride), f"~{windows}", f"{seconds:.2f}", f"{peak:.0f}", growth)
            previous = seconds
    console.print(infer)
    console.print("Doubling the side quadruples the windows: x4 per row means linear cost in pixels; memory "
                  "stays at the output plus one batch of windows.")

    cons = Table(title=f"consistency steps (preserve_total + {CONSISTENCY_STEPS} back-projection steps), "
                       f"{CONSISTENCY_BANDS} bands, R={MATERIALS}")
    for col in ("HSI side (coarse px)", "H-SRI side", "time (s)", "peak mem (MiB)", "time / previous side"):
        cons.add_column(col, justify="right")
    previous = None
    for side in INFERENCE_COARSE_SIDES:
        seconds, peak = _run(_consistency_job, side)
        growth = "" if previous is None else f"x{seconds / previous:.1f}"
        cons.add_row(str(side), str(RATIO * side), f"{seconds:.2f}", f"{peak:.0f}", growth)
        previous = seconds
    console.print(cons)


if __name__ == "__main__":
    main()
