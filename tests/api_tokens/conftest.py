"""API tokens made for the demo's users, and scripts that hold them (no browser, no cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from typer.testing import CliRunner

from relink.api_tokens import service as api_tokens
from relink.config import get_settings
from relink.db import Database, set_default_database
from relink.models import TokenScope, User
from relink.models.base import utcnow
from tests.fixtures.demo import Demo
from tests.fixtures.server import LOOPBACK_TLS

ADMIN = "admin@demo.relink.test"
STAFF = "staff@demo.relink.test"
LIMITED = "limited@demo.relink.test"


async def made_token(
    database: Database,
    user_id: int,
    *,
    name: str = "reporting script",
    scope: TokenScope = TokenScope.WRITE,
    expires_at: datetime | None = None,
) -> tuple[int, str]:
    """A token of ``user_id`` made through the service and committed: its id and value."""
    async with database.transaction() as session:
        user = await session.get_one(User, user_id)
        created = await api_tokens.create_token(
            session,
            user=user,
            name=name,
            scope=scope,
            expires_at=expires_at,
            actor=f"user:{user_id}",
            now=utcnow(),
        )
        return created.token.id, created.value.text


def script(url: str, value: str) -> httpx.Client:
    """A script sending ``value`` as its bearer token, as curl or a cron job would."""
    return httpx.Client(
        base_url=url,
        timeout=10,
        verify=LOOPBACK_TLS,
        headers={"Authorization": f"Bearer {value}"},
    )


@pytest.fixture
async def staff_token(demo: Demo, database: Database) -> str:
    """A read-write token of the demo's all-clients staff user."""
    return (await made_token(database, demo.staff.id))[1]


@pytest.fixture
async def read_only_token(demo: Demo, database: Database) -> str:
    """A read-only token of the demo's all-clients staff user."""
    return (await made_token(database, demo.staff.id, name="dashboard", scope=TokenScope.READ))[1]


@pytest.fixture
def staff_script(app_url: str, staff_token: str) -> Iterator[httpx.Client]:
    with script(app_url, staff_token) as client:
        yield client


@pytest.fixture
def relink_tokens(
    demo: Demo, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """The command line pointed at the test's database."""
    monkeypatch.setenv("RELINK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    set_default_database(None)
    yield CliRunner()
    set_default_database(None)
