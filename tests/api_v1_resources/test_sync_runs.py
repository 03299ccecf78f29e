"""/api/v1/data-sources/{id}/sync-runs: a data source's imports, newest first, for its readers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import DataSource, SyncOutcome, SyncRun, SyncTrigger
from relink.models.base import utcnow
from relink.providers.taxonomy import ErrorClass
from tests.api_v1_resources.conftest import OUTSIDER_EMAIL, Outsider, ids, items, not_found_alike
from tests.fixtures.demo import Demo

Login = Callable[[str], httpx.Client]


@dataclass(frozen=True)
class Runs:
    acme: int  # Acme Dental's data source (limited staff see it)
    bluebird: int  # Bluebird Bakery's (limited staff do not)
    acme_runs: list[int]  # oldest first: scheduled ok, manual failed, backfill running


async def _source(session: AsyncSession, demo: Demo, name: str) -> int:
    found = await session.scalar(
        select(DataSource.id).where(DataSource.client_id == demo.client_named(name).id)
    )
    assert found is not None
    return found


def _run(demo: Demo, source: int, trigger: SyncTrigger, outcome: SyncOutcome) -> SyncRun:
    failed = outcome is SyncOutcome.FAILED
    return SyncRun(
        agency_id=demo.agency.id,
        data_source_id=source,
        trigger=trigger,
        date_from=date(2026, 11, 1),
        date_to=date(2026, 11, 3),
        started_at=utcnow(),
        finished_at=None if outcome is SyncOutcome.RUNNING else utcnow(),
        outcome=outcome,
        error_class=ErrorClass.PROVIDER_UNAVAILABLE if failed else None,
        error_detail="503 Service Unavailable" if failed else None,
        days_imported=0 if failed else 3,
    )


@pytest.fixture
async def runs(session: AsyncSession, demo: Demo) -> Runs:
    acme = await _source(session, demo, "Acme Dental")
    bluebird = await _source(session, demo, "Bluebird Bakery")
    made = [
        _run(demo, acme, SyncTrigger.SCHEDULE, SyncOutcome.OK),
        _run(demo, acme, SyncTrigger.MANUAL, SyncOutcome.FAILED),
        _run(demo, acme, SyncTrigger.BACKFILL, SyncOutcome.RUNNING),
        _run(demo, bluebird, SyncTrigger.SCHEDULE, SyncOutcome.OK),
    ]
    session.add_all(made)
    await session.commit()
    return Runs(acme, bluebird, [r.id for r in made[:3]])


def _path(source: int) -> str:
    return f"/api/v1/data-sources/{source}/sync-runs"


@pytest.mark.parametrize("reader", ["admin", "staff", "limited"])
def test_staff_read_the_runs_of_a_data_source_they_see_newest_first(
    login: Login, runs: Runs, reader: str
) -> None:
    assert ids(login(reader), _path(runs.acme)) == runs.acme_runs[::-1]


def test_a_run_says_what_it_imported_or_why_it_failed(login: Login, runs: Runs) -> None:
    found = items(login("admin"), _path(runs.acme), outcome="failed")

    (run,) = found
    assert run["trigger"] == "manual" and run["days_imported"] == 0
    assert run["error_class"] == "provider_unavailable"
    assert run["error_detail"] == "503 Service Unavailable"
    assert (run["date_from"], run["date_to"]) == ("2026-11-01", "2026-11-03")
    assert "owner" not in run


def test_runs_filter_by_trigger(login: Login, runs: Runs) -> None:
    assert ids(login("admin"), _path(runs.acme), trigger="backfill") == [runs.acme_runs[2]]


def test_limited_staff_get_404_for_a_data_source_they_do_not_see(login: Login, runs: Runs) -> None:
    limited = login("limited")

    assert not_found_alike(limited.get(_path(runs.bluebird)), limited.get(_path(999999)))


def test_another_agencys_admin_gets_404(login: Login, runs: Runs, outsider: Outsider) -> None:
    other = login(OUTSIDER_EMAIL)

    assert not_found_alike(other.get(_path(runs.acme)), other.get(_path(999999)))


def test_a_client_login_is_not_told_why_its_own_data_source_failed(
    login: Login, runs: Runs
) -> None:
    answer = login("client").get(_path(runs.acme))

    assert answer.status_code == 403
    assert "503" not in answer.text


def test_pages_follow_the_cursor_without_gaps_or_repeats(login: Login, runs: Runs) -> None:
    assert ids(login("admin"), _path(runs.acme), limit=1) == runs.acme_runs[::-1]


def test_an_id_past_what_a_row_can_hold_is_refused(login: Login, runs: Runs) -> None:
    assert login("admin").get(_path(2**63)).status_code == 422
