"""Time and peak memory of the pair simulator and the degradation operator versus footprint size.

Run ``python benchmarks/bench_simulator.py`` (options: ``--sizes 64 128 256 --bands 100 --repeats 3``).
For each square footprint side ``s`` a synthetic scene of side ``ceil(SCENE_PER_FOOTPRINT * s)`` with
``--bands`` bands is drawn (not timed), then three operations are timed:

* ``pair:none``      ``simulate_pair``, no misalignment: the HSI footprint is an exact copy;
* ``pair:moderate``  ``simulate_pair``, 30 degrees + 25 % shift: cubic-spline resampling of every
  band, plus noise at 30 dB;
* ``degrade``         Gaussian blur + decimation (ratio 4) of one ``s x s x bands`` cube.

Each row gives the median wall time, the peak Python-heap memory ``tracemalloc`` sees during one call
(numpy buffers included) relative to the footprint cube's bytes, and the growth exponent
``log(t2 / t1) / log(n2 / n1)`` against the footprint pixel count ``n`` (1 = linear). Measurements
only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from fresco.data.sensors import make_srf
from fresco.data.simulate import MISALIGNMENT_LEVELS, degrade, simulate_pair
from fresco.data.synthetic import synthetic_scene

DEFAULT_SIZES = (64, 128, 256)
DEFAULT_BANDS = 100
DEFAULT_REPEATS = 3
RATIO = 4
#: Scene side / footprint side: the "moderate" level (30 deg, 25 % shift) needs about 1.62.
SCENE_PER_FOOTPRINT = 1.7
SNR_DB = 30.0
SEED = 0
MIB = 2**20
TABLE_WIDTH = 100


def _time_and_peak(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    fn()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    # Traced separately: tracing every allocation slows the call down.
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / MIB


def measure(size: int, bands: int, repeats: int) -> list[dict[str, Any]]:
    """One row per operation for a square footprint of side ``size``."""
    side = math.ceil(SCENE_PER_FOOTPRINT * size)
    scene = synthetic_scene(side, side, n_bands=bands, n_materials=4, rank=3, seed=SEED)
    srf = make_srf("landsat_box", scene.wavelengths)
    cube_mib = size * size * bands * 4 / MIB
    common = dict(ratio=RATIO, msi_shape=(size, size), hsi_shape=(size, size), seed=SEED)
    moderate = {**MISALIGNMENT_LEVELS["moderate"], "snr_db_hsi": SNR_DB, "snr_db_msi": SNR_DB}
    footprint = scene.cube[:size, :size]
    ops: dict[str, Callable[[], Any]] = {
        "pair:none": lambda: simulate_pair(scene, srf, **common, **MISALIGNMENT_LEVELS["none"]),
        "pair:moderate": lambda: simulate_pair(scene, srf, **common, **moderate),
        "degrade": lambda: degrade(footprint, RATIO, "gaussian"),
    }
    rows = []
    for name, fn in ops.items():
        seconds, peak = _time_and_peak(fn, repeats)
        rows.append({"op": name, "size": size, "scene": side, "seconds": seconds, "peak_mib": peak,
                     "cube_mib": cube_mib, "pixels": float(size * size)})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark, print the table and return the rows."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="square footprint sides (fine pixels, multiples of 4)")
    parser.add_argument("--bands", type=int, default=DEFAULT_BANDS, help="spectral bands of the scene")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed calls per size")
    args = parser.parse_args(argv)

    rows = [row for size in sorted(args.sizes) for row in measure(size, args.bands, args.repeats)]
    table = Table(title=f"pair simulator: {args.bands} bands, ratio {RATIO}, median of {args.repeats} calls")
    for column in ("operation", "footprint", "scene", "time/call", "peak mem", "peak/cube", "growth"):
        table.add_column(column, justify="right", no_wrap=True)
    previous: dict[str, dict[str, Any]] = {}
    order = list(dict.fromkeys(r["op"] for r in rows))
    for row in sorted(rows, key=lambda r: (order.index(r["op"]), r["size"])):
        growth = "-"
        prev = previous.get(row["op"])
        if prev is not None:
            exponent = math.log(row["seconds"] / prev["seconds"]) / math.log(row["pixels"] / prev["pixels"])
            growth = f"n^{exponent:.2f}"
        table.add_row(row["op"], f"{row['size']}x{row['size']}", f"{row['scene']}x{row['scene']}",
                      f"{row['seconds'] * 1e3:.1f} ms", f"{row['peak_mib']:.1f} MiB",
                      f"{row['peak_mib'] / row['cube_mib']:.1f}x", growth)
        previous[row["op"]] = row
    # Piped output defaults to 80 columns, too narrow for this table.
    console = Console(width=max(Console().width, TABLE_WIDTH))
    console.print(table)
    console.print("pair:LEVEL: simulate_pair at that misalignment level (moderate adds noise); growth: "
                  "exponent of the footprint pixel count n between consecutive sizes (1.00 = linear); "
                  "peak/cube: tracemalloc peak over one footprint cube (s x s x bands float32).")
    return rows


if __name__ == "__main__":
    main()
