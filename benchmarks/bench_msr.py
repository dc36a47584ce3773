"""Speed of stage 1 (the coupled block-term solver) and how its cost grows with size and R.

    python benchmarks/bench_msr.py                 # CPU, float64
    python benchmarks/bench_msr.py --device cuda   # on a GPU
    python benchmarks/bench_msr.py --dtype float32 --quick

Prints three tables:
1. the issue's budget check: 400 full iterations (objective evaluated every iteration, no early
   stop), R = 6, 200 bands, for a 96 x 96 MSI with a 24 x 24 HSI and 256 x 256 with 64 x 64;
2. time per iteration and peak memory against the MSI side (64 ... 512, HSI side / 4), with the
   fitted growth exponent of time against pixels;
3. time per iteration against R at 128 x 128.
Each measurement runs in a fresh subprocess so that its peak resident memory (CPU) or peak
allocated memory (CUDA) is its own. Timings on a shared 2-core machine are noisy; rerun when in doubt.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
from rich.console import Console
from rich.table import Table

BANDS = 200
MSI_BANDS = 6
RATIO = 4
BUDGET_CASES = ((96, 400), (256, 400))
SIDES = (64, 128, 256, 512)
RANKS = (4, 6, 8, 12)
RANK_SIDE = 128
TIMED_ITERATIONS = 20

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
from fresco.msr import BTDConfig, CoupledBTD
side, r, iterations, device, dtype, threads, msi_bands, bands, ratio = json.loads(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
rng = np.random.default_rng(0)
srf = rng.random((msi_bands, bands)); srf /= srf.sum(1, keepdims=True)
msi = rng.random((side, side, msi_bands)); hsi = rng.random((side // ratio, side // ratio, bands))
solver = CoupledBTD(msi, hsi, srf, BTDConfig(num_materials=r, iterations=iterations + 2, tol=0.0), device=device,
                    dtype=dtype)
solver.step(); solver.step()   # warm-up (allocations, kernels)
if device == "cuda":
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
start = time.perf_counter()
for _ in range(iterations):
    solver.step()
if device == "cuda":
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
peak = (torch.cuda.max_memory_allocated() if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
print(json.dumps({"seconds": seconds, "peak_mib": peak / 2**20}))
"""


def measure(side: int, r: int, iterations: int, device: str, dtype: str, threads: int) -> dict[str, float]:
    spec = json.dumps([side, r, iterations, device, dtype, threads, MSI_BANDS, BANDS, RATIO])
    out = subprocess.run([sys.executable, "-c", CHILD, spec], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def growth_exponent(sizes: list[float], seconds: list[float]) -> float:
    """Slope of log(time) against log(size): 1 = linear."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--quick", action="store_true", help="skip the 512 side and the R table")
    args = parser.parse_args(argv if argv is not None else [])
    console = Console()
    where = f"{args.device}, {args.dtype}, {BANDS} HSI bands, {MSI_BANDS} MSI bands, ratio {RATIO}"

    table = Table(title=f"stage 1 budget check: 400 iterations, R = 6 ({where})")
    for col in ("MSI", "HSI", "iterations", "time (s)", "it/s", "peak mem (MiB)"):
        table.add_column(col, justify="right")
    for side, iterations in BUDGET_CASES:
        m = measure(side, 6, iterations, args.device, args.dtype, args.threads)
        table.add_row(f"{side}x{side}", f"{side // RATIO}x{side // RATIO}", str(iterations), f"{m['seconds']:.2f}",
                      f"{iterations / m['seconds']:.1f}", f"{m['peak_mib']:.0f}")
    console.print(table)

    sides = SIDES[:-1] if args.quick else SIDES
    table = Table(title=f"stage 1 cost against image size, R = 6 ({where})")
    for col in ("MSI side", "ms / iteration", "it/s", "peak mem (MiB)", "time / previous side"):
        table.add_column(col, justify="right")
    per_iter = []
    for side in sides:
        m = measure(side, 6, TIMED_ITERATIONS, args.device, args.dtype, args.threads)
        per_iter.append(m["seconds"] / TIMED_ITERATIONS)
        growth = "" if len(per_iter) == 1 else f"x{per_iter[-1] / per_iter[-2]:.1f}"
        table.add_row(str(side), f"{per_iter[-1] * 1e3:.1f}", f"{1 / per_iter[-1]:.1f}", f"{m['peak_mib']:.0f}", growth)
    console.print(table)
    exponent = growth_exponent([s * s for s in sides], per_iter)
    console.print(f"fitted growth: time ~ pixels^{exponent:.2f} (x4 per doubled side = linear in pixels; the "
                  f"low-rank term's eigendecompositions grow as side^3 = pixels^1.5)")

    if args.quick:
        return
    table = Table(title=f"stage 1 cost against R at {RANK_SIDE}x{RANK_SIDE} ({where})")
    for col in ("R", "ms / iteration", "it/s"):
        table.add_column(col, justify="right")
    for r in RANKS:
        m = measure(RANK_SIDE, r, TIMED_ITERATIONS, args.device, args.dtype, args.threads)
        table.add_row(str(r), f"{m['seconds'] / TIMED_ITERATIONS * 1e3:.1f}", f"{TIMED_ITERATIONS / m['seconds']:.1f}")
    console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
