"""Each account's time zone, as its provider reports it, is kept by the data source linked to
it: when an account is connected (OAuth or API key) and when a new login adopts it."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.connect import connect_api_key, link_accounts, reachable_accounts
from relink.models import DataSource, Grant
from relink.models.base import utcnow
from relink.sandbox import seed
from relink.worker.context import JobContext
from tests.fixtures.demo import Demo
from tests.fixtures.oauth_dance import reconnect
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"
OTHER = "other@sandbox.test"


def _zone_of(account_id: str) -> str:
    """The time zone the sandbox's world gives an account (seed.py)."""
    return next(a.time_zone for a in seed.World().accounts if a.id == account_id)


# A Northwind sub-account no demo client is linked to, kept in Berlin.
FREE_ACCOUNT = seed.MANAGER_SUB_ACCOUNTS[8]


def test_the_sandbox_lists_each_accounts_time_zone(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    listed = sandbox.api_get("/api/accounts", token).json()["accounts"]

    zones = {a["id"]: a["time_zone"] for a in listed}
    assert zones == {a.id: _zone_of(a.id) for a in (seed.MANAGER, *seed.MANAGER_SUB_ACCOUNTS)}
    assert {"America/Los_Angeles", "Europe/Berlin"} <= set(zones.values())


async def test_linking_an_account_keeps_its_time_zone(
    session: AsyncSession, demo: Demo, ctx: JobContext
) -> None:
    grant = await session.get_one(Grant, demo.shared_grant_id)
    accounts = await reachable_accounts(ctx, grant_id=grant.id)

    [source] = await link_accounts(
        session,
        user=demo.admin,
        grant=grant,
        accounts=accounts,
        assignments={FREE_ACCOUNT.id: demo.clients[11].id},
        now=utcnow(),
    )

    assert FREE_ACCOUNT.time_zone == "Europe/Berlin"
    assert source.account_timezone == FREE_ACCOUNT.time_zone


async def test_connecting_an_api_key_keeps_its_accounts_time_zone(
    session: AsyncSession, demo: Demo, ctx: JobContext
) -> None:
    key_account = seed.API_KEY_ACCOUNTS[0]

    source = await connect_api_key(
        session,
        ctx=ctx,
        user=demo.admin,
        provider="sandbox_api",
        client_id=demo.clients[0].id,
        raw_key=key_account.demo_api_key,
        now=utcnow(),
    )

    assert source.account_timezone == key_account.account.time_zone == "America/Los_Angeles"


async def test_a_source_adopted_by_another_login_keeps_its_accounts_time_zone(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    # given: the shared grant is revoked, and another login (reaching three of its accounts)
    # comes back from the provider
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    choose = reconnect(admin, sandbox, grant_id=demo.shared_grant_id, email=OTHER).headers[
        "location"
    ]
    page = admin.get(choose).text
    first_id = int(page.split('name="data_source" value="')[1].split('"')[0])

    # when: the person moves one data source to it
    moved = admin.post(choose, data={"data_source": str(first_id)})

    # then
    assert moved.status_code == 303
    session.expire_all()
    source = await session.scalar(select(DataSource).where(DataSource.id == first_id))
    assert source is not None and source.grant_id != demo.shared_grant_id
    assert source.account_timezone == _zone_of(source.external_account_id)
