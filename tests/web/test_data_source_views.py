"""How a data-source table prints days and moments (data_source_views), without a page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from relink.web.data_source_views import Ago, Day, ago, day

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
