"""From which day a down source's data may be incomplete: never a day after today."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.gaps import DataDays, backfill_start, data_days, gap_start, missing_since
from relink.models import DataSource
from relink.status import DataSourceStatus
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

TODAY = date(2025, 11, 29)
# The moment of the last successful import: midday, so UTC's today is TODAY.
IMPORTED = datetime(2025, 11, 29, 12, 0, tzinfo=UTC)
MANAGER = "manager@sandbox.test"


def _source(status: DataSourceStatus, complete_through: date | None) -> DataSource:
    return DataSource(status=status, complete_through=complete_through, last_ok_at=IMPORTED)


@pytest.mark.parametrize(
    ("complete_through", "expected"),
    [
        # Written as complete before it was over (an import before the rule): not complete.
        (TODAY, TODAY),
        (TODAY - timedelta(days=1), TODAY),
        (TODAY - timedelta(days=5), TODAY - timedelta(days=4)),
        # A clock that stepped back must not push the day past today either.
        (TODAY + timedelta(days=2), TODAY),
        (None, None),
    ],
)
def test_the_gap_starts_after_the_last_complete_day_and_never_after_today(
    complete_through: date | None, expected: date | None
) -> None:
    down = _source(DataSourceStatus.DISCONNECTED, complete_through)
    assert missing_since(down) == expected


@pytest.mark.parametrize(
    "complete_through", [TODAY + timedelta(days=2), TODAY, TODAY - timedelta(days=3), None]
)
def test_the_two_days_are_one_after_the_other(complete_through: date | None) -> None:
    days = data_days(_source(DataSourceStatus.FAILING, complete_through))

    if complete_through is None:
        assert days == DataDays(None, None)
    else:
        assert days.complete_through is not None and days.complete_through < TODAY
        assert days.missing_since == gap_start(days.complete_through)
        assert days.missing_since == days.complete_through + timedelta(days=1)


@pytest.mark.parametrize("status", [DataSourceStatus.CONNECTED, DataSourceStatus.PAUSED])
def test_a_source_that_is_up_or_paused_admits_to_no_gap(status: DataSourceStatus) -> None:
    assert missing_since(_source(status, TODAY - timedelta(days=3))) is None


def test_a_source_complete_through_its_yesterday_needs_no_backfill() -> None:
    yesterday = _source(DataSourceStatus.CONNECTED, TODAY - timedelta(days=1))
    assert backfill_start(yesterday, now=IMPORTED) is None
    behind = _source(DataSourceStatus.CONNECTED, TODAY - timedelta(days=2))
    assert backfill_start(behind, now=IMPORTED) == TODAY - timedelta(days=1)


def _utc_today() -> date:
    # The app's days are UTC calendar days (see relink.data_sources.gaps).
    return datetime.now(UTC).date()


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%b')}"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("behind_days", [0, 1, None], ids=["today", "yesterday", "none"])
async def test_the_pages_never_show_a_missing_since_day_after_today(
    session: AsyncSession,
    demo: Demo,
    admin: httpx.Client,
    sandbox: SandboxServer,
    behind_days: int | None,
) -> None:
    # given: the shared grant is revoked and a sweep disconnected its data sources
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    today = _utc_today()
    last_complete = None if behind_days is None else today - timedelta(days=behind_days)
    await session.execute(
        update(DataSource)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .values(complete_through=last_complete)
    )
    await session.commit()
    acme = demo.client_named("Acme Dental")

    # when
    listing = admin.get("/clients").text
    detail = admin.get(f"/clients/{acme.id}").text
    api = admin.get("/api/data-sources", params={"client_id": acme.id, "limit": 100}).json()

    # then
    client_row = rf'<tr>\s*<td data-label="Client"><a[^>]*>{acme.name}</a>.*?</tr>'
    row = re.search(client_row, listing, re.S)
    assert row is not None
    tomorrow = today + timedelta(days=1)
    assert f'datetime="{tomorrow.isoformat()}"' not in listing + detail
    down = [s for s in api["items"] if s["status"] == "disconnected"]
    assert down, "the sweep disconnected the shared grant's sources"
    if behind_days is None:
        assert "May be incomplete since" not in _text(row.group(0))
        assert "No data imported yet" in _text(row.group(0))
        assert "may be incomplete since" not in _text(detail)
        assert all(s["missing_since"] is None for s in down)
    else:
        assert f"May be incomplete since {_day(today)}" in _text(row.group(0))
        assert f"may be incomplete since {_day(today)}" in _text(detail)
        assert all(s["missing_since"] == today.isoformat() for s in down)
