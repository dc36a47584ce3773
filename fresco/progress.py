"""Progress display for long loops (rich), quiet when output is not a terminal or in tests."""

from __future__ import annotations

import os

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def progress_enabled() -> bool:
    """False under pytest or when ``FRESCO_PROGRESS=0``."""
    return os.environ.get("FRESCO_PROGRESS", "1") != "0" and "PYTEST_CURRENT_TEST" not in os.environ


def make_progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), transient=True, disable=not progress_enabled())


def track(iterable, total: int | None = None, description: str = "working"):
    """``rich.progress.track`` that respects :func:`progress_enabled`."""
    with make_progress() as progress:
        yield from progress.track(iterable, total=total, description=description)
