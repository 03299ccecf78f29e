"""How long sweeps take, observed in the process that runs them."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Histogram

P = ParamSpec("P")
T = TypeVar("T")

SWEEP_DURATION = Histogram(
    "relink_sweep_duration_seconds",
    "Wall time of one sweep (refreshes and imports claimed and run) in this process.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)


def timed_sweep(sweep: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Wraps the sweep so each run, ended or failed, is observed in :data:`SWEEP_DURATION`."""

    @functools.wraps(sweep)
    async def timed(*args: P.args, **kwargs: P.kwargs) -> T:
        started = time.perf_counter()
        try:
            return await sweep(*args, **kwargs)
        finally:
            SWEEP_DURATION.observe(time.perf_counter() - started)

    return timed
