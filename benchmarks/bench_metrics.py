"""Time and peak memory of :func:`fresco.metrics.quality_metrics` versus image size.

Run ``python benchmarks/bench_metrics.py`` (options: ``--sizes 32 64 128 256 --bands 100 --repeats 3``).
Prints one row per square image size: median wall time per call, the peak Python-heap memory seen by
``tracemalloc`` during one call (numpy buffers included), both relative to the input size, and the
empirical growth exponent ``log(t2 / t1) / log(n2 / n1)`` against the pixel count ``n`` (1 = linear).
Measurements only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import tracemalloc
from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from fresco.metrics import quality_metrics

DEFAULT_SIZES = (32, 64, 128, 256)
DEFAULT_BANDS = 100
DEFAULT_REPEATS = 3
RATIO = 4  # ERGAS' d; does not affect cost
NOISE_STD = 0.02  # estimate = ground truth + noise, so no metric hits a shortcut
SEED = 0
MIB = 2**20


def _pair(size: int, bands: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    gt = rng.random((size, size, bands), dtype=np.float32)
    est = gt + NOISE_STD * rng.standard_normal(gt.shape, dtype=np.float32)
    return est, gt


def measure(size: int, bands: int, repeats: int, rng: np.random.Generator) -> dict[str, float]:
    """Median seconds per call and tracemalloc peak (MiB) of one call, for one image size."""
    est, gt = _pair(size, bands, rng)
    quality_metrics(est, gt, RATIO)  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        quality_metrics(est, gt, RATIO)
        times.append(time.perf_counter() - start)
    # Timed separately: tracing every allocation slows the call down.
    tracemalloc.start()
    tracemalloc.reset_peak()
    quality_metrics(est, gt, RATIO)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": statistics.median(times),
        "peak_mib": peak / MIB,
        "input_mib": (est.nbytes + gt.nbytes) / MIB,
        "pixels": float(size * size),
    }


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    """Run the benchmark, print the table and return the rows (one dict per size)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="square image sides"
    )
    parser.add_argument("--bands", type=int, default=DEFAULT_BANDS, help="spectral bands")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed calls per size")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    rows = []
    for size in sorted(args.sizes):
        row = {"size": float(size), **measure(size, args.bands, args.repeats, rng)}
        rows.append(row)

    table = Table(title=f"quality_metrics: {args.bands} bands, float32 input, median of {args.repeats} calls")
    for column in ("size", "time/call", "us/pixel", "peak mem", "peak/input", "growth"):
        table.add_column(column, justify="right")
    previous = None
    for row in rows:
        growth = "-"
        if previous is not None:
            exponent = math.log(row["seconds"] / previous["seconds"]) / math.log(
                row["pixels"] / previous["pixels"]
            )
            growth = f"n^{exponent:.2f}"
        table.add_row(
            f"{int(row['size'])}x{int(row['size'])}",
            f"{row['seconds'] * 1e3:.1f} ms",
            f"{row['seconds'] / row['pixels'] * 1e6:.2f}",
            f"{row['peak_mib']:.1f} MiB",
            f"{row['peak_mib'] / row['input_mib']:.1f}x",
            growth,
        )
        previous = row
    console = Console()
    console.print(table)
    console.print(
        "growth: exponent of the pixel count n between consecutive sizes (1.00 = linear in pixels); "
        "peak/input: tracemalloc peak over the bytes of est + gt."
    )
    return rows


if __name__ == "__main__":
    main()
