"""The two days every page, API answer, CLI table and e-mail names about a data source's data:
"complete through" and "may be incomplete since", both from ``data_days`` so they never
contradict.

"Complete through" is the last day whose data is complete (``kit/complete_days.py``: over in
the account's time zone, past the provider's reporting delay; today never is). "May be
incomplete since" is the day after it, the first day that is not complete, said of a source
that is down. Days are the account's: a Berlin account's day ends hours before a Los Angeles
one's, so either may name a day that has not begun in UTC yet, never one after the account's
own today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from relink.kit.complete_days import ONE_DAY, complete_through, last_complete_day
from relink.models.data_source import SourceFields
from relink.status import DataSourceStatus

# Statuses whose data may have a hole that the reports should admit to. A paused source was
# stopped by a person on purpose; a removed one is in the trash.
DOWN_STATUSES = frozenset({DataSourceStatus.DISCONNECTED, DataSourceStatus.FAILING})


@dataclass(frozen=True, slots=True)
class DataDays:
    # The last day whose data is complete; None before any import.
    complete_through: date | None
    # The first day that is not complete, for a source that is down; None while it is up.
    missing_since: date | None


def gap_start(through: date | None) -> date | None:
    """The first day that is not complete after the last complete day; None before any import."""
    return None if through is None else through + ONE_DAY


def data_days(source: SourceFields) -> DataDays:
    """What the pages, the API and the e-mails say about a data source's days."""
    through = complete_through(
        source.complete_through, last_ok_at=source.last_ok_at, time_zone=source.account_timezone
    )
    return DataDays(through, gap_start(through) if source.status in DOWN_STATUSES else None)


def missing_since(source: SourceFields) -> date | None:
    """The day since which a down source's data may be incomplete; None while it is up."""
    return data_days(source).missing_since


def backfill_start(source: SourceFields, *, now: datetime) -> date | None:
    """Where the re-import after a repair starts; None when nothing is behind.

    A source complete through its account's yesterday has no gap to fill: its next scheduled
    import re-reads yesterday and today anyway, so no backfill progress is shown for it.
    """
    through = data_days(source).complete_through
    if through is None or through >= last_complete_day(now, time_zone=source.account_timezone):
        return None
    return gap_start(through)
