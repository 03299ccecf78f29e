"""What an e-mail says about the data of the data sources it is about: the same "complete
through" and "may be incomplete since" days as their pages (``data_sources/gaps.py``), read
when the e-mail is written, so a mail never contradicts the page its button opens."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.gaps import DataDays, data_days
from relink.kit.id_lists import id_in
from relink.models import DataSource

# Ids per IN list: well under SQLite's bound-variable limit.
ID_CHUNK = 900


async def days_of(session: AsyncSession, ids: Collection[int]) -> dict[int, DataDays]:
    """Each data source's two days, by id (a data source deleted since is left out)."""
    wanted = sorted(set(ids))
    found: dict[int, DataDays] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        for source in await session.scalars(
            select(DataSource).where(id_in(session, DataSource.id, chunk))
        ):
            found[source.id] = data_days(source)
    return found


def days_text(ids: Iterable[int], days: Mapping[int, DataDays]) -> str:
    """The e-mail's line about the data: of the down sources, the one whose hole starts first;
    nothing while none of them is down with data imported."""
    holes = [
        (d.complete_through, d.missing_since)
        for i in ids
        if (d := days.get(i)) is not None and d.complete_through and d.missing_since
    ]
    if not holes:
        return ""
    through, since = min(holes)
    return f"complete through {_day(through)} · may be incomplete since {_day(since)}"


def _day(day: date) -> str:
    # As the pages print a day, with its year (an e-mail is read later, maybe next year).
    return f"{day.day} {day:%b %Y}"
