"""The result contract: what every run writes into its output directory.

    config.yaml      the resolved configuration (Hydra's own unresolved copy stays in .hydra/)
    run.json         status ("running" | "completed" | "failed" | "interrupted"), method, dataset, seed, error,
                     traceback, signal (when interrupted), the Hydra overrides and group choices of the run
    metrics.json     flat mapping {"m_sri.psnr": 31.2, ..., "h_sri.fid": null, "time_s.total": 4.1}
    estimates.npz    m_sri, h_sri as (rows, cols, bands) float32 (a product a method does not give is absent)
    pair.npz         the simulated pair, ground truth included (for figures; ``save.pair=false`` skips it)
    figure.png       RGB composites and per-pixel error maps

Every file is written atomically (temporary file in the same folder, then ``os.replace``), so a
crashed run never leaves a half-written ``metrics.json`` behind; ``run.json`` says how far it got.
A metric that could not be computed is ``null``, never 0.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from fresco.fileio import atomic_write, atomic_write_json, atomic_write_text

__all__ = ["RunFolderBusyError", "atomic_write", "atomic_write_json", "atomic_write_text", "clean_metric",
           "clear_results", "flatten_metrics", "load_estimates", "read_json", "run_folder_lock", "update_run_status",
           "write_estimates", "write_metrics"]

METRICS_FILE = "metrics.json"
ESTIMATES_FILE = "estimates.npz"
RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"
PAIR_FILE = "pair.npz"
#: Training checkpoints of the methods that train (stage 1 and stage 2).
CHECKPOINT_DIR = "checkpoints"
FIGURE_FILE = "figure.png"


def clean_metric(value: Any) -> float | None:
    """A JSON-safe metric value: a finite float, or None for "could not be computed"."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def flatten_metrics(groups: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """``{"m_sri": {"psnr": 30}}`` -> ``{"m_sri.psnr": 30.0}`` with non-finite values as None."""
    return {f"{group}.{key}": clean_metric(val) for group, values in groups.items()
            for key, val in values.items()}


def write_metrics(run_dir: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Write the flat ``metrics.json``; keys must be ``"<group>.<name>"`` strings."""
    bad = [k for k in metrics if not isinstance(k, str) or "." not in k]
    if bad:
        raise ValueError(f"metric keys must look like 'm_sri.psnr'; got {bad}")
    return atomic_write_json(Path(run_dir) / METRICS_FILE, {k: clean_metric(v) for k, v in metrics.items()})


def write_estimates(run_dir: str | Path, **arrays: np.ndarray | None) -> Path:
    """Write ``estimates.npz`` with the given (rows, cols, bands) arrays as float32; None is skipped."""
    payload = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items() if v is not None}
    return atomic_write(Path(run_dir) / ESTIMATES_FILE, lambda f: np.savez_compressed(f, **payload))


def read_json(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def load_estimates(run_dir: str | Path) -> dict[str, np.ndarray]:
    with np.load(Path(run_dir) / ESTIMATES_FILE) as data:
        return {k: data[k] for k in data.files}


def clear_results(run_dir: str | Path, checkpoints: bool = True) -> None:
    """Remove the result files of an earlier run in ``run_dir`` so none can be mistaken for new ones
    (and its training checkpoints, unless ``checkpoints=False``: a resumed run continues from them)."""
    for name in (METRICS_FILE, ESTIMATES_FILE, PAIR_FILE, FIGURE_FILE, RUN_FILE):
        (Path(run_dir) / name).unlink(missing_ok=True)
    if checkpoints and (Path(run_dir) / CHECKPOINT_DIR).is_dir():
        shutil.rmtree(Path(run_dir) / CHECKPOINT_DIR)


def update_run_status(run_dir: str | Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into ``run.json`` (atomically) and return the new record."""
    path = Path(run_dir) / RUN_FILE
    record = read_json(path) if path.exists() else {}
    record.update(fields)
    atomic_write_json(path, record)
    return record


#: The lock that keeps one run per folder, and the record of who holds it.
LOCK_FILE = ".fresco.lock"
HOLDER_FILE = ".fresco.lock.json"


class RunFolderBusyError(RuntimeError):
    """Another fresco run holds this run folder."""


@contextmanager
def run_folder_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold ``<run_dir>/.fresco.lock`` (an OS file lock: released when the process ends, even by
    ``kill -9``) for the block; raise :class:`RunFolderBusyError` naming the holder when another run
    has it, before anything in the folder is touched."""
    import socket
    import sys
    import time

    from filelock import FileLock, Timeout

    run_dir = Path(run_dir)
    lock = FileLock(str(run_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder_path = run_dir / HOLDER_FILE
        try:
            holder = read_json(holder_path) if holder_path.is_file() else {}
        except (OSError, ValueError):
            holder = {}
        who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "host", "user", "started", "command") if k in holder)
        raise RunFolderBusyError(
            f"{run_dir} is in use by another fresco run ({who or 'holder unknown'}); two runs in one folder "
            "would mix their results. Wait for it to end, or give this run its own folder (hydra.run.dir=...)"
        ) from None
    try:
        atomic_write_json(run_dir / HOLDER_FILE, {
            "pid": os.getpid(), "host": socket.gethostname(), "user": os.environ.get("USER", ""),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)})
        yield
    finally:
        (run_dir / HOLDER_FILE).unlink(missing_ok=True)
        lock.release()
