"""Backfill progress after a reconnect: days done of the gap, oldest first, until today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import Scope, client_visible
from relink.models import Client, DataSource
from relink.models.data_source import SourceFields


@dataclass(frozen=True)
class Progress:
    data_source_id: int
    client_name: str
    provider: str
    gap_start: date
    days_done: int
    days_total: int

    @property
    def done(self) -> bool:
        return self.days_done >= self.days_total


def progress_of(source: SourceFields, *, client_name: str, today: date) -> Progress | None:
    """Days imported since the gap opened, of all days up to today (None: no gap)."""
    if source.backfill_from is None:
        return None
    total = max((today - source.backfill_from).days + 1, 0)
    through = source.complete_through or source.backfill_from - timedelta(days=1)
    done = min(max((through - source.backfill_from).days + 1, 0), total)
    return Progress(source.id, client_name, source.provider, source.backfill_from, done, total)


async def backfills(
    session: AsyncSession, *, scope: Scope, today: date, grant_id: int | None = None
) -> list[Progress]:
    """Every running backfill of the data sources ``scope`` may see (of one grant if given)."""
    query = (
        select(DataSource, Client.name)
        .join(Client, Client.id == DataSource.client_id)
        .where(DataSource.backfill_from.is_not(None), client_visible(scope, DataSource.client_id))
        .order_by(DataSource.id)
    )
    if grant_id is not None:
        query = query.where(DataSource.grant_id == grant_id)
    found = []
    for source, name in await session.execute(query):
        item = progress_of(source, client_name=name, today=today)
        if item is not None:
            found.append(item)
    return found
