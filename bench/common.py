"""Shared benchmark helpers: thread pinning and reporting, timing, percentiles, tables."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR = REPO_ROOT / "var" / "bench"


def pin_threads(threads: int) -> None:
    """Pin torch (and the BLAS under numpy, via threadpoolctl when installed) to ``threads``.

    On two cores, torch with 2 threads collapses when the other core is busy; 1 is the
    default everywhere in Argus, so benchmarks measure that unless told otherwise.
    """
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=threads)


def thread_settings() -> dict[str, Any]:
    settings: dict[str, Any] = {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS", "(unset)"),
    }
    with suppress(OSError):
        settings["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        import torch

        settings["torch"] = torch.__version__
        settings["torch.get_num_threads()"] = torch.get_num_threads()
    except ImportError:
        settings["torch"] = "(not installed)"
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            settings[f"blas:{pool.get('internal_api')}({pool.get('prefix')})"] = pool.get("num_threads")
    except ImportError:
        settings["threadpoolctl"] = "(not installed)"
    return settings


def print_thread_settings() -> None:
    print("== Thread settings ==")
    for key, value in thread_settings().items():
        print(f"  {key:<32} {value}")
    print()


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as elapsed: ...`` then ``elapsed[0]`` holds the seconds."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


def percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    cells = [[_format(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    if title:
        print(f"== {title} ==")
    for row in [[str(h) for h in headers], ["-" * w for w in widths], *cells]:
        # The first column (labels) is left-aligned, the numbers right-aligned.
        print(
            "  "
            + "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
        )
    print()


def _format(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)
