"""The hole an outage leaves: from which day a data source's data may be incomplete.

One rule for every page, API answer, CLI table and e-mail that names the day: it is the first
day after the last complete day, never later than today. Days are UTC calendar days, the same
convention as the imports that move ``complete_through`` (``now.date()`` of the app's UTC clock).
A day after today would promise a hole that has not happened yet; today itself is honest for a
source that is down after importing part of it, since the rest of today is not coming in.
"""

from __future__ import annotations

from datetime import date, timedelta

from relink.models import DataSource
from relink.models.data_source import SourceFields
from relink.status import DataSourceStatus

# Statuses whose data may have a hole that the reports should admit to. A paused source was
# stopped by a person on purpose; a removed one is in the trash.
DOWN_STATUSES = frozenset({DataSourceStatus.DISCONNECTED, DataSourceStatus.FAILING})


def gap_start(complete_through: date | None, *, today: date) -> date | None:
    """The first day after ``complete_through``, capped at ``today``; None before any import."""
    if complete_through is None:
        return None
    return min(complete_through + timedelta(days=1), today)


def missing_since(source: SourceFields, *, today: date) -> date | None:
    """The day since which a down source's data may be incomplete; None while it is up."""
    if source.status not in DOWN_STATUSES:
        return None
    return gap_start(source.complete_through, today=today)


def backfill_start(source: DataSource, *, today: date) -> date | None:
    """Where the re-import after a repair starts; None when nothing is behind.

    A source complete through today has no gap to fill: its next scheduled import re-reads
    today anyway, so no backfill progress is shown for it.
    """
    if source.complete_through is None or source.complete_through >= today:
        return None
    return gap_start(source.complete_through, today=today)
