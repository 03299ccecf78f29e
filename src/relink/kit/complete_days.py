"""Which days of an account's data are complete: the one rule behind every "complete through".

A day is complete only once it is over in the account's own time zone (the provider's reports
cut days there: Google Ads ``customer.time_zone``, Meta's ``timezone_name``) and the provider's
documented reporting delay has passed after it, where the catalog names one::

    last complete day = (now in the account's time zone - reporting delay).date() - 1 day

Today is never complete, however much of it is imported: the rest of it is still to come. An
account whose time zone Relink was not told is read in UTC. Pure: the imports apply it when
they move ``complete_through``, the pages when they read it (``data_sources/gaps.py``).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ONE_DAY = timedelta(days=1)
NO_DELAY = timedelta(0)
# Distinct (moment, time zone) pairs remembered: a sweep writes one moment for a whole batch,
# so a page's rows share a few, and each costs a time zone conversion only once.
_REMEMBERED = 4096


@functools.cache
def account_zone(name: str | None) -> tzinfo:
    """The account's time zone; UTC when not told, or told a name this machine does not know."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def account_today(now: datetime, *, time_zone: str | None) -> date:
    """The day it is now where the account is: the last day that has any data yet."""
    return now.astimezone(account_zone(time_zone)).date()


def last_complete_day(now: datetime, *, time_zone: str | None, delay: timedelta = NO_DELAY) -> date:
    """The last day whose data is complete at ``now``: over in ``time_zone``, ``delay`` ago."""
    return (now.astimezone(account_zone(time_zone)) - delay).date() - ONE_DAY


@functools.lru_cache(maxsize=_REMEMBERED)
def _over_at(moment: datetime, time_zone: str | None) -> date:
    return last_complete_day(moment, time_zone=time_zone)


def complete_through(
    stored: date | None, *, last_ok_at: datetime | None, time_zone: str | None
) -> date | None:
    """The last complete day of a data source: its ``stored`` one, never past the last day that
    was over (in its account's time zone) when its last import succeeded.

    Imports store only complete days; this keeps a row written before that rule, or before its
    account's time zone was known, from claiming a day that was still going on.
    """
    if stored is None or last_ok_at is None:
        return stored
    return min(stored, _over_at(last_ok_at, time_zone))
