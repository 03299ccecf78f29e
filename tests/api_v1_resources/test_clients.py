"""/api/v1/clients: the clients each reader may see, and what each is told of their health."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import CLIENT_NAMES
from relink.models import DataSource
from relink.status import DataSourceStatus
from tests.api_v1_resources.conftest import OUTSIDER_EMAIL, Outsider, items, not_found_alike
from tests.fixtures.demo import Demo

Login = Callable[[str], httpx.Client]


def _names(client: httpx.Client, **params: object) -> list[str]:
    return [c["name"] for c in items(client, "/api/v1/clients", **params)]


def test_an_admin_lists_every_client_by_name(login: Login, demo: Demo) -> None:
    assert _names(login("admin")) == sorted(CLIENT_NAMES)


def test_staff_with_every_client_list_every_client(login: Login, demo: Demo) -> None:
    assert _names(login("staff")) == sorted(CLIENT_NAMES)


def test_limited_staff_list_only_their_chosen_clients(login: Login, demo: Demo) -> None:
    assert _names(login("limited")) == ["Acme Dental", "Juniper Florist"]


def test_a_client_login_lists_only_its_own_client(login: Login, demo: Demo) -> None:
    assert _names(login("client")) == ["Acme Dental"]


def test_another_agencys_admin_lists_only_its_own(
    login: Login, demo: Demo, outsider: Outsider
) -> None:
    assert _names(login(OUTSIDER_EMAIL)) == ["Zephyr Outside"]


def test_clients_pages_follow_the_cursor_by_name(login: Login, demo: Demo) -> None:
    assert _names(login("admin"), limit=5) == sorted(CLIENT_NAMES)


def test_clients_are_found_by_part_of_their_name(login: Login, demo: Demo) -> None:
    assert _names(login("admin"), q="FLOR") == ["Juniper Florist"]


async def test_staff_are_told_a_clients_statuses_and_since_when_data_is_missing(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    acme = demo.client_named("Acme Dental")
    await session.execute(
        update(DataSource)
        .where(DataSource.client_id == acme.id)
        .values(status=DataSourceStatus.DISCONNECTED)
    )
    await session.commit()

    client = login("staff").get(f"/api/v1/clients/{acme.id}").json()

    assert client["freshness"] == "delayed" and client["missing_since"]
    assert client["status_counts"]["disconnected"] == 1
    assert client["data_source_count"] == 1


async def test_a_client_login_is_told_its_data_is_delayed_never_why(
    login: Login, demo: Demo, session: AsyncSession
) -> None:
    acme = demo.client_named("Acme Dental")
    await session.execute(
        update(DataSource)
        .where(DataSource.client_id == acme.id)
        .values(status=DataSourceStatus.DISCONNECTED)
    )
    await session.commit()

    answer = login("client").get(f"/api/v1/clients/{acme.id}")

    client = answer.json()
    assert client["freshness"] == "delayed" and client["status_counts"] is None
    assert "disconnected" not in answer.text


def test_a_client_outside_the_scope_answers_like_a_missing_one(login: Login, demo: Demo) -> None:
    limited = login("limited")
    bluebird = demo.client_named("Bluebird Bakery").id

    assert not_found_alike(
        limited.get(f"/api/v1/clients/{bluebird}"), limited.get("/api/v1/clients/999999")
    )


def test_a_client_login_cannot_read_another_client(login: Login, demo: Demo) -> None:
    client = login("client")
    juniper = demo.client_named("Juniper Florist").id

    assert not_found_alike(
        client.get(f"/api/v1/clients/{juniper}"), client.get("/api/v1/clients/999999")
    )


def test_another_agencys_client_is_not_found(login: Login, demo: Demo, outsider: Outsider) -> None:
    admin = login("admin")

    assert not_found_alike(
        admin.get(f"/api/v1/clients/{outsider.client_id}"), admin.get("/api/v1/clients/999999")
    )


@pytest.mark.parametrize(
    "key",
    [
        '["Acme\\u0000", 1]',  # a NUL: no database takes it in a string
        '["\\ud800", 1]',  # a lone surrogate: not text UTF-8 can write
        "[1, 1]",  # a number where the name goes
        '["Acme", 0]',  # no row has id 0
    ],
)
def test_a_name_cursor_not_made_by_the_list_is_refused(login: Login, demo: Demo, key: str) -> None:
    cursor = base64.urlsafe_b64encode(key.encode()).decode()

    answer = login("admin").get("/api/v1/clients", params={"cursor": cursor})

    assert answer.status_code == 422
    assert "start again from the first page" in answer.json()["detail"]
