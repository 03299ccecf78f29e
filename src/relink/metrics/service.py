"""Imported daily metrics, read through the data source's visibility."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.service import get_data_source
from relink.errors import InvalidInput
from relink.models import DailyMetric, User
from relink.models.base import utcnow

MAX_RANGE_DAYS = 800


async def daily_metrics(
    session: AsyncSession, *, user: User, data_source_id: int, start: date, end: date
) -> list[DailyMetric]:
    """The rows of one visible data source between ``start`` and ``end`` inclusive, by day."""
    if end < start:
        raise InvalidInput("the end date is before the start date")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"ask for at most {MAX_RANGE_DAYS} days at a time")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    query = (
        select(DailyMetric)
        .where(DailyMetric.data_source_id == source.id, DailyMetric.day.between(start, end))
        .order_by(DailyMetric.day)
    )
    return list(await session.scalars(query))


async def upsert_days(
    session: AsyncSession,
    *,
    agency_id: int,
    data_source_id: int,
    days: dict[date, dict[str, float]],
) -> int:
    """Write one row per day, replacing an earlier import of that day; returns the row count."""
    if not days:
        return 0
    rows = [
        {"agency_id": agency_id, "data_source_id": data_source_id, "day": day, "values": values}
        for day, values in sorted(days.items())
    ]
    dialect = session.get_bind().dialect.name
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_(DailyMetric).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[DailyMetric.data_source_id, DailyMetric.day],
        set_={"values": statement.excluded["values"], "imported_at": utcnow()},
    )
    await session.execute(statement)
    return len(rows)
