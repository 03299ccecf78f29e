"""What the platform's importers have to import: the agency's external data sources, each
with the days it wants (from the first missing day to the last complete one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import data_source_visible, scope_of
from relink.data_sources.gaps import gap_start
from relink.data_sources.import_mode import imported_by_relink
from relink.data_sources.import_plans import INITIAL_HISTORY_DAYS, reporting_delay
from relink.importers.caller import ImporterCaller
from relink.kit.complete_days import last_complete_day
from relink.models import DataSource
from relink.providers.catalog import Catalog
from relink.status import DataSourceStatus

# A data source never imported wants as much history as Relink's own first import takes.
FIRST_HISTORY = timedelta(days=INITIAL_HISTORY_DAYS - 1)


@dataclass(frozen=True)
class Wanted:
    data_source_id: int
    client_id: int
    client_name: str
    provider: str
    account_id: str
    status: DataSourceStatus
    complete_through: date | None
    # The days to import now; None when nothing is due (or it must not be imported now).
    first_day: date | None
    last_day: date | None
    backfill_open: bool


async def wanted_imports(
    session: AsyncSession,
    *,
    caller: ImporterCaller,
    catalog: Catalog,
    now: datetime,
    after_id: int | None,
    limit: int,
) -> list[Wanted]:
    """The caller's external data sources in id order after ``after_id``, ``limit`` + 1 of
    them (the page's way of knowing there is a next one)."""
    query = select(DataSource).where(
        DataSource.agency_id == caller.agency_id,
        DataSource.removed_at.is_(None),
        not_(imported_by_relink(catalog)),
    )
    if caller.user is not None:
        query = query.where(data_source_visible(scope_of(caller.user)))
    if after_id is not None:
        query = query.where(DataSource.id > after_id)
    rows = await session.scalars(query.order_by(DataSource.id).limit(limit + 1))
    return [_wanted(source, catalog=catalog, now=now) for source in rows]


def _wanted(source: DataSource, *, catalog: Catalog, now: datetime) -> Wanted:
    last = last_complete_day(
        now, time_zone=source.account_timezone, delay=reporting_delay(catalog, source.provider)
    )
    first = gap_start(source.complete_through) or last - FIRST_HISTORY
    importable = source.status in (DataSourceStatus.CONNECTED, DataSourceStatus.FAILING)
    due = importable and first <= last
    return Wanted(
        data_source_id=source.id,
        client_id=source.client_id,
        client_name=source.client_name,
        provider=source.provider,
        account_id=source.external_account_id,
        status=source.status,
        complete_through=source.complete_through,
        first_day=first if due else None,
        last_day=last if due else None,
        backfill_open=source.backfill_from is not None,
    )
