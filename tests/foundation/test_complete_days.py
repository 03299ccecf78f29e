"""The rule of a complete day: over in the account's time zone, past the reporting delay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from relink.kit.complete_days import account_today, complete_through, last_complete_day

LOS_ANGELES = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
# December: Pacific Standard Time (UTC-8) and Central European Time (UTC+1).
DEC_5, DEC_6 = date(2026, 12, 5), date(2026, 12, 6)


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("zone", [None, LOS_ANGELES, BERLIN])
@pytest.mark.parametrize("hour", [0, 5, 12, 23])
def test_today_is_never_complete(zone: str | None, hour: int) -> None:
    now = _utc(6, hour)

    assert last_complete_day(now, time_zone=zone) < account_today(now, time_zone=zone)


def test_a_los_angeles_account_at_five_utc_is_still_on_the_previous_day() -> None:
    now = _utc(6, 5)

    assert account_today(now, time_zone=LOS_ANGELES) == DEC_5
    assert last_complete_day(now, time_zone=LOS_ANGELES) == DEC_5 - timedelta(days=1)
    assert last_complete_day(now, time_zone=None) == DEC_5


@pytest.mark.parametrize(
    ("zone", "local_midnight"),
    [(None, _utc(6, 0)), (LOS_ANGELES, _utc(6, 8)), (BERLIN, _utc(5, 23))],
    ids=["utc", "los-angeles", "berlin"],
)
def test_a_day_becomes_complete_at_midnight_in_the_accounts_time_zone(
    zone: str | None, local_midnight: datetime
) -> None:
    before = local_midnight - timedelta(microseconds=1)

    assert last_complete_day(before, time_zone=zone) == DEC_5 - timedelta(days=1)
    assert last_complete_day(local_midnight, time_zone=zone) == DEC_5


def test_the_reporting_delay_pushes_the_day_that_becomes_complete() -> None:
    three_hours = timedelta(hours=3)

    assert last_complete_day(_utc(6, 2, 59), time_zone=None, delay=three_hours) < DEC_5
    assert last_complete_day(_utc(6, 3), time_zone=None, delay=three_hours) == DEC_5
    # In Berlin the same three hours end at 02:00 UTC.
    assert last_complete_day(_utc(6, 2), time_zone=BERLIN, delay=three_hours) == DEC_5


def test_an_unknown_time_zone_reads_as_utc() -> None:
    now = _utc(6, 5)

    assert last_complete_day(now, time_zone="Mars/Olympus_Mons") == last_complete_day(
        now, time_zone=None
    )


def test_a_stored_day_that_was_not_over_at_its_last_import_is_not_complete() -> None:
    # An import at 06:00 UTC on 6 Dec cannot have completed 6 Dec in UTC, nor 5 Dec in Los
    # Angeles, where it was still 22:00 on 5 Dec.
    imported = _utc(6, 6)

    assert complete_through(DEC_6, last_ok_at=imported, time_zone=None) == DEC_5
    assert complete_through(DEC_6, last_ok_at=imported, time_zone=LOS_ANGELES) == date(2026, 12, 4)
    assert complete_through(DEC_5, last_ok_at=imported, time_zone=None) == DEC_5
    assert complete_through(None, last_ok_at=imported, time_zone=None) is None
