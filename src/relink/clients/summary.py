"""The Data Sources page's summary (counts by status, broken sign-ins), kept per scope.

Kept as every count over the agency's data sources is (kept_counts.py): served while no status
of the agency changed since it was counted, and for at most the page-counts ttl.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from relink.clients.health import BrokenGrant, broken_grants, status_counts
from relink.kept_counts import KeptCounts
from relink.models import User
from relink.status import DataSourceStatus


@dataclass(frozen=True)
class Summary:
    counts: dict[DataSourceStatus, int]
    broken: list[BrokenGrant]


async def count_summary(session: AsyncSession, user: User) -> Summary:
    """The chips' counts and the broken sign-ins the user may see, counted now."""
    return Summary(
        counts=await status_counts(session, user=user),
        broken=await broken_grants(session, user=user),
    )


class SummaryCache(KeptCounts[Summary]):
    """Per-process summaries by scope; one count at a time per scope."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl, count_summary, clock=clock)
