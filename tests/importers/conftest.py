"""A platform's importer as Relink sees it: a service token of the demo agency, the data
sources of the demo's shared sandbox grant, and calls to the sandbox's real data API."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens import service_tokens
from relink.api_tokens.permissions import IMPORTER, Permission
from relink.db import Database
from relink.models import DataSource
from relink.models.base import utcnow
from relink.providers.taxonomy import ImportMode
from relink.sandbox import seed

# The command line pointed at the test's database, for the service token commands.
from tests.api_tokens.conftest import relink_tokens, script  # noqa: F401
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer

MANAGER = seed.IDENTITIES[0]


async def service_token(
    database: Database,
    demo: Demo,
    *,
    permissions: Iterable[Permission] = IMPORTER,
    name: str = "platform importer",
) -> tuple[int, str]:
    """A service token of the demo agency, committed: its id and value."""
    async with database.transaction() as session:
        created = await service_tokens.create_service_token(
            session,
            agency_id=demo.agency.id,
            name=name,
            permissions=permissions,
            expires_at=None,
            actor=f"user:{demo.admin.id}",
            now=utcnow(),
        )
        return created.token.id, created.value.text


@pytest.fixture
async def importer_token(database: Database, demo: Demo) -> str:
    return (await service_token(database, demo))[1]


@pytest.fixture
def importer(app_url: str, importer_token: str) -> Iterator[httpx.Client]:
    """The platform's importer: a script holding the agency's service token."""
    with script(app_url, importer_token) as client:
        yield client


async def shared_sources(session: AsyncSession, demo: Demo) -> list[DataSource]:
    rows = await session.scalars(
        select(DataSource)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .order_by(DataSource.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def make_external(database: Database, ids: Iterable[int]) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(DataSource)
            .where(DataSource.id.in_(list(ids)))
            .values(imports=ImportMode.EXTERNAL)
        )


def call_provider(
    sandbox: SandboxServer, credentials: dict[str, Any], start: str, end: str
) -> httpx.Response:
    """The importer's own call of the sandbox's data API, with the credentials handed."""
    with sandbox.client() as client:
        return client.get(
            f"/api/accounts/{credentials['account_id']}/metrics",
            params={"start": start, "end": end, **credentials["query"]},
            headers=credentials["headers"],
        )


def failure_of(answer: httpx.Response, *, generation: int | None) -> dict[str, Any]:
    """The failure report of a provider's answer, as an importer sends it."""
    return {
        "status": answer.status_code,
        "headers": dict(answer.headers),
        "body": answer.text,
        "call": {"method": answer.request.method, "url": str(answer.request.url)},
        "token_generation": generation,
    }
