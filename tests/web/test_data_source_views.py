"""How a data-source table prints days and moments (data_source_views), without a page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from relink.data_sources.rows import Row
from relink.models import DataSource
from relink.notifications.kinds import REASONS
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import DataSourceStatus
from relink.web.data_source_views import Ago, Day, ago, day, why

TODAY = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def test_a_day_of_this_year_is_day_and_month() -> None:
    assert day(date(2026, 3, 5), TODAY) == Day("2026-03-05", "5 Mar")


def test_a_day_of_another_year_says_the_year() -> None:
    assert day(date(2025, 12, 31), TODAY) == Day("2025-12-31", "31 Dec 2025")


def test_no_day_is_none() -> None:
    assert day(None, TODAY) is None


@pytest.mark.parametrize(
    ("before", "text"),
    [
        (timedelta(seconds=30), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3, minutes=59), "3 h ago"),
        (timedelta(hours=30), "yesterday"),
        (timedelta(days=9, hours=1), "9 days ago"),
    ],
)
def test_a_moment_says_how_long_ago_in_the_largest_unit(before: timedelta, text: str) -> None:
    moment = NOW - before

    assert ago(moment, NOW) == Ago(moment.isoformat(), moment.strftime("%d %b %Y, %H:%M UTC"), text)


def _line(**fields: object) -> SimpleNamespace:
    """What a staff member reads under a line's status: its reason and the day it ends with."""
    source = DataSource(id=1, provider="sandbox", **{"status_reason": None, **fields})
    row = Row.of(source, "Acme Dental", None, AuthKind.OAUTH2)
    reason, reason_day = why(
        row, today=TODAY, reasons=REASONS_BY_VALUE, retention=timedelta(days=30)
    )
    return SimpleNamespace(reason=reason, reason_day=reason_day)


REASONS_BY_VALUE = {k.value: v for k, v in REASONS.items()}


def test_a_paused_line_says_since_which_day() -> None:
    line = _line(status=DataSourceStatus.PAUSED, paused_at=NOW - timedelta(days=2))

    assert (line.reason, line.reason_day) == (
        "Paused by a person on ",
        day(date(2026, 3, 13), TODAY),
    )


def test_a_line_in_the_trash_says_until_which_day() -> None:
    line = _line(status=DataSourceStatus.REMOVED, removed_at=NOW - timedelta(days=10))

    assert (line.reason, line.reason_day) == ("In the trash until ", day(date(2026, 4, 4), TODAY))


def test_a_failing_line_says_it_is_retrying_and_why() -> None:
    line = _line(status=DataSourceStatus.FAILING, status_reason=ErrorClass.RATE_LIMITED)

    assert line.reason == f"Retrying: {REASONS[ErrorClass.RATE_LIMITED]}"
