"""Speed of the interpolation baselines and how their cost grows with image size.

    python benchmarks/bench_methods.py

Prints, per footprint side (fine pixels) and method: wall time per run (best of repeats),
peak Python-heap memory (tracemalloc), and megapixel-bands per second of H-SRI produced.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
from rich.console import Console
from rich.table import Table

from fresco.data.pair import FusionPair
from fresco.methods.interpolation import InterpolationBaseline

SIDES = (64, 128, 256, 512)
BANDS = 100
MSI_BANDS = 6
RATIO = 4
REPEATS = 3


def make_pair(side: int, rng: np.random.Generator) -> FusionPair:
    srf = rng.random((MSI_BANDS, BANDS))
    srf /= srf.sum(axis=1, keepdims=True)
    return FusionPair(msi=rng.random((side, side, MSI_BANDS), dtype=np.float32),
                      hsi=rng.random((side // RATIO, side // RATIO, BANDS), dtype=np.float32), srf=srf,
                      ratio=RATIO)


def measure(method: InterpolationBaseline, pair: FusionPair) -> tuple[float, float]:
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        method.run(pair)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    method.run(pair)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 2**20


def main() -> None:
    rng = np.random.default_rng(0)
    table = Table(title=f"interpolation baselines ({BANDS} HSI bands, {MSI_BANDS} MSI bands, ratio {RATIO})")
    for col in ("side", "method", "time (s)", "peak mem (MiB)", "Mpix*bands/s", "time / previous side"):
        table.add_column(col, justify="right")
    for kernel in ("bicubic", "lanczos"):
        method = InterpolationBaseline(name=kernel, kernel=kernel)
        previous = None
        for side in SIDES:
            seconds, peak = measure(method, make_pair(side, rng))
            growth = "" if previous is None else f"x{seconds / previous:.1f}"
            table.add_row(str(side), kernel, f"{seconds:.4f}", f"{peak:.1f}",
                          f"{side * side * BANDS / seconds / 1e6:.1f}", growth)
            previous = seconds
    Console().print(table)
    Console().print("Doubling the side quadruples the pixels: x4 per row means linear cost in pixels.")


if __name__ == "__main__":
    main()
