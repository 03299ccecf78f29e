"""A script holding a token (no browser) reads what broke, end to end: the sandbox revokes a
login, a sweep finds it, and the incident, the failed sync run and the status change are
there for the token's user, scoped as their pages are."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.db import Database
from relink.models import DataSource
from tests.api_tokens.conftest import made_token, script
from tests.api_v1_resources.conftest import items
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

HARBOR = "harbor@sandbox.test"


@pytest.fixture
async def revoked(
    admin: httpx.Client, sandbox: SandboxServer, demo: Demo, session: AsyncSession
) -> int:
    """The second grant's login revoked at the sandbox and found by a sweep; Juniper
    Florist's data source on it (the limited staff user's)."""
    sandbox.add_fault("revoke_grant", grant=HARBOR)
    sweep_now(admin)
    juniper = await session.scalar(
        select(DataSource.id).where(
            DataSource.client_id == demo.client_named("Juniper Florist").id,
            DataSource.grant_id == demo.second_grant_id,
        )
    )
    assert juniper is not None
    return juniper


async def _limited_script(app_url: str, database: Database, demo: Demo) -> httpx.Client:
    return script(app_url, (await made_token(database, demo.limited.id))[1])


async def test_a_script_reads_the_open_incident_naming_only_its_users_clients(
    app_url: str, database: Database, demo: Demo, revoked: int
) -> None:
    client = await _limited_script(app_url, database, demo)

    (incident,) = items(client, "/api/v1/incidents", state="open")

    assert incident["kind"] == "reconnect_needed" and incident["grant_id"] == demo.second_grant_id
    assert incident["detected_via"] and incident["seconds_to_detection"] is not None
    assert [c["name"] for c in incident["clients"]] == ["Juniper Florist"]


async def test_a_script_reads_the_sync_runs_of_a_data_source_the_sweep_imported(
    app_url: str, database: Database, demo: Demo, revoked: int, session: AsyncSession
) -> None:
    # The revoked login failed at its refresh, before any import; Acme's kept importing.
    acme = await session.scalar(
        select(DataSource.id).where(DataSource.client_id == demo.client_named("Acme Dental").id)
    )
    client = await _limited_script(app_url, database, demo)

    runs = items(client, f"/api/v1/data-sources/{acme}/sync-runs")

    assert runs[0]["outcome"] == "ok" and runs[0]["trigger"] == "schedule"
    assert runs[0]["days_imported"] >= 1 and runs[0]["finished_at"]


async def test_a_script_reads_the_data_sources_disconnect_in_the_history(
    app_url: str, database: Database, demo: Demo, revoked: int
) -> None:
    client = await _limited_script(app_url, database, demo)

    events = items(client, "/api/v1/events", data_source_id=revoked, action="status_changed")

    assert events[0]["to_status"] == "disconnected"
    assert events[0]["actor"].startswith("system:")
