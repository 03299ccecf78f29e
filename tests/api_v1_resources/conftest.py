"""The v1 resources over real HTTP: the demo agency's five kinds of reader, and an outsider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.clients.service import create_client
from relink.demo import DEMO_PASSWORD
from relink.models import Agency, Role
from relink.users.service import create_user
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo

OUTSIDER_EMAIL = "admin@other.agency.test"
# The demo's readers: who they are and what DESIGN.md lets them see.
READERS = ("admin", "staff", "limited", "client")


@dataclass(frozen=True)
class Outsider:
    """Another agency, with its own admin and client: nothing of it crosses to the demo."""

    agency_id: int
    client_id: int
    admin_id: int


@pytest.fixture
async def outsider(session: AsyncSession, demo: Demo) -> Outsider:
    agency = Agency(name="Other Agency", slug="other-agency")
    session.add(agency)
    await session.flush()
    client = await create_client(session, agency_id=agency.id, name="Zephyr Outside")
    admin = await create_user(
        session,
        agency_id=agency.id,
        email=OUTSIDER_EMAIL,
        name="Otto Outsider",
        password=DEMO_PASSWORD,
        role=Role.ADMIN,
        now=demo.agency.created_at,
    )
    await session.commit()
    return Outsider(agency_id=agency.id, client_id=client.id, admin_id=admin.id)


@pytest.fixture
def login(app_url: str) -> Callable[[str], httpx.Client]:
    """A signed-in client sending the CSRF token: a demo reader by name, or an e-mail."""

    def sign_in(who: str) -> httpx.Client:
        email = who if "@" in who else f"{who}@demo.relink.test"
        return signed_in(app_url, email, DEMO_PASSWORD)

    return sign_in


def items(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a v1 list, following its cursors (asserting each page answers 200)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = client.get(path, params=query)
        assert answer.status_code == 200, answer.text
        found += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return found


def ids(client: httpx.Client, path: str, **params: Any) -> list[int]:
    return [int(item["id"]) for item in items(client, path, **params)]


def not_found_alike(first: httpx.Response, second: httpx.Response) -> bool:
    """Two answers a caller cannot tell apart: 404, the same code and words."""
    a, b = first.json(), second.json()
    return (
        first.status_code == second.status_code == 404
        and a.get("code") == b.get("code")
        and a.get("detail") == b.get("detail")
    )
