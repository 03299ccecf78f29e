"""/api/v1/grants: the list, the clients on a grant, and its client reconnect links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.links import LinkUnusable, create_link, usable_link
from relink.models import Event, ReconnectLink
from relink.models.base import utcnow
from relink.status import DataSourceStatus
from relink.status_writer import transition_many
from tests.api_v1_resources.conftest import OUTSIDER_EMAIL, Outsider, ids, items, not_found_alike
from tests.fixtures.demo import Demo, data_sources_of

Login = Callable[[str], httpx.Client]
# The demo: two shared OAuth grants (8 and 3 clients) and four API-key grants, one each.
EVERY_GRANT = 6


def test_an_admin_lists_every_grant_by_id(login: Login, demo: Demo) -> None:
    found = items(login("admin"), "/api/v1/grants")

    assert [g["id"] for g in found] == sorted(g["id"] for g in found)
    assert len(found) == EVERY_GRANT
    shared = next(g for g in found if g["id"] == demo.shared_grant_id)
    assert shared["identity"] == "manager@sandbox.test" and shared["status"] == "active"
    assert shared["data_source_count"] == 8 and shared["disconnected_count"] == 0


async def test_the_counts_follow_a_status_change_at_once(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    # given: the counts were read (and are kept) before the shared grant's sources went down
    admin, limited = login("admin"), login("limited")
    before = [_shared(admin, demo), _shared(limited, demo)]
    sources = [s.id for s in await data_sources_of(session, demo.shared_grant_id)]
    await transition_many(
        session, sources, to=DataSourceStatus.DISCONNECTED, actor="test", now=utcnow()
    )
    await session.commit()

    # when / then: the very next list counts them, for every scope
    assert [b["disconnected_count"] for b in before] == [0, 0]
    assert _shared(admin, demo)["disconnected_count"] == 8
    assert _shared(limited, demo)["disconnected_count"] == 1


def _shared(client: httpx.Client, demo: Demo) -> dict[str, object]:
    return next(g for g in items(client, "/api/v1/grants") if g["id"] == demo.shared_grant_id)


def test_staff_with_every_client_list_every_grant(login: Login, demo: Demo) -> None:
    assert len(ids(login("staff"), "/api/v1/grants")) == EVERY_GRANT


def test_limited_staff_list_the_grants_of_their_clients_counting_only_theirs(
    login: Login, demo: Demo
) -> None:
    found = items(login("limited"), "/api/v1/grants")

    # Acme Dental's shared grant; Juniper Florist's second grant and its API key.
    assert len(found) == 3
    shared = next(g for g in found if g["id"] == demo.shared_grant_id)
    assert shared["data_source_count"] == 1


def test_a_client_login_is_told_no_grant_exists(login: Login, demo: Demo) -> None:
    client = login("client")

    assert client.get("/api/v1/grants").status_code == 404
    assert not_found_alike(
        client.get(f"/api/v1/grants/{demo.shared_grant_id}/clients"),
        client.get("/api/v1/grants/999999/clients"),
    )


def test_another_agencys_admin_lists_none_of_ours(
    login: Login, demo: Demo, outsider: Outsider
) -> None:
    other = login(OUTSIDER_EMAIL)

    assert ids(other, "/api/v1/grants") == []
    assert not_found_alike(
        other.get(f"/api/v1/grants/{demo.shared_grant_id}/clients"),
        other.get("/api/v1/grants/999999/clients"),
    )


def test_grants_filter_by_kind_of_sign_in(login: Login, demo: Demo) -> None:
    found = ids(login("admin"), "/api/v1/grants", auth_kind="oauth2")

    assert found == [demo.shared_grant_id, demo.second_grant_id]


def test_grants_pages_follow_the_cursor(login: Login, demo: Demo) -> None:
    admin = login("admin")

    assert ids(admin, "/api/v1/grants", limit=4) == ids(admin, "/api/v1/grants")


def test_a_grants_clients_are_listed_by_name_across_pages(login: Login, demo: Demo) -> None:
    found = items(login("staff"), f"/api/v1/grants/{demo.shared_grant_id}/clients", limit=3)

    names = [c["name"] for c in found]
    assert names == sorted(names) and len(names) == 8
    assert names[0] == "Acme Dental" and found[0]["data_source_count"] == 1


def test_limited_staff_see_only_their_clients_on_a_shared_grant(login: Login, demo: Demo) -> None:
    found = items(login("limited"), f"/api/v1/grants/{demo.shared_grant_id}/clients")

    assert [c["name"] for c in found] == ["Acme Dental"]


def test_a_grant_limited_staff_do_not_see_answers_like_a_missing_one(
    login: Login, demo: Demo
) -> None:
    limited = login("limited")
    admin_ids = set(ids(login("admin"), "/api/v1/grants"))
    hidden = sorted(admin_ids - set(ids(limited, "/api/v1/grants")))[0]

    assert not_found_alike(
        limited.get(f"/api/v1/grants/{hidden}/clients"),
        limited.get("/api/v1/grants/999999/clients"),
    )


@pytest.fixture
async def link_id(session: AsyncSession, demo: Demo) -> int:
    link, _ = await create_link(
        session, user=demo.admin, grant_id=demo.shared_grant_id, now=utcnow(), note="for Acme"
    )
    await session.commit()
    return link.id


def test_an_admin_lists_a_grants_reconnect_links_without_their_address(
    login: Login, demo: Demo, link_id: int
) -> None:
    (link,) = items(login("admin"), f"/api/v1/grants/{demo.shared_grant_id}/reconnect-links")

    assert link["id"] == link_id and link["state"] == "usable"
    assert link["note"] == "for Acme" and link["created_by_name"] == "Ada Admin"
    assert "url" not in link and "token" not in str(link)


async def test_an_admin_withdraws_a_reconnect_link_and_it_opens_nothing(
    login: Login, demo: Demo, link_id: int, session: AsyncSession
) -> None:
    path = f"/api/v1/grants/{demo.shared_grant_id}/reconnect-links"

    answer = login("admin").delete(f"{path}/{link_id}")

    assert answer.status_code == 204
    link = await session.get(ReconnectLink, link_id)
    assert link is not None and link.revoked_at is not None
    (listed,) = items(login("admin"), path)
    assert listed["state"] == "revoked"
    recorded = await session.scalar(
        select(Event.action).where(Event.action == "reconnect_link_revoked")
    )
    assert recorded == "reconnect_link_revoked"


async def test_a_withdrawn_link_is_refused_when_opened(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    link, token = await create_link(
        session, user=demo.admin, grant_id=demo.shared_grant_id, now=utcnow()
    )
    await session.commit()

    login("admin").delete(f"/api/v1/grants/{demo.shared_grant_id}/reconnect-links/{link.id}")

    session.expire_all()
    with pytest.raises(LinkUnusable, match="withdrawn"):
        await usable_link(session, token=token, now=utcnow())


def test_withdrawing_a_link_twice_changes_nothing(login: Login, demo: Demo, link_id: int) -> None:
    admin = login("admin")
    path = f"/api/v1/grants/{demo.shared_grant_id}/reconnect-links/{link_id}"

    assert admin.delete(path).status_code == 204
    assert admin.delete(path).status_code == 204


async def test_a_used_link_cannot_be_withdrawn(
    login: Login, demo: Demo, link_id: int, session: AsyncSession
) -> None:
    link = await session.get(ReconnectLink, link_id)
    assert link is not None
    link.used_at = utcnow() - timedelta(minutes=1)
    await session.commit()

    answer = login("admin").delete(
        f"/api/v1/grants/{demo.shared_grant_id}/reconnect-links/{link_id}"
    )

    assert answer.status_code == 409
    assert "already used" in answer.json()["detail"]


def test_staff_cannot_withdraw_a_link(login: Login, demo: Demo, link_id: int) -> None:
    answer = login("staff").delete(
        f"/api/v1/grants/{demo.shared_grant_id}/reconnect-links/{link_id}"
    )

    assert answer.status_code == 403


def test_a_link_of_another_grant_is_not_found_under_this_one(
    login: Login, demo: Demo, link_id: int
) -> None:
    admin = login("admin")

    hidden = admin.delete(f"/api/v1/grants/{demo.second_grant_id}/reconnect-links/{link_id}")
    missing = admin.delete(f"/api/v1/grants/{demo.second_grant_id}/reconnect-links/999999")

    assert not_found_alike(hidden, missing)


def test_another_agencys_admin_cannot_withdraw_our_link(
    login: Login, demo: Demo, link_id: int, outsider: Outsider
) -> None:
    answer = login(OUTSIDER_EMAIL).delete(
        f"/api/v1/grants/{demo.shared_grant_id}/reconnect-links/{link_id}"
    )

    assert answer.status_code == 404
