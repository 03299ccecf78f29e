"""``GET /api/v1/data-sources/{id}/credentials``: fresh credentials on request, over real HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.permissions import Permission
from relink.db import Database
from relink.models import DataSource, Event, Grant, TokenScope
from relink.models.base import utcnow
from relink.status import DataSourceStatus
from tests.api_tokens.conftest import made_token, script
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.importers.conftest import MANAGER, call_provider, service_token, shared_sources


def _token_calls(sandbox: SandboxServer) -> int:
    return sandbox.state.stats.token_requests_by_subject[MANAGER.subject]


async def test_credentials_carry_what_the_provider_call_needs_and_work_there(
    importer: httpx.Client, session: AsyncSession, demo: Demo, sandbox: SandboxServer
) -> None:
    source = (await shared_sources(session, demo))[0]

    answer = importer.get(f"/api/v1/data-sources/{source.id}/credentials")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["account_id"] == source.external_account_id
    assert body["headers"]["Authorization"] == f"Bearer {body['access_token']}"
    assert body["api_base"] == sandbox.url
    assert "refresh_token" not in answer.text
    day = (utcnow() - timedelta(days=2)).date().isoformat()
    assert call_provider(sandbox, body, day, day).status_code == 200


async def test_each_read_is_an_event_naming_who_read_which_data_source_never_the_value(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]

    token = importer.get(f"/api/v1/data-sources/{source.id}/credentials").json()["access_token"]

    async with database.transaction() as reading:
        events = list(
            await reading.scalars(
                select(Event).where(Event.action == "data_source.credentials_read")
            )
        )
    assert [(e.subject_id, e.actor.split(":")[0]) for e in events] == [(source.id, "api_token")]
    assert token not in repr([e.details for e in events])


async def test_a_fresh_token_is_handed_without_a_token_call(
    importer: httpx.Client, session: AsyncSession, demo: Demo, sandbox: SandboxServer
) -> None:
    source = (await shared_sources(session, demo))[0]
    importer.get(f"/api/v1/data-sources/{source.id}/credentials").raise_for_status()
    before = _token_calls(sandbox)

    for _ in range(3):
        importer.get(f"/api/v1/data-sources/{source.id}/credentials").raise_for_status()

    assert _token_calls(sandbox) == before


async def test_importers_asking_at_once_near_the_tokens_end_refresh_it_once(
    importer: httpx.Client,
    session: AsyncSession,
    demo: Demo,
    sandbox: SandboxServer,
    database: Database,
) -> None:
    sources = await shared_sources(session, demo)
    importer.get(f"/api/v1/data-sources/{sources[0].id}/credentials").raise_for_status()
    async with database.transaction() as writing:
        await writing.execute(
            update(Grant)
            .where(Grant.id == demo.shared_grant_id)
            # An hour-long token issued an hour ago, with seconds left.
            .values(
                access_expires_at=utcnow() + timedelta(seconds=5),
                last_refreshed_at=utcnow() - timedelta(hours=1),
            )
        )
    before = _token_calls(sandbox)

    with ThreadPoolExecutor(len(sources)) as pool:
        answers = list(
            pool.map(lambda s: importer.get(f"/api/v1/data-sources/{s.id}/credentials"), sources)
        )

    assert [a.status_code for a in answers] == [200] * len(sources)
    assert _token_calls(sandbox) == before + 1
    assert len({a.json()["access_token"] for a in answers}) == 1
    assert answers[0].json()["expires_at"] > (utcnow() + timedelta(minutes=1)).isoformat()


async def test_a_disconnected_data_source_answers_reconnect_needed_with_its_repair_page(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    async with database.transaction() as writing:
        await writing.execute(
            update(DataSource)
            .where(DataSource.id == source.id)
            .values(status=DataSourceStatus.DISCONNECTED)
        )

    answer = importer.get(f"/api/v1/data-sources/{source.id}/credentials")

    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "reconnect_needed"
    assert f"/grants/{demo.shared_grant_id}/reconnect" in answer.json()["detail"]
    assert "access_token" not in answer.text


async def test_a_service_token_without_the_permission_is_refused_naming_it(
    app_url: str, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    _, value = await service_token(database, demo, permissions=[Permission.IMPORTS_WRITE])

    with script(app_url, value) as narrow:
        answer = narrow.get(f"/api/v1/data-sources/{source.id}/credentials")

    assert answer.status_code == 403
    assert answer.json()["code"] == "token_permission_missing"
    assert "credentials:read" in answer.json()["detail"]


async def test_another_agencys_data_source_answers_as_missing(
    importer: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    answer = importer.get("/api/v1/data-sources/987654/credentials")

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


async def test_a_service_token_is_refused_by_the_endpoints_for_people(
    importer: httpx.Client,
) -> None:
    answer = importer.get("/api/v1/data-sources")

    assert answer.status_code == 403
    assert answer.json()["code"] == "service_token_not_accepted"


async def test_a_client_login_gets_no_credentials(
    app_url: str, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    _, value = await made_token(database, demo.client_user.id, scope=TokenScope.READ)

    with script(app_url, value) as client_login:
        answer = client_login.get(f"/api/v1/data-sources/{source.id}/credentials")

    assert answer.status_code == 403
    assert answer.json()["code"] == "staff_only"
