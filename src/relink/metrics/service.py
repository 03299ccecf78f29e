"""Imported daily metrics, read through the data source's visibility."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.service import get_data_source
from relink.errors import InvalidInput
from relink.models import DailyMetric, User

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
