"""How many of each grant's data sources a reader may see, and how many are disconnected.

The grants list shows both beside every grant. A grant may serve thousands of data sources,
so counting a page of grants at read time grew with the agency: in the last stop's
``make bench`` (100 grants, 100k data sources) the list's p95 was 9.8x (admin) and 16x (staff
with every client) a no-database endpoint's, 4.2x its figure at 1k. The counts are kept per
scope instead, as the Data Sources page's chips are (kept_counts.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import data_source_visible, scope_of
from relink.kept_counts import KeptCounts
from relink.models import DataSource, User
from relink.status import DataSourceStatus

DISCONNECTED = func.sum(case((DataSource.status == DataSourceStatus.DISCONNECTED, 1), else_=0))


@dataclass(frozen=True)
class SourceCounts:
    """A grant's live data sources that the reader may see, and how many are disconnected."""

    data_sources: int = 0
    disconnected: int = 0


def live_and_visible(user: User) -> list[ColumnElement[bool]]:
    """WHERE conditions on ``DataSource``: not in the trash, and the user may see it."""
    return [DataSource.status != DataSourceStatus.REMOVED, data_source_visible(scope_of(user))]


async def count_by_grant(session: AsyncSession, user: User) -> dict[int, SourceCounts]:
    """Every grant's counts as ``user`` sees them, in one grouped query (grants the user sees
    no live data source of are absent)."""
    rows = await session.execute(
        select(DataSource.grant_id, func.count(), DISCONNECTED)
        .where(DataSource.agency_id == user.agency_id, *live_and_visible(user))
        .group_by(DataSource.grant_id)
    )
    return {grant_id: SourceCounts(int(n), int(down or 0)) for grant_id, n, down in rows}


class GrantCountsCache(KeptCounts[dict[int, SourceCounts]]):
    """Per-process grant counts by scope; one count at a time per scope."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl, count_by_grant, clock=clock)
