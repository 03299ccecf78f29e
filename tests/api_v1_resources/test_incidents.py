"""/api/v1/incidents: who is told what (DESIGN.md), paging, filters, how found, who repaired."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.incidents.service import data_source_key, grant_key, open_or_extend, provider_key
from relink.incidents.service import resolve as resolve_incidents
from relink.models import DataSource
from relink.models.base import utcnow
from relink.providers.taxonomy import ErrorClass
from tests.api_v1_resources.conftest import OUTSIDER_EMAIL, Outsider, ids, items, not_found_alike
from tests.fixtures.demo import Demo

Login = Callable[[str], httpx.Client]


@dataclass(frozen=True)
class Seeded:
    shared_grant: int  # the manager grant's incident: 8 clients, Acme among them
    bluebird: int  # one data source of Bluebird Bakery (limited staff do not see it)
    operations: int  # our registration at the provider: admins only
    repaired: int  # Acme's data source incident, resolved by the admin


async def _sources_of(session: AsyncSession, demo: Demo, name: str) -> list[DataSource]:
    client = demo.client_named(name)
    return list(
        await session.scalars(
            select(DataSource).where(DataSource.client_id == client.id).order_by(DataSource.id)
        )
    )


@pytest.fixture
async def seeded(session: AsyncSession, demo: Demo) -> Seeded:
    now = utcnow()
    on_shared = list(
        await session.scalars(
            select(DataSource.id).where(DataSource.grant_id == demo.shared_grant_id)
        )
    )
    grant = await open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=grant_key(demo.shared_grant_id, ErrorClass.AUTH_REVOKED),
        error_class=ErrorClass.AUTH_REVOKED,
        provider="sandbox",
        now=now,
        grant_id=demo.shared_grant_id,
        data_source_ids=on_shared,
        detected_via="signal",
        evidence_at=now - timedelta(seconds=3),
    )
    (bluebird,) = await _sources_of(session, demo, "Bluebird Bakery")
    one = await open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=data_source_key(bluebird.id, ErrorClass.PERMISSION_DENIED),
        error_class=ErrorClass.PERMISSION_DENIED,
        provider="sandbox",
        now=now,
        data_source_id=bluebird.id,
        detected_via="import",
    )
    ops = await open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=provider_key("sandbox", ErrorClass.APP_MISCONFIGURED),
        error_class=ErrorClass.APP_MISCONFIGURED,
        provider="sandbox",
        now=now,
        detected_via="refresh",
    )
    (acme,) = await _sources_of(session, demo, "Acme Dental")
    key = data_source_key(acme.id, ErrorClass.DATA_ERROR)
    fixed = await open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=key,
        error_class=ErrorClass.DATA_ERROR,
        provider="sandbox",
        now=now,
        data_source_id=acme.id,
        detected_via="import",
    )
    await resolve_incidents(
        session, agency_id=demo.agency.id, keys=[key], now=now, by=f"user:{demo.admin.id}"
    )
    await session.commit()
    return Seeded(grant.incident.id, one.incident.id, ops.incident.id, fixed.incident.id)


def test_an_admin_sees_every_incident_of_the_agency_newest_first(
    login: Login, seeded: Seeded
) -> None:
    found = ids(login("admin"), "/api/v1/incidents")

    assert found == [seeded.repaired, seeded.operations, seeded.bluebird, seeded.shared_grant]


def test_staff_with_every_client_are_not_told_of_operations_alerts(
    login: Login, seeded: Seeded
) -> None:
    found = ids(login("staff"), "/api/v1/incidents")

    assert found == [seeded.repaired, seeded.bluebird, seeded.shared_grant]


def test_limited_staff_see_the_incidents_of_their_clients_naming_only_those(
    login: Login, seeded: Seeded
) -> None:
    found = items(login("limited"), "/api/v1/incidents")

    assert [i["id"] for i in found] == [seeded.repaired, seeded.shared_grant]
    shared = found[1]
    assert [c["name"] for c in shared["clients"]] == ["Acme Dental"]
    assert shared["affected_client_count"] == 1
    assert shared["affected_data_source_count"] == 1


def test_a_client_login_is_told_no_incident_exists(login: Login, seeded: Seeded) -> None:
    client = login("client")

    assert client.get("/api/v1/incidents").status_code == 404
    assert not_found_alike(
        client.get(f"/api/v1/incidents/{seeded.repaired}"),
        client.get("/api/v1/incidents/999999"),
    )


def test_an_incident_outside_the_scope_answers_like_a_missing_one(
    login: Login, seeded: Seeded
) -> None:
    limited = login("limited")

    hidden = limited.get(f"/api/v1/incidents/{seeded.bluebird}")
    missing = limited.get("/api/v1/incidents/999999")

    assert not_found_alike(hidden, missing)
    assert "Bluebird" not in hidden.text
    assert limited.get(f"/api/v1/incidents/{seeded.bluebird}/data-sources").status_code == 404


def test_another_agencys_admin_sees_none_of_ours(
    login: Login, seeded: Seeded, outsider: Outsider
) -> None:
    other = login(OUTSIDER_EMAIL)

    assert ids(other, "/api/v1/incidents") == []
    assert not_found_alike(
        other.get(f"/api/v1/incidents/{seeded.shared_grant}"),
        other.get("/api/v1/incidents/999999"),
    )


def test_an_incident_says_how_it_was_found_and_whom_it_touches(
    login: Login, seeded: Seeded
) -> None:
    answer = login("admin").get(f"/api/v1/incidents/{seeded.shared_grant}")

    incident = answer.json()
    assert answer.status_code == 200
    assert incident["state"] == "open" and incident["kind"] == "reconnect_needed"
    assert incident["detected_via"] == "signal"
    assert incident["seconds_to_detection"] == pytest.approx(3.0)
    assert incident["affected_client_count"] == 8
    assert incident["clients"][0] == {
        "id": incident["clients"][0]["id"],
        "name": "Acme Dental",
        "data_source_count": 1,
    }


def test_a_repaired_incident_names_who_repaired_it(
    login: Login, seeded: Seeded, demo: Demo
) -> None:
    incident = login("staff").get(f"/api/v1/incidents/{seeded.repaired}").json()

    assert incident["state"] == "resolved" and incident["resolved_at"]
    assert incident["resolved_by"] == f"user:{demo.admin.id}"
    assert incident["resolved_by_user"] == {"id": demo.admin.id, "name": "Ada Admin"}


@pytest.mark.parametrize(
    ("state", "expected"),
    [("open", ["operations", "bluebird", "shared_grant"]), ("resolved", ["repaired"])],
)
def test_incidents_filter_by_open_or_resolved(
    login: Login, seeded: Seeded, state: str, expected: list[str]
) -> None:
    found = ids(login("admin"), "/api/v1/incidents", state=state)

    assert found == [getattr(seeded, name) for name in expected]


async def test_incidents_filter_by_client_data_source_and_grant(
    login: Login, seeded: Seeded, demo: Demo, session: AsyncSession
) -> None:
    admin = login("admin")
    (acme,) = await _sources_of(session, demo, "Acme Dental")

    by_client = ids(admin, "/api/v1/incidents", client_id=demo.client_named("Acme Dental").id)
    by_source = ids(admin, "/api/v1/incidents", data_source_id=acme.id)
    by_grant = ids(admin, "/api/v1/incidents", grant_id=demo.shared_grant_id)
    by_other_grant = ids(admin, "/api/v1/incidents", grant_id=demo.second_grant_id)

    assert by_client == by_source == [seeded.repaired, seeded.shared_grant]
    # Bluebird's data source is on the shared grant too.
    assert by_grant == [seeded.repaired, seeded.bluebird, seeded.shared_grant]
    assert by_other_grant == []


def test_limited_staff_cannot_find_an_incident_by_a_client_they_do_not_see(
    login: Login, seeded: Seeded, demo: Demo
) -> None:
    found = ids(
        login("limited"), "/api/v1/incidents", client_id=demo.client_named("Bluebird Bakery").id
    )

    assert found == []


def test_pages_follow_the_cursor_without_gaps_or_repeats(login: Login, seeded: Seeded) -> None:
    admin = login("admin")
    everything = ids(admin, "/api/v1/incidents")

    paged = ids(admin, "/api/v1/incidents", limit=1)

    assert paged == everything and len(paged) == 4


def test_an_incidents_data_sources_are_paged_and_scoped(login: Login, seeded: Seeded) -> None:
    path = f"/api/v1/incidents/{seeded.shared_grant}/data-sources"

    every = items(login("admin"), path, limit=3)
    limited = items(login("limited"), path)

    assert len(every) == 8 and len({s["id"] for s in every}) == 8
    assert [s["client_name"] for s in limited] == ["Acme Dental"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0=", "WzBd", "WzEsMl0="])
def test_a_cursor_not_made_by_the_list_is_refused(
    login: Login, seeded: Seeded, cursor: str
) -> None:
    answer = login("admin").get("/api/v1/incidents", params={"cursor": cursor})

    assert answer.status_code == 422
    assert "start again from the first page" in answer.text


@pytest.mark.parametrize("limit", [0, 201])
def test_a_limit_out_of_bounds_is_refused(login: Login, seeded: Seeded, limit: int) -> None:
    assert login("admin").get("/api/v1/incidents", params={"limit": limit}).status_code == 422
