"""/api/v1/events: the audit history, as each reader may see it, filtered and paged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.events.service import record
from relink.models import DataSource, Event
from tests.api_v1_resources.conftest import OUTSIDER_EMAIL, Outsider, ids, items
from tests.fixtures.demo import Demo

Login = Callable[[str], httpx.Client]
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class History:
    acme_source: int
    bluebird_source: int
    acme_paused: int  # by Sam Staff, Monday 09:00
    bluebird_failed: int  # by the sweep, Monday 10:00
    shared_authorized: int  # the shared grant, naming Acme's and Bluebird's sources, 11:00
    second_refreshed: int  # the second grant (Juniper's), 12:00
    agency_setting: int  # about the agency itself: admins only, 13:00


async def _source_of(session: AsyncSession, demo: Demo, name: str) -> int:
    client_id = demo.client_named(name).id
    found = await session.scalar(
        select(DataSource.id).where(DataSource.client_id == client_id).order_by(DataSource.id)
    )
    assert found is not None
    return found


async def _at(session: AsyncSession, event: Event, hour: int) -> int:
    event.at = MONDAY.replace(hour=hour)
    await session.flush()
    return event.id


@pytest.fixture
async def history(session: AsyncSession, demo: Demo) -> History:
    agency = demo.agency.id
    acme = await _source_of(session, demo, "Acme Dental")
    bluebird = await _source_of(session, demo, "Bluebird Bakery")
    paused = await record(
        session,
        agency_id=agency,
        actor=f"user:{demo.staff.id}",
        subject_type="data_source",
        subject_id=acme,
        action="status_changed",
        from_status="connected",
        to_status="paused",
        reason="paused by a user",
    )
    failed = await record(
        session,
        agency_id=agency,
        actor="system:sweep",
        subject_type="data_source",
        subject_id=bluebird,
        action="status_changed",
        from_status="connected",
        to_status="failing",
    )
    authorized = await record(
        session,
        agency_id=agency,
        actor=f"user:{demo.admin.id}",
        subject_type="grant",
        subject_id=demo.shared_grant_id,
        action="authorized",
        details={"purpose": "reconnect", "reconnected": [acme, bluebird], "unreachable": []},
    )
    refreshed = await record(
        session,
        agency_id=agency,
        actor="system:refresh",
        subject_type="grant",
        subject_id=demo.second_grant_id,
        action="refreshed",
    )
    setting = await record(
        session,
        agency_id=agency,
        actor=f"user:{demo.admin.id}",
        subject_type="agency",
        subject_id=agency,
        action="settings_changed",
    )
    history = History(
        acme,
        bluebird,
        await _at(session, paused, 9),
        await _at(session, failed, 10),
        await _at(session, authorized, 11),
        await _at(session, refreshed, 12),
        await _at(session, setting, 13),
    )
    await session.commit()
    return history


def test_an_admin_reads_the_whole_history_newest_first(login: Login, history: History) -> None:
    found = ids(login("admin"), "/api/v1/events")

    assert found == [
        history.agency_setting,
        history.second_refreshed,
        history.shared_authorized,
        history.bluebird_failed,
        history.acme_paused,
    ]


def test_staff_with_every_client_read_every_data_source_and_grant_event(
    login: Login, history: History
) -> None:
    found = ids(login("staff"), "/api/v1/events")

    assert history.agency_setting not in found and len(found) == 4


def test_limited_staff_read_only_their_data_sources_and_the_grants_serving_them(
    login: Login, history: History
) -> None:
    found = ids(login("limited"), "/api/v1/events")

    assert found == [history.second_refreshed, history.shared_authorized, history.acme_paused]


def test_limited_staff_see_only_their_data_sources_named_in_a_grants_event(
    login: Login, history: History
) -> None:
    (event,) = items(login("limited"), "/api/v1/events", action="authorized")

    assert event["details"]["reconnected"] == [history.acme_source]
    assert event["details"]["purpose"] == "reconnect"


def test_an_admin_sees_every_data_source_named_in_a_grants_event(
    login: Login, history: History
) -> None:
    (event,) = items(login("admin"), "/api/v1/events", action="authorized")

    assert event["details"]["reconnected"] == [history.acme_source, history.bluebird_source]


def test_a_client_login_has_no_history(login: Login, history: History) -> None:
    assert login("client").get("/api/v1/events").status_code == 404


def test_another_agencys_admin_reads_none_of_ours(
    login: Login, history: History, outsider: Outsider
) -> None:
    other = login(OUTSIDER_EMAIL)

    assert ids(other, "/api/v1/events") == []
    assert ids(other, "/api/v1/events", data_source_id=history.acme_source) == []


def test_an_event_names_the_person_who_acted(login: Login, history: History, demo: Demo) -> None:
    (event,) = items(login("admin"), "/api/v1/events", data_source_id=history.acme_source)

    assert event["actor"] == f"user:{demo.staff.id}"
    assert event["actor_user"] == {"id": demo.staff.id, "name": "Sam Staff"}
    assert event["data_source_id"] == history.acme_source and event["grant_id"] is None
    assert (event["from_status"], event["to_status"]) == ("connected", "paused")


def test_the_history_filters_by_data_source(login: Login, history: History) -> None:
    found = ids(login("admin"), "/api/v1/events", data_source_id=history.bluebird_source)

    assert found == [history.bluebird_failed]


def test_a_grants_history_holds_its_own_events_and_its_data_sources(
    login: Login, history: History, demo: Demo
) -> None:
    found = ids(login("admin"), "/api/v1/events", grant_id=demo.shared_grant_id)

    assert found == [history.shared_authorized, history.bluebird_failed, history.acme_paused]


def test_the_history_filters_by_actor(login: Login, history: History) -> None:
    found = ids(login("admin"), "/api/v1/events", actor="system:sweep")

    assert found == [history.bluebird_failed]


def test_the_history_filters_by_a_time_range_since_inclusive_until_exclusive(
    login: Login, history: History
) -> None:
    found = ids(
        login("admin"),
        "/api/v1/events",
        since="2026-11-02T10:00:00Z",
        until="2026-11-02T12:00:00+00:00",
    )

    assert found == [history.shared_authorized, history.bluebird_failed]


def test_a_time_in_another_offset_means_the_same_instant(login: Login, history: History) -> None:
    # 13:00 in UTC+1 is 12:00 UTC: the 12:00 event is in, the 11:00 one is not.
    found = ids(login("admin"), "/api/v1/events", since="2026-11-02T13:00:00+01:00")

    assert found == [history.agency_setting, history.second_refreshed]


@pytest.mark.parametrize("since", ["2026-11-02T10:00:00", "yesterday", "0001-01-01T00:00:00+14:00"])
def test_a_time_without_offset_or_out_of_range_is_refused(
    login: Login, history: History, since: str
) -> None:
    answer = login("admin").get("/api/v1/events", params={"since": since})

    assert answer.status_code == 422


def test_pages_follow_the_cursor_without_gaps_or_repeats(login: Login, history: History) -> None:
    admin = login("admin")

    assert ids(admin, "/api/v1/events", limit=2) == ids(admin, "/api/v1/events")
