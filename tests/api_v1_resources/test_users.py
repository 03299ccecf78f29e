"""/api/v1/users: the agency's people and their access, for admins only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.incidents.service import data_source_key, open_or_extend
from relink.models import DataSource, Notification, Role, User, UserClientAccess
from relink.models.base import utcnow
from relink.providers.taxonomy import ErrorClass
from tests.api_v1_resources.conftest import OUTSIDER_EMAIL, Outsider, items, not_found_alike
from tests.fixtures.demo import Demo

Login = Callable[[str], httpx.Client]


def _access(client: httpx.Client, user_id: int, **body: Any) -> httpx.Response:
    return client.put(f"/api/v1/users/{user_id}/access", json=body)


def test_an_admin_lists_the_agencys_users_by_name_with_their_access(
    login: Login, demo: Demo
) -> None:
    found = items(login("admin"), "/api/v1/users", limit=2)

    assert [u["name"] for u in found] == ["Ada Admin", "Casey Client", "Lee Limited", "Sam Staff"]
    limited = found[2]
    assert limited["sees_all_clients"] is False
    assert [c["name"] for c in limited["clients"]] == ["Acme Dental", "Juniper Florist"]
    assert [c["name"] for c in found[1]["clients"]] == ["Acme Dental"]
    assert "password_hash" not in str(found)


def test_users_filter_by_role(login: Login, demo: Demo) -> None:
    found = items(login("admin"), "/api/v1/users", role="staff")

    assert [u["name"] for u in found] == ["Lee Limited", "Sam Staff"]


@pytest.mark.parametrize("reader", ["staff", "limited", "client"])
def test_only_admins_see_the_users(login: Login, demo: Demo, reader: str) -> None:
    answer = login(reader).get("/api/v1/users")

    assert answer.status_code == 403


def test_another_agencys_admin_sees_only_its_own_users(
    login: Login, demo: Demo, outsider: Outsider
) -> None:
    other = login(OUTSIDER_EMAIL)

    assert [u["name"] for u in items(other, "/api/v1/users")] == ["Otto Outsider"]
    assert not_found_alike(
        other.get(f"/api/v1/users/{demo.admin.id}"), other.get("/api/v1/users/999999")
    )
    assert _access(other, demo.staff.id, all_clients=True).status_code == 404


async def test_an_admin_gives_staff_a_chosen_list_of_clients(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    bluebird = demo.client_named("Bluebird Bakery").id

    answer = _access(login("admin"), demo.staff.id, client_ids=[bluebird])

    assert answer.status_code == 200, answer.text
    assert answer.json()["sees_all_clients"] is False
    assert [c["name"] for c in answer.json()["clients"]] == ["Bluebird Bakery"]
    chosen = set(
        await session.scalars(
            select(UserClientAccess.client_id).where(UserClientAccess.user_id == demo.staff.id)
        )
    )
    assert chosen == {bluebird}


def test_the_new_access_is_the_one_the_staff_user_reads_with(login: Login, demo: Demo) -> None:
    juniper = demo.client_named("Juniper Florist").id
    _access(login("admin"), demo.staff.id, client_ids=[juniper])

    names = [c["name"] for c in items(login("staff"), "/api/v1/clients")]

    assert names == ["Juniper Florist"]


def test_an_admin_gives_limited_staff_every_client(login: Login, demo: Demo) -> None:
    answer = _access(login("admin"), demo.limited.id, all_clients=True)

    assert answer.json()["sees_all_clients"] is True and answer.json()["clients"] == []
    assert len(items(login("limited"), "/api/v1/clients")) == 12


def test_an_admin_makes_staff_an_admin(login: Login, demo: Demo) -> None:
    answer = _access(login("admin"), demo.limited.id, role="admin")

    assert answer.json()["role"] == "admin" and answer.json()["clients"] == []
    assert login("limited").get("/api/v1/users").status_code == 200


def test_an_admin_cannot_change_their_own_role(login: Login, demo: Demo) -> None:
    answer = _access(login("admin"), demo.admin.id, role="staff", all_clients=True)

    assert answer.status_code == 422
    assert "your own role" in answer.json()["detail"]


def test_a_client_login_keeps_its_role(login: Login, demo: Demo) -> None:
    answer = _access(login("admin"), demo.client_user.id, role="staff", all_clients=True)

    assert answer.status_code == 422
    assert "client login keeps its role" in answer.json()["detail"]


async def test_a_refused_change_writes_nothing(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    limited_id = demo.limited.id

    answer = _access(login("admin"), limited_id, role="admin", client_ids=[999999])

    assert answer.status_code == 422
    session.expire_all()
    assert (await session.get(User, limited_id)).role is Role.STAFF  # type: ignore[union-attr]
    chosen = set(
        await session.scalars(
            select(UserClientAccess.client_id).where(UserClientAccess.user_id == limited_id)
        )
    )
    assert len(chosen) == 2


def test_an_unknown_client_is_refused_naming_it(login: Login, demo: Demo) -> None:
    answer = _access(login("admin"), demo.limited.id, client_ids=[999999])

    assert answer.status_code == 422 and "999999" in answer.json()["detail"]


def test_an_empty_change_is_refused_saying_what_to_give(login: Login, demo: Demo) -> None:
    answer = _access(login("admin"), demo.staff.id)

    assert answer.status_code == 422
    assert "all_clients or client_ids" in answer.json()["detail"]


def test_staff_cannot_change_anyones_access(login: Login, demo: Demo) -> None:
    assert _access(login("staff"), demo.limited.id, all_clients=True).status_code == 403


async def test_a_staff_user_given_a_client_is_told_of_what_is_already_broken(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    bluebird = demo.client_named("Bluebird Bakery").id
    source = await session.scalar(select(DataSource).where(DataSource.client_id == bluebird))
    assert source is not None
    await open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=data_source_key(source.id, ErrorClass.PERMISSION_DENIED),
        error_class=ErrorClass.PERMISSION_DENIED,
        provider="sandbox",
        now=utcnow(),
        data_source_id=source.id,
    )
    await session.commit()

    _access(login("admin"), demo.limited.id, client_ids=[bluebird])

    told = await session.scalar(
        select(Notification.id).where(Notification.user_id == demo.limited.id)
    )
    assert told is not None


async def test_a_deactivated_user_can_no_longer_read(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    staff, staff_id = login("staff"), demo.staff.id

    answer = login("admin").post(f"/api/v1/users/{staff_id}/deactivate")

    assert answer.status_code == 200 and answer.json()["active"] is False
    assert staff.get("/api/v1/clients").status_code == 401
    session.expire_all()
    user = await session.get(User, staff_id)
    assert user is not None and user.is_active is False


def test_an_admin_cannot_deactivate_themselves(login: Login, demo: Demo) -> None:
    answer = login("admin").post(f"/api/v1/users/{demo.admin.id}/deactivate")

    assert answer.status_code == 422
